"""Media: decoding GIF / video / animated-image files into a few evenly spaced RGB frames (`decode`), which frames
to sample (`sampling`), our own GIF compositor (`gif`), FFmpeg's frame-rate rule (`ffmpeg_rate`), and the small
previews kept beside an index (`previews`). The names below are the decoding API every caller uses."""
from __future__ import annotations

from .decode import (
    MEDIA_EXTENSIONS,
    Clip,
    ClipView,
    MediaLimits,
    decode_all_frames,
    decode_clip,
    decode_clip_views,
    shrink_to,
)
from .sampling import FrameSampling, sample_frame_indices

__all__ = ["MEDIA_EXTENSIONS", "Clip", "ClipView", "FrameSampling", "MediaLimits", "decode_all_frames", "decode_clip",
           "decode_clip_views", "sample_frame_indices", "shrink_to"]
