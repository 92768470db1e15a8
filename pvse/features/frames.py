"""Frozen frame feature extractors: RGB frames -> one pooled CNN vector per frame (the paper's ResNet-152 slot).

PVSE (Song & Soleymani, CVPR 2019, Sec. 3.1) encodes each video frame with an ImageNet CNN that is not trained
and feeds the pooled vectors to the video encoder. The extractors here are that frozen CNN: always in eval
mode, no gradients, BatchNorm statistics never updated, so their outputs can be cached on disk.
"""
from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F

from .onnx_runner import OnnxCache, OnnxRunner, try_onnx_runner, weights_digest
from .preprocessing import FramePreprocessing
from .quantize import DEFAULT_PRECISION, QUANT_FORMAT, check_precision
from .registry import FrameExtractorSpec, frame_extractor_spec
from .stored_frames import stored_like_official

log = logging.getLogger(__name__)

BACKENDS = ("auto", "onnxruntime", "torch")


class FrameFeatureExtractor(torch.nn.Module):
    """A frozen ImageNet CNN: (N, H, W, 3) uint8 RGB frames -> (N, dim) pooled float32 features.

    Frames are resized and normalised as `preprocessing` says (default: the spec's own, i.e. squashed to
    image_size x image_size, bicubic, antialiased, aspect ratio not kept, so no part of the frame is cropped
    away). `extract` runs through ONNX Runtime on CPU when that was verified to agree with PyTorch (`backend`
    says which is used). The PyTorch trunk is built on first use (`trunk`): a CPU extractor whose verified ONNX
    graph was cached never builds it.
    """

    def __init__(self, name: str, trunk: torch.nn.Module | None, spec: FrameExtractorSpec,
                 runner: OnnxRunner | None = None, backend_note: str = "torch",
                 preprocessing: FramePreprocessing | None = None,
                 state_dict: dict[str, torch.Tensor] | None = None) -> None:
        super().__init__()
        self.name = name
        self.spec = spec
        self.dim = spec.dim
        self.preprocessing = preprocessing or spec.preprocessing
        self.image_size = self.preprocessing.size
        self._state_dict = state_dict  # what a lazily built trunk loads (None: the spec's default weights)
        self._trunk = None
        if trunk is not None:
            self._adopt(trunk)
        self.register_buffer("mean", torch.tensor(self.preprocessing.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(self.preprocessing.std).view(1, 3, 1, 1), persistent=False)
        self._runner = runner
        self.backend_note = backend_note
        self.precision = DEFAULT_PRECISION  # "int8": the runner is the quantized graph (`build_frame_extractor`)
        self.train(False)

    def _adopt(self, trunk: torch.nn.Module) -> None:
        for parameter in trunk.parameters():
            parameter.requires_grad_(False)
        self._trunk = trunk.eval()

    @property
    def trunk(self) -> torch.nn.Module:
        """The PyTorch CNN (built from the spec on first use, on the extractor's device)."""
        if self._trunk is None:
            self._adopt(self.spec.build_trunk(self._state_dict).to(self.device))
        return self._trunk

    def train(self, mode: bool = True) -> FrameFeatureExtractor:
        """Stays in eval mode whatever is asked (a parent's .train() must not touch BatchNorm statistics)."""
        return super().train(False)

    @property
    def device(self) -> torch.device:
        return self.mean.device

    @property
    def backend(self) -> str:
        """'onnxruntime' or 'torch': what `extract` runs on right now."""
        return "onnxruntime" if self._runner is not None and self.device.type == "cpu" else "torch"

    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        """(N, H, W, 3) uint8 RGB -> (N, 3, S, S) float32 in [0, 1], normalised unless the preprocessing says not
        to, on the extractor's device. Frames are first stored as the official data were when it says so."""
        pre, size = self.preprocessing, self.image_size
        array = stored_like_official(_checked_frames(frames), pre.prescale, pre.jpeg_quality)
        pixels = torch.from_numpy(np.require(array, requirements=["C", "W"])).to(self.device)
        pixels = pixels.permute(0, 3, 1, 2).float()
        target = (size, size) if pre.resize is None else _shorter_side_to(pixels.shape[-2:], pre.resize)
        if pixels.shape[-2:] != target and pixels.shape[0] > 0:
            pixels = F.interpolate(pixels, size=target, mode=pre.interpolation, align_corners=False,
                                   antialias=True).clamp_(0.0, 255.0)
        if pre.resize is not None:  # the centre size x size, as torchvision's CenterCrop picks it
            top, left = int(round((target[0] - size) / 2.0)), int(round((target[1] - size) / 2.0))
            pixels = pixels[..., top:top + size, left:left + size]
        pixels = pixels / 255.0
        return (pixels - self.mean) / self.std if pre.normalize else pixels

    def one_thread(self) -> OnnxRunner | None:
        """A one-thread session of this extractor's ONNX graph (None on PyTorch), for `extract(..., runner=)` from
        several threads at once: ONNX Runtime runs a session's calls side by side, each on its caller's thread."""
        if self.backend != "onnxruntime":
            return None
        return self._runner if getattr(self._runner, "threads", 0) == 1 else OnnxRunner(self._runner.model, 1)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) normalised pixels -> (N, dim) pooled features (eager PyTorch)."""
        return self.trunk(pixels)

    @torch.inference_mode()
    def extract(self, frames: np.ndarray, batch_size: int = 64, runner: OnnxRunner | None = None) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB frames -> (N, dim) float32, `batch_size` frames at a time. runner: a session of
        the same graph to run instead of the extractor's own (one thread, for calls side by side: `one_thread`)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        array = _checked_frames(frames)
        out = np.empty((len(array), self.dim), dtype=np.float32)
        run = (runner or self._runner) if self.backend == "onnxruntime" else None
        if run is None and self.precision != DEFAULT_PRECISION:
            raise RuntimeError(f"the {self.precision} frame CNN runs on ONNX Runtime on CPU only (device {self.device})")
        for start in range(0, len(array), batch_size):
            pixels = self.preprocess(array[start:start + batch_size])
            out[start:start + len(pixels)] = run(pixels) if run is not None else self(pixels).float().cpu().numpy()
        return out


def _shorter_side_to(shape: torch.Size, side: int) -> tuple[int, int]:
    """(H, W) with the shorter side `side` and the aspect ratio kept, as torchvision's Resize(side) rounds."""
    h, w = int(shape[0]), int(shape[1])
    return (side, max(side, int(side * w / h))) if h <= w else (max(side, int(side * h / w)), side)


