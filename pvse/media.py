"""Decode GIF / video / animated-image files into a few evenly spaced RGB frames.

PVSE (Song & Soleymani, CVPR 2019) represents a video by T frames sampled evenly over the clip
(T = 8 at inference); this module turns a file into exactly that: a ``(T, H, W, 3)`` uint8 array at
the file's own resolution, with transparency composited on white.

Memory safety: the file size is checked before the file is opened and the frame size before any
pixel is decoded; a cheap pass that decodes no pixels counts the frames (stopping at the cap); the
T indices are chosen from that count, and the decode pass runs through the whole stream (so a
truncated end is caught) but converts and keeps only those T frames.

Backends, chosen by the file's signature (not its name):
- Pillow for GIF, PNG/APNG and WebP. Its GIF output (disposal, transparency, partial frames)
  equals FFmpeg's pixel for pixel, but it reports a truncated last frame, which FFmpeg's GIF
  decoder silently half-draws; FFmpeg cannot decode animated WebP at all.
- PyAV (FFmpeg) for video containers: MP4, MOV, WebM, ... It also counts GIF frames, because its
  demuxer can stop at the cap where Pillow's ``n_frames`` always scans the whole file.
Every failure becomes ``pvse.errors.MediaError(path, reason)``.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
import numpy as np
from PIL import Image

from pvse.errors import MediaError

MEDIA_EXTENSIONS: tuple[str, ...] = (".gif", ".mp4", ".webp", ".webm", ".mov", ".m4v", ".apng", ".png")
"""File name endings the gallery indexer treats as clips (lower case)."""

_BACKGROUND = 255  # white: transparent pixels are composited onto (255, 255, 255)

# Leading bytes of the formats Pillow decodes; anything else goes to FFmpeg.
_GIF_SIGNATURES = (b"GIF87a", b"GIF89a")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Errors Pillow raises for unreadable, truncated or corrupt images.
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


@dataclass(frozen=True)
class MediaLimits:
    """Caps on decode work, checked before the expensive part; exceeding one raises MediaError."""

    max_file_bytes: int = 50 * 2**20
    max_pixels: int = 4096 * 4096  # width * height of one frame
    max_frames: int = 10_000  # frames counted before giving up


@dataclass(frozen=True)
class Clip:
    """T frames sampled from one file."""

    frames: np.ndarray  # (T, H, W, 3) uint8 RGB, composited on white
    indices: tuple[int, ...]  # which source frame each of the T frames is (for display)
    num_source_frames: int
    path: str


def sample_frame_indices(num_source_frames: int, num_frames: int) -> list[int]:
    """T evenly spaced indices (centre of T equal segments); short clips repeat the last frame.

    For ``n >= T``, index ``i`` is ``floor((i + 1/2) * n / T)``: distinct, increasing, and equal to
    ``range(n)`` when ``n == T``. For ``n < T`` every frame is used once, then the last is repeated.
    Pure integer arithmetic, so the result is exact and deterministic.
    """
    if num_source_frames < 1:
        raise ValueError(f"num_source_frames must be >= 1, got {num_source_frames}")
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    n, t = num_source_frames, num_frames
    if n < t:
        return list(range(n)) + [n - 1] * (t - n)
    return [(2 * i + 1) * n // (2 * t) for i in range(t)]


def decode_clip(path: str | Path, num_frames: int = 8, limits: MediaLimits = MediaLimits()) -> Clip:
    """Decode ``num_frames`` evenly spaced frames of a GIF / video / animated image (see module doc)."""
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    frames, indices, count = _read(path, limits, lambda n: sample_frame_indices(n, num_frames))
    return Clip(frames=np.stack(frames), indices=tuple(indices), num_source_frames=count, path=str(path))


def decode_all_frames(
    path: str | Path, limits: MediaLimits = MediaLimits(), max_frames: int | None = None
) -> list[np.ndarray]:
    """Every frame of the clip, in order, as (H, W, 3) uint8 RGB composited on white.

    With ``max_frames``, a longer clip gives that many frames spread evenly over it (so a frame
    strip of a long clip still spans all of it). Without it, all frames are held in memory at once,
    up to ``limits.max_frames`` of them: callers showing arbitrary user files should pass a cap.
    """
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1 or None, got {max_frames}")

    def choose(n: int) -> list[int]:
        if max_frames is None or n <= max_frames:
            return list(range(n))
        return sample_frame_indices(n, max_frames)

    frames, _, _ = _read(path, limits, choose)
    return frames


# --------------------------------------------------------------------------------------------
# driver and checks shared by both backends


def _read(
    path: str | Path, limits: MediaLimits, choose: Callable[[int], list[int]]
) -> tuple[list[np.ndarray], list[int], int]:
    """Check, count, choose indices, decode keeping only those: (frames in index order, indices, n)."""
    path = str(path)
    _check_file(path, limits)
    kind = _sniff(path)
    if kind == "video":
        count = _av_count_frames(path, limits)
        indices = choose(count)
        kept, decoded = _av_decode(path, limits, frozenset(indices))
        if decoded != count:  # an inter-frame codec may emit fewer frames than it has packets
            count, indices = decoded, choose(decoded)
            kept, decoded = _av_decode(path, limits, frozenset(indices))
            if decoded != count:
                raise MediaError(path, "the file decodes differently on each pass (was it modified?)")
    else:
        count = _av_count_frames(path, limits) if kind == "gif" else _pillow_count_frames(path, kind, limits)
        indices = choose(count)
        kept = _pillow_decode(path, kind, limits, frozenset(indices), count)
    frames = [kept[i] for i in indices]
    if len({f.shape for f in frames}) > 1:
        raise MediaError(path, "frames have different sizes; re-encode the clip at one size")
    return frames, indices, count


def _check_file(path: str, limits: MediaLimits) -> None:
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise MediaError(path, "file does not exist") from None
    except OSError as e:
        raise MediaError(path, f"cannot read the file ({e.strerror})") from None
    if not os.path.isfile(path):
        raise MediaError(path, "not a regular file")
    if size == 0:
        raise MediaError(path, "file is empty (0 bytes)")
    if size > limits.max_file_bytes:
        raise MediaError(
            path,
            f"file is {size / 2**20:.1f} MiB, over the limit of "
            f"{limits.max_file_bytes / 2**20:.1f} MiB (MediaLimits.max_file_bytes)",
        )


def _sniff(path: str) -> str:
    """'gif', 'png' or 'webp' from the leading bytes, else 'video' (left to FFmpeg to recognise)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError as e:
        raise MediaError(path, f"cannot read the file ({e.strerror})") from None
    if head[:6] in _GIF_SIGNATURES:
        return "gif"
    if head[:8] == _PNG_SIGNATURE:
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return "video"


