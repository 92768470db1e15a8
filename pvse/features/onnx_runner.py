"""ONNX Runtime path for a frozen CNN trunk on CPU: the same features as eager PyTorch, 2-3x faster.

The trunk is exported in memory when the extractor is built (a few seconds), run once against eager PyTorch
on a probe batch, and used only if the two agree; otherwise the caller keeps PyTorch and is told why.
"""
from __future__ import annotations

import io
import logging
import warnings

import numpy as np
import torch

log = logging.getLogger(__name__)

AGREEMENT_ATOL = 1e-3  # features are O(1); float32 reorderings give ~1e-5


class OnnxRunner:
    """(N, 3, S, S) float32 pixels -> (N, D) float32 features through an ONNX Runtime CPU session."""

    def __init__(self, trunk: torch.nn.Module, image_size: int, threads: int) -> None:
        import onnxruntime as ort

        buffer = io.BytesIO()
        probe = torch.zeros(2, 3, image_size, image_size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # exporter chatter (TracerWarnings, deprecations)
            torch.onnx.export(trunk, (probe,), buffer, input_names=["pixels"], output_names=["features"],
                              dynamic_axes={"pixels": {0: "n"}, "features": {0: "n"}},
                              opset_version=17, dynamo=False)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # CPUs are shared
        options.log_severity_level = 3
        self.session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

    def __call__(self, pixels: torch.Tensor) -> np.ndarray:
        array = np.ascontiguousarray(pixels.detach().cpu().numpy(), dtype=np.float32)
        return self.session.run(None, {"pixels": array})[0]


def try_onnx_runner(trunk: torch.nn.Module, image_size: int) -> tuple[OnnxRunner | None, str]:
    """An OnnxRunner that agrees with `trunk` on a probe batch, or (None, why not)."""
    try:
        runner = OnnxRunner(trunk, image_size, torch.get_num_threads())
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