def _checked_frames(frames: np.ndarray) -> np.ndarray:
    array = np.asarray(frames)
    if array.ndim != 4 or array.shape[-1] != 3 or array.dtype != np.uint8:
        raise ValueError(f"frames must be an (N, H, W, 3) uint8 RGB array, got {array.dtype} {array.shape}")
    if array.shape[1] == 0 or array.shape[2] == 0:
        raise ValueError(f"frames have no pixels: shape {array.shape}")
    return array


def build_frame_extractor(name: str, *, state_dict: dict[str, torch.Tensor] | None = None,
                          device: str | torch.device = "cpu", backend: str = "auto",
                          preprocessing: FramePreprocessing | None = None,
                          precision: str = DEFAULT_PRECISION) -> FrameFeatureExtractor:
    """Build a frozen frame extractor by name (see `registry.frame_extractors`).

    state_dict: the trunk's own weights (timm / torchvision names, no classifier), for checkpoints that carry
    them; required for "resnet152", optional for "efficientnet-lite0" (ImageNet weights from its package).
    backend: "auto" uses ONNX Runtime on CPU when it is installed and agrees with PyTorch, else PyTorch;
    "onnxruntime" insists on it; "torch" never tries it. preprocessing: the model's frame preprocessing
    (`PVSEConfig.frame_preprocessing()`); None: the spec's own. precision: "fp32", or "int8" for the
    statically quantized graph (`quantize`; ONNX Runtime on CPU only, built once and cached).
    """
    spec = frame_extractor_spec(name)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    device = torch.device(device)
    if check_precision(precision) != DEFAULT_PRECISION:
        if backend == "torch" or device.type != "cpu":
            raise ValueError(f"the {precision} frame CNN runs on ONNX Runtime on CPU only "
                             f"(asked for backend {backend!r} on {device})")
        return _quantized_extractor(name, spec, state_dict, preprocessing, precision)
    if backend == "torch" or device.type != "cpu":
        trunk = spec.build_trunk(state_dict)
        note = "torch (asked for)" if backend == "torch" else f"torch (device {device})"
        return FrameFeatureExtractor(name, trunk, spec, None, note, preprocessing, state_dict).to(device)
    runner, trunk, note = _onnx_runner(spec, state_dict, (preprocessing or spec.preprocessing).size)
    if runner is None:
        if backend == "onnxruntime":
            raise RuntimeError(f"{name}: {note}")
        log.warning("%s frame features run on PyTorch: %s", name, note)
    return FrameFeatureExtractor(name, trunk, spec, runner, note, preprocessing, state_dict).to(device)


