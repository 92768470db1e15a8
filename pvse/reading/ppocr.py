"""PP-OCRv4 text detection and recognition (PaddleOCR's models as ONNX, shipped in `rapidocr-onnxruntime`).

Built for cost: detection runs on a copy of each frame no larger than DETECT_SIDE (a first look at 320 px on
every frame, with the full look only where it found text, lost 8 of 82 captioned GIFs of real-gif-dev and saved
little); recognition runs only on the boxes found (words on one line joined), cut from the frame at its own
size, and a box that shows the same pixels as a box already read
in an earlier frame (a caption held for several frames) takes that reading instead of running the recogniser
again. The angle classifier is not used: captions in reaction GIFs are upright. One ONNX Runtime thread each,
since indexing already keeps the cores busy with the frame CNN. Nothing is downloaded: the ONNX files are inside
the wheel (Apache-2.0).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import WeightsError
from .specs import FrameTextReaderSpec, register_frame_text_reader
from .types import TextLine

DETECT_SIDE = 480  # longest side of the copy text is detected on: at 320, 20-px captions of 480-px GIFs went unseen
SAME_CROP_DIFF = 10.0  # mean absolute grey difference (0-255) under which two crops show the same text
LINE_GAP = 1.5  # word gap, in line heights, under which two boxes are one line
MAX_BOXES = 32  # per frame: a comic page has ~30 balloons; more is texture read as text


class PPOCRReader:
    """`FrameTextReader` over rapidocr-onnxruntime's detector and recogniser."""

    def __init__(self, threads: int = 1) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
            from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess
        except ImportError as exc:
            raise WeightsError("reading text in frames needs rapidocr-onnxruntime: "
                               "pip install 'rapidocr-onnxruntime==1.4.4' (or index with --no-read-text)") from exc
        self._engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=threads, print_verbose=False)
        self._engine.text_cls = None  # the angle classifier is never used: its session need not stay
        for part in (self._engine.text_det.infer, self._engine.text_rec.session):
            part.session = _session(part.session, threads)
        detector = self._engine.text_det
        detector.get_preprocess = lambda _longest: DetPreProcess(DETECT_SIDE, "max", detector.mean, detector.std)

    def read_frames(self, frames: Sequence[np.ndarray], indices: Sequence[int]) -> list[TextLine]:
        """Raw lines of every frame (RGB uint8), with boxes in that frame's pixels; a frame equal to the previous
        one is not read again."""
        lines: list[TextLine] = []
        seen: list[tuple[np.ndarray, str, float]] = []  # (thumbnail of a crop, its text, score)
        previous = None
        for frame, index in zip(frames, indices):
            if previous is not None and frame.shape == previous.shape and np.array_equal(frame, previous):
                continue
            previous = frame
            lines += self._read_frame(np.ascontiguousarray(frame[:, :, ::-1]), int(index), seen)
        return lines

    def _read_frame(self, bgr: np.ndarray, index: int, seen: list) -> list[TextLine]:
        quads, _ = self._engine.text_det(bgr)
        if quads is None or len(quads) == 0:
            return []
        rects = merge_into_lines([_rect(q) for q in quads])
        rects = sorted(rects, key=lambda r: r[1] - r[3])[:MAX_BOXES]  # tallest first
        crops = [bgr[y0:y1, x0:x1] for x0, y0, x1, y1 in rects]
        thumbs = [_thumbnail(c) for c in crops]
        results: list[tuple[str, float] | None] = [_match(t, seen) for t in thumbs]
        todo = [i for i, r in enumerate(results) if r is None]
        if todo:
            read, _ = self._engine.text_rec([crops[i] for i in todo])
            for i, (text, score) in zip(todo, read):
                results[i] = (text, float(score))
                seen.append((thumbs[i], text, float(score)))
        return [TextLine(text, index, rect, score) for rect, (text, score) in zip(rects, results)]


def _session(session, threads: int):
    """`session`'s model in a session with ONNX Runtime's memory arena on (rapidocr turns it off): the arena keeps
    and reuses the largest run's buffers, where without it every run's buffers go through malloc, and reading two
    clips side by side left ~100 MB more resident (470 vs 370 MB peak reading 40 film GIFs, same speed)."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = max(1, threads)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = True
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # CPUs are shared
    options.log_severity_level = 3
    return ort.InferenceSession(session._model_path, options, providers=["CPUExecutionProvider"])


def _rect(quad: np.ndarray) -> tuple[int, int, int, int]:
    x0, y0 = np.floor(np.asarray(quad).min(axis=0)).astype(int)
    x1, y1 = np.ceil(np.asarray(quad).max(axis=0)).astype(int)
    return int(x0), int(y0), int(x1) + 1, int(y1) + 1


def merge_into_lines(rects: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Boxes of words on one line joined into the line's box (the detector, run on a small copy, splits a caption
    at wide word gaps; read apart, "concentration" comes back as "on" + "centratio"). Two boxes are on one line
    when they overlap vertically by half the smaller height and the gap between them is at most LINE_GAP heights."""
    merged: list[list[int]] = []
    for x0, y0, x1, y1 in sorted(rects, key=lambda r: (r[0], r[1])):
        for m in merged:
            overlap = min(y1, m[3]) - max(y0, m[1])
            height = min(y1 - y0, m[3] - m[1])
            gap = x0 - m[2]
            if height > 0 and overlap >= 0.5 * height and gap <= LINE_GAP * max(y1 - y0, m[3] - m[1]):
                m[:] = [min(m[0], x0), min(m[1], y0), max(m[2], x1), max(m[3], y1)]
                break
        else:
            merged.append([x0, y0, x1, y1])
    return [(a, b, c, d) for a, b, c, d in merged]


def _thumbnail(crop: np.ndarray) -> np.ndarray:
    """A crop as a small grey picture (16 x 64) to tell whether two crops show the same text."""
    import cv2
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    return cv2.resize(grey, (64, 16), interpolation=cv2.INTER_AREA).astype(np.float32)


def _match(thumb: np.ndarray, seen: list) -> tuple[str, float] | None:
    for old, text, score in seen:
        if float(np.abs(old - thumb).mean()) < SAME_CROP_DIFF:
            return text, score
    return None


SPEC = register_frame_text_reader(FrameTextReaderSpec(
    name="ppocr-v4", version="3", build=PPOCRReader, frames=4,
    about="PP-OCRv4 detection + recognition (rapidocr-onnxruntime 1.4, ONNX in the wheel), detection at 320 px"))
