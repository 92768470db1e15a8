"""Read the text a clip shows: decode a few frames, run a frame-text reader, clean what it recognised."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import MediaError
from ..media import Clip, ClipView, MediaLimits, decode_clip
from .clean import clean_lines
from .specs import FrameTextReader, FrameTextReaderSpec
from .types import ReadText

READ_SIDE = 960  # frames are read at most this large (aspect kept): captions stay legible, 4K clips stay cheap


def _fit(frame: np.ndarray, side: int = READ_SIDE) -> np.ndarray:
    """`frame` shrunk (area-averaged, aspect kept) so that its longest side is at most `side`."""
    h, w = frame.shape[:2]
    if max(h, w) <= side:
        return frame
    import cv2
    scale = side / max(h, w)
    return cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def read_clip_text(path: str | Path, spec: FrameTextReaderSpec, reader: FrameTextReader,
                   limits: MediaLimits = MediaLimits()) -> ReadText:
    """The cleaned text of `spec.frames` evenly spaced frames of the clip at `path` (MediaError if undecodable).

    Boxes are given in the pixels of the source frame (before any shrinking), so they can be drawn on it."""
    return read_decoded_text(decode_clip(path, num_frames=spec.frames, limits=limits), spec, reader)


def read_view(spec: FrameTextReaderSpec) -> ClipView:
    """The frames `read_clip_text` reads, as a view to decode together with others (`decode_clip_views`)."""
    return ClipView(spec.frames)


def read_decoded_text(clip: Clip, spec: FrameTextReaderSpec, reader: FrameTextReader) -> ReadText:
    """`read_clip_text` on frames already decoded (full size, as `read_view` asks for)."""
    frames, indices, scales = [], [], {}
    for frame, index in zip(clip.frames, clip.indices):
        small = _fit(frame)
        frames.append(small)
        indices.append(int(index))
        scales[int(index)] = frame.shape[1] / small.shape[1]
    raw = reader.read_frames(frames, indices)
    raw = [replace(line, box=tuple(round(v * scales[line.frame]) for v in line.box)) for line in raw]
    sizes = {int(index): (frame.shape[1], frame.shape[0]) for frame, index in zip(clip.frames, clip.indices)}
    return ReadText(spec.ref, clean_lines(raw, sizes))


def iter_read_text(paths: Iterable[str | Path], spec: FrameTextReaderSpec, reader: FrameTextReader,
                   limits: MediaLimits = MediaLimits()) -> Iterator[tuple[Path, ReadText | MediaError]]:
    """(path, its ReadText, or the MediaError that says why it could not be read) for every path, in order."""
    for path in paths:
        path = Path(path)
        try:
            yield path, read_clip_text(path, spec, reader, limits)
        except MediaError as exc:
            yield path, exc
        except Exception as exc:  # noqa: BLE001 - one file never ends a batch
            yield path, MediaError(path, f"its text could not be read ({type(exc).__name__}: {exc})")