def _onnx_runner(spec: FrameExtractorSpec, state_dict: dict[str, torch.Tensor] | None, image_size: int
                 ) -> tuple[OnnxRunner | None, torch.nn.Module | None, str]:
    """(runner or None, the trunk if it had to be built, note): the cached verified graph when there is one,
    else a fresh export checked against the trunk (and cached when its weights can be named)."""
    digest = weights_digest(state_dict, spec.weights_file() if spec.weights_file and state_dict is None else None)
    cache = OnnxCache() if digest else None
    path = cache.path(spec.name, image_size, digest) if cache else None
    runner = cache.load(path) if cache else None
    if runner is not None:
        return runner, None, f"onnxruntime (cached {path.name}, checked against PyTorch when exported)"
    trunk = spec.build_trunk(state_dict)
    runner, note = try_onnx_runner(trunk, image_size)
    if runner is not None and cache:
        cache.store(path, runner.model)
    return runner, trunk, note


def _quantized_extractor(name: str, spec: FrameExtractorSpec, state_dict: dict[str, torch.Tensor] | None,
                         preprocessing: FramePreprocessing | None, precision: str) -> FrameFeatureExtractor:
    """The extractor with its fp32 ONNX graph swapped for the int8 one: from the cache, else quantized now
    (calibrated on the bundled emoji frames, a minute or so) and cached."""
    from .quantize import calibration_digest, calibration_files, calibration_pixels, quantize_int8

    size = (preprocessing or spec.preprocessing).size
    runner, trunk, note = _onnx_runner(spec, state_dict, size)
    if runner is None:
        raise RuntimeError(f"{name}: the {precision} frame CNN needs ONNX Runtime: {note}")
    extractor = FrameFeatureExtractor(name, trunk, spec, runner, note, preprocessing, state_dict)
    files = calibration_files()
    digest = weights_digest(state_dict, spec.weights_file() if spec.weights_file and state_dict is None else None)
    cache = OnnxCache() if digest else None
    key = f"{digest}|{precision}|quant{QUANT_FORMAT}|{calibration_digest(files)}"
    path = cache.path(f"{spec.name}-{precision}", size, key) if cache else None
    quantized = cache.load(path) if cache else None
    if quantized is None:
        log.info("quantizing the %s frame CNN to %s (calibrated on %d bundled GIFs; cached afterwards)",
                 name, precision, len(files))
        pixels = calibration_pixels(files, extractor.preprocess, frame_size=extractor.preprocessing.decode_size)
        quantized = OnnxRunner(quantize_int8(runner.model, pixels, size), torch.get_num_threads())
        if cache:
            cache.store(path, quantized.model)
    extractor._runner = quantized
    extractor.precision = precision
    extractor.backend_note = f"onnxruntime {precision} ({path.name if path else 'not cached'})"
    return extractor