def _check_pixels(path: str, width: int, height: int, limits: MediaLimits) -> None:
    if width * height > limits.max_pixels:
        raise MediaError(
            path,
            f"frame size {width}x{height} = {width * height:,} pixels is over the limit of "
            f"{limits.max_pixels:,} pixels (MediaLimits.max_pixels)",
        )


def _check_frame_count(path: str, count: int, limits: MediaLimits) -> None:
    if count > limits.max_frames:
        raise MediaError(path, f"more than {limits.max_frames:,} frames, over the limit (MediaLimits.max_frames)")


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Alpha-blend an (H, W, 4) uint8 RGBA image over white, rounding to nearest."""
    alpha = rgba[..., 3:4]
    if alpha.min() == 255:
        return np.ascontiguousarray(rgba[..., :3])
    a = alpha.astype(np.uint32)
    rgb = rgba[..., :3].astype(np.uint32)
    return ((rgb * a + _BACKGROUND * (255 - a) + 127) // 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# PyAV (FFmpeg) backend: video containers, and counting GIF frames


def _av_count_frames(path: str, limits: MediaLimits) -> int:
    """Count the video stream's packets (one per frame) without decoding pixels; stop at the cap."""
    try:
        with av.open(path, mode="r") as container:
            stream = _video_stream(path, container)
            _check_pixels(path, stream.codec_context.width, stream.codec_context.height, limits)
            count = 0
            for packet in container.demux(stream):
                if packet.size:  # the last, empty packet only flushes the decoder
                    count += 1
                    _check_frame_count(path, count, limits)
    except av.error.FFmpegError as e:
        raise MediaError(path, _ffmpeg_reason(e)) from None
    if count == 0:
        raise MediaError(path, "contains no frames")
    return count


