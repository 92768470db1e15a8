"""The frame CNN's precisions (one owner: configs, the CNN, the feature cache and index metadata ask here)."""
from __future__ import annotations

FRAME_PRECISIONS = ("fp32", "int8")
"""Frame CNN precisions: fp32, or int8 (ONNX Runtime static quantization, `pvse.features.quantize`). Features
of the two never mix: feature-cache keys and index metadata name the precision."""
DEFAULT_FRAME_PRECISION = "fp32"


def check_precision(precision: str) -> str:
    """`precision` if it is one of FRAME_PRECISIONS, else a ValueError naming them."""
    if precision not in FRAME_PRECISIONS:
        raise ValueError(f"frame CNN precision must be one of {', '.join(FRAME_PRECISIONS)}, got {precision!r}")
    return precision
