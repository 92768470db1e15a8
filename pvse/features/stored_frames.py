"""How the official PVSE data stored its frames before the data loader saw them (GulpIO ingestion).

Each frame's shorter side was resized to 256 with OpenCV's `cv2.resize` at its default, bilinear without
antialiasing (the longer side int(256 * long / short)), and kept as a JPEG (`cv2.imencode`, OpenCV's default
quality 95). A converted official checkpoint repeats both steps (`FramePreprocessing.prescale` / `jpeg_quality`)
with OpenCV itself, so the frames match what the official loader decoded.
"""
from __future__ import annotations

import numpy as np

from ..errors import WeightsError

OPENCV_HINT = "pip install 'pvse-gif[official]'"


def _cv2():
    try:
        import cv2
    except ImportError as exc:
        raise WeightsError(f"this model's frames are prepared as the official PVSE data were, with OpenCV, which is "
                           f"not installed: {OPENCV_HINT}") from exc
    return cv2


def opencv_shorter_side_size(height: int, width: int, side: int) -> tuple[int, int]:
    """(height, width) with the shorter side `side` and the longer int(side * long / short) (a square: side x side)."""
    if height < width:
        return side, int(side * (width / float(height)))
    return int(side * (height / float(width))), side


def opencv_shorter_side(frame: np.ndarray, side: int) -> np.ndarray:
    """(H, W, 3) uint8 -> shorter side `side` with cv2.resize's default INTER_LINEAR (bilinear, no antialiasing)."""
    height, width = opencv_shorter_side_size(frame.shape[0], frame.shape[1], side)
    if (height, width) == frame.shape[:2]:
        return frame
    return _cv2().resize(np.ascontiguousarray(frame), (width, height))


def jpeg_round_trip(frame: np.ndarray, quality: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> encoded as OpenCV writes a JPEG at `quality` -> decoded as OpenCV reads it."""
    cv2 = _cv2()
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(frame[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"OpenCV could not JPEG-encode a {frame.shape} frame")
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1]


def stored_like_official(frames: np.ndarray, prescale: int | None, jpeg_quality: int | None) -> np.ndarray:
    """(N, H, W, 3) uint8 -> each frame prescaled and / or JPEG round-tripped (None: that step is skipped)."""
    if prescale is None and jpeg_quality is None:
        return frames
    out = []
    for frame in frames:
        if prescale is not None:
            frame = opencv_shorter_side(frame, prescale)
        if jpeg_quality is not None:
            frame = jpeg_round_trip(frame, jpeg_quality)
        out.append(frame)
    return np.stack(out) if out else frames
