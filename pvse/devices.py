"""Where the model runs: the choices every command's --device offers (resolved by `checkpoints.resolve_device`)."""

DEVICES = ("auto", "cpu", "cuda")  # auto: CUDA when present, else the CPU
DEFAULT_DEVICE = DEVICES[0]
