"""ONNX Runtime path for a frozen CNN trunk on CPU: the same features as eager PyTorch, 2-3x faster.

The trunk is exported (a few seconds), run once against eager PyTorch on a probe batch, and used only if the two
agree; otherwise the caller keeps PyTorch and is told why. An export that agreed is kept on disk (`OnnxCache`),
keyed by the extractor, its input size and a hash of its weights, so later processes load the graph straight into
ONNX Runtime without building the PyTorch trunk (timm alone holds about 200 MB) or exporting again.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from ..atomic_file import atomic_file

log = logging.getLogger(__name__)

AGREEMENT_ATOL = 1e-3  # features are O(1); float32 reorderings give ~1e-5
OPSET = 17
EXPORT_FORMAT = 1  # part of the cache key: raise it when the export changes, and old files are no longer used


class OnnxRunner:
    """(N, 3, S, S) float32 pixels -> (N, D) float32 features through an ONNX Runtime CPU session.

    The session's memory arena is off: with it, ONNX Runtime keeps the largest batch's buffers for good (about
    100 MB more peak memory for 8 frames of 224 x 224) for no measurable speed (benchmarks/decode_benchmark.py).
    """

    def __init__(self, model: bytes, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        self.threads = max(1, threads)
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.enable_cpu_mem_arena = False
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # CPUs are shared
        options.log_severity_level = 3
        self.model = model
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def __call__(self, pixels: torch.Tensor) -> np.ndarray:
        array = np.ascontiguousarray(pixels.detach().cpu().numpy(), dtype=np.float32)
        return self.session.run(None, {"pixels": array})[0]


def export_onnx(trunk: torch.nn.Module, image_size: int) -> bytes:
    """The trunk as an ONNX graph (input "pixels" (n, 3, S, S), output "features" (n, D))."""
    buffer = io.BytesIO()
    probe = torch.zeros(2, 3, image_size, image_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exporter chatter (TracerWarnings, deprecations)
        torch.onnx.export(trunk, (probe,), buffer, input_names=["pixels"], output_names=["features"],
                          dynamic_axes={"pixels": {0: "n"}, "features": {0: "n"}},
                          opset_version=OPSET, dynamo=False)
    return buffer.getvalue()


def try_onnx_runner(trunk: torch.nn.Module, image_size: int) -> tuple[OnnxRunner | None, str]:
    """An OnnxRunner of a fresh export that agrees with `trunk` on a probe batch, or (None, why not)."""
    try:
        runner = OnnxRunner(export_onnx(trunk, image_size), torch.get_num_threads())
        generator = torch.Generator().manual_seed(0)
        probe = torch.randn(2, 3, image_size, image_size, generator=generator)
        with torch.inference_mode():
            expected = trunk(probe).float().numpy()
        diff = float(np.abs(runner(probe) - expected).max())
    except Exception as exc:  # noqa: BLE001 - missing onnx/onnxruntime, exporter gaps: all mean "use PyTorch"
        return None, f"ONNX Runtime unavailable ({type(exc).__name__}: {exc})"
    if not np.isfinite(diff) or diff > AGREEMENT_ATOL:
        return None, f"ONNX Runtime disagrees with PyTorch (max abs diff {diff:.2e})"
    return runner, f"onnxruntime (max abs diff vs PyTorch {diff:.1e})"


def weights_digest(state_dict: dict[str, torch.Tensor] | None, weights_file: str | Path | None) -> str | None:
    """sha256 of a trunk's weights: of the state dict's names, dtypes, shapes and bytes when given, else of the
    file its default weights come from; None when neither is known (such an export is not cached)."""
    if state_dict is not None:
        digest = hashlib.sha256()
        for name in sorted(state_dict):
            tensor = state_dict[name].detach().to("cpu").contiguous()
            digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
        return digest.hexdigest()
    if weights_file is None:
        return None
    from ..integrity import file_sha256
    return file_sha256(weights_file)


class OnnxCache:
    """Verified ONNX exports on disk: `<dir>/<extractor>-<key>.onnx`, written atomically.

    dir: $PVSE_ONNX_CACHE, else `onnx/` in the frozen-feature cache (`pvse.defaults.default_feature_cache()`).
    A file that ONNX Runtime cannot load is exported again; a folder that cannot be written only costs the
    export in every process, as before there was a cache.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        if directory is None:
            from ..defaults import default_feature_cache
            directory = os.environ.get("PVSE_ONNX_CACHE") or default_feature_cache() / "onnx"
        self.directory = Path(directory).expanduser()

    def path(self, name: str, image_size: int, digest: str) -> Path:
        key = hashlib.sha256(f"{name}|{image_size}|opset{OPSET}|format{EXPORT_FORMAT}|{digest}".encode()).hexdigest()
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
        return self.directory / f"{safe}-{key[:24]}.onnx"

    def load(self, path: Path) -> OnnxRunner | None:
        """A runner of the cached file, or None when there is none or it does not load."""
        if not path.is_file():
            return None
        try:
            return OnnxRunner(path.read_bytes(), torch.get_num_threads())
        except Exception as exc:  # noqa: BLE001 - a damaged cache file is exported again
            log.warning("ignoring the cached ONNX graph %s (%s: %s); exporting again", path, type(exc).__name__, exc)
            return None

    def store(self, path: Path, model: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_file(path) as fh:
                fh.write(model)
        except OSError as exc:
            log.info("cannot cache the ONNX graph at %s (%s); it is exported in each process", path, exc)
