"""The frames the app draws for a hit, decoded again from the clip the searcher serves: the T frames its attention
refers to, and the frame its words were read in (the library searches; only the app needs the pixels)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pvse.errors import MediaError
from pvse.media import MediaLimits, decode_clip
from pvse.reading import frame_text_reader_spec
from pvse.reading.types import TextLine

if TYPE_CHECKING:
    from pvse.search.searcher import Searcher


def sampled_frames(searcher: Searcher, row: int) -> list[np.ndarray]:
    """The clip's T sampled frames (H, W, 3) uint8, the ones its frame attention refers to."""
    path = searcher.clip_path(row)
    if not path.is_file():
        raise MediaError(path, "the file is no longer in the gallery; re-run `pvse index` to update the index")
    clip = decode_clip(path, num_frames=searcher.meta.num_frames, limits=MediaLimits(),
                       sampling=searcher.pipeline.config.frame_preprocessing().frame_sampling)
    return list(clip.frames)


def read_text_frame(searcher: Searcher, row: int) -> tuple[np.ndarray, list[TextLine]]:
    """(the frame the clip's first read line was read in, the read lines of that frame), for drawing the boxes;
    a MediaError when the clip has no read text or the frame cannot be decoded again."""
    read = searcher.index.clips[row].read_text
    path = searcher.clip_path(row)
    if read is None or not read.lines or not path.is_file():
        raise MediaError(path, "no text was read in this clip's frames")
    spec = frame_text_reader_spec(read.reader.split("@")[0])
    frame = read.lines[0].frame
    clip = decode_clip(path, num_frames=spec.frames, limits=MediaLimits())
    if frame not in clip.indices:
        raise MediaError(path, f"frame {frame} is no longer in the file; re-run `pvse index` to update the index")
    return clip.frames[clip.indices.index(frame)], [line for line in read.lines if line.frame == frame]