def _av_decode(path: str, limits: MediaLimits, wanted: frozenset[int]) -> tuple[dict[int, np.ndarray], int]:
    """Decode the whole video stream, converting only the ``wanted`` frames: (index -> RGB, frame count)."""
    kept: dict[int, np.ndarray] = {}
    count = 0
    try:
        with av.open(path, mode="r") as container:
            stream = _video_stream(path, container)
            for frame in container.decode(stream):
                _check_pixels(path, frame.width, frame.height, limits)
                if count in wanted:
                    kept[count] = _av_frame_to_rgb(frame)
                count += 1
                _check_frame_count(path, count, limits)
    except av.error.FFmpegError as e:
        raise MediaError(path, _ffmpeg_reason(e)) from None
    if count == 0:
        raise MediaError(path, "no frame could be decoded (file corrupt)")
    return kept, count


def _video_stream(path: str, container: av.container.InputContainer) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise MediaError(path, "contains no video stream (audio only, or not a video or animation)")
    return container.streams.video[0]


def _av_frame_to_rgb(frame: av.VideoFrame) -> np.ndarray:
    fmt = frame.format
    if fmt.has_palette or any(c.is_alpha for c in fmt.components):
        return _composite_on_white(frame.to_ndarray(format="rgba"))
    return frame.to_ndarray(format="rgb24")


def _ffmpeg_reason(e: av.error.FFmpegError) -> str:
    detail = e.strerror or type(e).__name__
    if isinstance(e, (av.error.InvalidDataError, av.error.EOFError)):
        return f"not a video or animation this program can decode, or the file is truncated/corrupt (FFmpeg: {detail})"
    return f"FFmpeg could not decode the file ({detail})"


# --------------------------------------------------------------------------------------------
# Pillow backend: GIF, PNG/APNG, WebP


def _pillow_count_frames(path: str, kind: str, limits: MediaLimits) -> int:
    """Frame count from the PNG acTL / WebP ANIM header (no pixel decoding)."""
    try:
        with Image.open(path, formats=[kind.upper()]) as im:
            _check_pixels(path, im.width, im.height, limits)
            count = getattr(im, "n_frames", 1)
    except _PILLOW_ERRORS as e:
        raise MediaError(path, _pillow_reason(e)) from None
    _check_frame_count(path, count, limits)
    return count


def _pillow_decode(
    path: str, kind: str, limits: MediaLimits, wanted: frozenset[int], count: int
) -> dict[int, np.ndarray]:
    """Decode frames 0..count-1 in order (a truncated last frame must fail), converting only ``wanted``."""
    kept: dict[int, np.ndarray] = {}
    try:
        with Image.open(path, formats=[kind.upper()]) as im:
            for index in range(count):
                im.seek(index)  # a GIF frame may grow the canvas: check the size before decoding
                _check_pixels(path, im.width, im.height, limits)
                im.load()
                if index in wanted:
                    kept[index] = _composite_on_white(np.asarray(im.convert("RGBA")))
    except EOFError:
        reason = f"file is truncated or corrupt: it has fewer than the {count} frames it declares"
        raise MediaError(path, reason) from None
    except _PILLOW_ERRORS as e:
        raise MediaError(path, _pillow_reason(e)) from None
    return kept


def _pillow_reason(e: Exception) -> str:
    if isinstance(e, Image.DecompressionBombError):
        return f"image too large to decode safely (Pillow: {e})"
    return f"not an image this program can decode, or the file is truncated/corrupt (Pillow: {e})"
