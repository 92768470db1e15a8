"""Decode GIF / video / animated-image files into a few evenly spaced RGB frames.

PVSE (Song & Soleymani, CVPR 2019) represents a video by T frames sampled evenly over the clip
(T = 8 at inference); this module turns a file into exactly that: a ``(T, H, W, 3)`` uint8 array,
transparency composited on white, at the file's own resolution or, with ``max_size``, shrunk to what
the frame CNN will use (see below).

Memory and time: the file size is checked before the file is opened and the frame size before any
pixel is decoded; a cheap pass that decodes no pixels counts the frames (stopping at the cap); the
T indices are chosen from that count, and the decode pass converts and keeps only those T frames,
each shrunk as soon as it is composited, so no full-size frame is held beyond the one being drawn.

Backends, chosen by the file's signature (not its name):
- GIF: our own block parser and compositor (`pvse.media.gif`), following what browsers show
  (non-UTF-8 comments, blocks after the last frame, frames larger / smaller than the canvas or
  offset, disposal, local palettes); Pillow's C decoder does the LZW.
- Pillow for PNG/APNG and WebP (FFmpeg cannot decode animated WebP at all).
- PyAV (FFmpeg) for video containers: MP4, MOV, WebM, ...
Every failure, whatever its cause, becomes ``pvse.errors.MediaError(path, reason)``.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from pvse.errors import MediaError

from . import gif
from .sampling import (
    DEFAULT_SAMPLING,
    DisplayTimes,
    FrameSampling,
    as_frame_sampling,
    gif_display_times,
    sample_frame_indices,
)

__all__ = ["MEDIA_EXTENSIONS", "Clip", "ClipView", "MediaLimits", "decode_all_frames", "decode_clip",
           "decode_clip_views", "sample_frame_indices", "shrink_to"]

if TYPE_CHECKING:
    import av  # PyAV is imported when a video container is opened: GIFs, PNGs and WebPs never need it

MEDIA_EXTENSIONS: tuple[str, ...] = (".gif", ".mp4", ".webp", ".webm", ".mov", ".m4v", ".apng", ".png")
"""File name endings the gallery indexer treats as clips (lower case)."""

_BACKGROUND = 255  # white: transparent pixels are composited onto (255, 255, 255)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Errors Pillow raises for unreadable, truncated or corrupt images.
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)

# Frames over MediaLimits.max_pixels (allowed for still images) are decoded one at a time per process,
# so that several decoding threads never hold several of them at once.
_LARGE_DECODE = threading.Lock()

Times = Callable[[], list[Fraction]]
"""Each frame's display time in seconds, computed only when called (reading them may cost a pass over the file)."""
Chooser = Callable[[int, Times], list[int]]
"""(frame count, display times) -> the frame indices to keep, in order."""
Size = tuple[int, int] | None
"""(width, height) a frame is shrunk to fit (`shrink_to`), or None: its own size."""


@dataclass(frozen=True)
class MediaLimits:
    """Caps on decode work, checked before the expensive part; exceeding one raises MediaError."""

    max_file_bytes: int = 50 * 2**20
    max_pixels: int = 4096 * 4096  # width * height of one frame of an animation or video
    max_frames: int = 10_000  # frames counted before giving up
    max_still_pixels: int = 80_000_000  # width * height of a still image (one frame, decoded once)


@dataclass(frozen=True)
class Clip:
    """T frames sampled from one file."""

    frames: np.ndarray  # (T, H, W, 3) uint8 RGB, composited on white
    indices: tuple[int, ...]  # which source frame each of the T frames is (for display)
    num_source_frames: int
    path: str


def decode_clip(path: str | Path, num_frames: int = 8, limits: MediaLimits = MediaLimits(),
                max_size: tuple[int, int] | None = None, sampling: str | FrameSampling = DEFAULT_SAMPLING) -> Clip:
    """Decode ``num_frames`` evenly spaced frames of a GIF / video / animated image (see module doc).

    max_size: (width, height); a frame wider or taller is shrunk along that axis to it (antialiased
    bicubic) as soon as it is composited. The frame CNN squashes every frame to its input size with
    that filter anyway (`pvse.features.frames`), so passing its input size gives it the same pixels (to
    rounding) while decoding holds and hands over a fraction of the bytes. Smaller axes are left alone.
    sampling: which frames, a rule name (`sample_frame_indices`) or a `FrameSampling` (a rule, possibly on
    the clip resampled at a constant frame rate from its frames' display times).
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    sampler = as_frame_sampling(sampling)
    frames, indices, count = _read(path, limits, lambda n, times: sampler.choose(n, num_frames, times), max_size)
    return Clip(frames=np.stack(frames), indices=tuple(indices), num_source_frames=count, path=str(path))


@dataclass(frozen=True)
class ClipView:
    """Which frames of a clip one consumer wants, and how large: `num_frames` by `sampling`, shrunk to `max_size`."""

    num_frames: int
    sampling: str | FrameSampling = DEFAULT_SAMPLING
    max_size: Size = None


def decode_clip_views(path: str | Path, views: list[ClipView], limits: MediaLimits = MediaLimits()) -> list[Clip]:
    """One `Clip` per view, from one pass over the file: each view's frames exactly as `decode_clip` would give
    them (same indices, same pixels), while the file is read, counted and composited once for all of them.

    Indexing wants the frame CNN's T small frames and the text reader's few full-size ones; decoding them together
    costs little more than decoding the CNN's alone.
    """
    if not views or min(v.num_frames for v in views) < 1:
        raise ValueError("need at least one view, each of num_frames >= 1")
    samplers = [as_frame_sampling(v.sampling) for v in views]

    def choose(n: int, times: Times) -> list[list[int]]:
        once = _Once(times)
        return [s.choose(n, v.num_frames, once) for s, v in zip(samplers, views)]

    frames, indices, count = _read_views(path, limits, choose, [v.max_size for v in views])
    return [Clip(frames=np.stack(f), indices=tuple(i), num_source_frames=count, path=str(path))
            for f, i in zip(frames, indices)]


class _Once:
    """A `Times` computed on its first call only (several views may ask for it)."""

    def __init__(self, times: Times) -> None:
        self._times, self._value = times, None

    def __call__(self):
        if self._value is None:
            self._value = self._times()
        return self._value


def decode_all_frames(
    path: str | Path, limits: MediaLimits = MediaLimits(), max_frames: int | None = None,
    max_size: tuple[int, int] | None = None,
) -> list[np.ndarray]:
    """Every frame of the clip, in order, as (H, W, 3) uint8 RGB composited on white.

    With ``max_frames``, a longer clip gives that many frames spread evenly over it (so a frame
    strip of a long clip still spans all of it). Without it, all frames are held in memory at once,
    up to ``limits.max_frames`` of them: callers showing arbitrary user files should pass a cap.
    ``max_size`` as in `decode_clip`.
    """
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1 or None, got {max_frames}")

    def choose(n: int, _times) -> list[int]:
        if max_frames is None or n <= max_frames:
            return list(range(n))
        return sample_frame_indices(n, max_frames)

    frames, _, _ = _read(path, limits, choose, max_size)
    return frames


def shrink_to(image: Image.Image, max_size: tuple[int, int] | None) -> Image.Image:
    """``image`` with each axis longer than ``max_size`` (width, height) resized to it, antialiased bicubic."""
    if max_size is None:
        return image
    size = (min(image.width, max_size[0]), min(image.height, max_size[1]))
    return image if size == image.size else image.resize(size, Image.Resampling.BICUBIC)


# --------------------------------------------------------------------------------------------
# driver and checks shared by all backends


def _read(
    path: str | Path, limits: MediaLimits, choose: Chooser, max_size: Size
) -> tuple[list[np.ndarray], list[int], int]:
    """Check, count, choose indices, decode keeping only those: (frames in index order, indices, n)."""
    frames, indices, count = _read_views(path, limits, lambda n, times: [choose(n, times)], [max_size])
    return frames[0], indices[0], count


def _read_views(
    path: str | Path, limits: MediaLimits, choose: Callable[[int, Times], list[list[int]]], sizes: list[Size]
) -> tuple[list[list[np.ndarray]], list[list[int]], int]:
    """`_read` for several views at once: `choose` gives each view's indices, `sizes` each view's frame size.

    Any exception, expected or not, becomes a MediaError: one file never ends a batch.
    """
    path = str(path)
    try:
        return _read_checked(path, limits, choose, sizes)
    except MediaError:
        raise
    except MemoryError:
        raise MediaError(path, "ran out of memory while decoding it (frames too large?)") from None
    except Exception as e:  # noqa: BLE001 - a decoder bug on one odd file must not stop a batch
        raise MediaError(path, f"could not be decoded ({type(e).__name__}: {e})") from None


Wanted = dict[int, frozenset]
"""Frame index -> the sizes (`Size`) it is wanted at."""


def _wanted(views: list[list[int]], sizes: list[Size]) -> Wanted:
    wanted: dict[int, set] = {}
    for indices, size in zip(views, sizes):
        for i in indices:
            wanted.setdefault(i, set()).add(size)
    return {i: frozenset(s) for i, s in wanted.items()}


def _read_checked(
    path: str, limits: MediaLimits, choose: Callable[[int, Times], list[list[int]]], sizes: list[Size]
) -> tuple[list[list[np.ndarray]], list[list[int]], int]:
    _check_file(path, limits)
    kind = _sniff(path)
    if kind == "gif":
        kept, views, count = _gif_decode(path, limits, choose, sizes)
    elif kind == "video":
        count, times = _av_count_frames(path, limits)
        views = choose(count, lambda: times(count))
        kept, decoded = _av_decode(path, limits, _wanted(views, sizes))
        if decoded != count:  # an inter-frame codec may emit fewer frames than it has packets
            count, views = decoded, choose(decoded, lambda: times(decoded))
            kept, decoded = _av_decode(path, limits, _wanted(views, sizes))
            if decoded != count:
                raise MediaError(path, "the file decodes differently on each pass (was it modified?)")
    else:
        count = _pillow_count_frames(path, kind, limits)
        views = choose(count, lambda: _pillow_times(path, kind, count))
        kept = _pillow_decode(path, kind, limits, _wanted(views, sizes), count)
    frames = [[kept[i][size] for i in indices] for indices, size in zip(views, sizes)]
    if any(len({f.shape for f in view}) > 1 for view in frames):
        raise MediaError(path, "frames have different sizes; re-encode the clip at one size")
    return frames, views, count


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
    if gif.is_gif(head):
        return "gif"
    if head[:8] == _PNG_SIGNATURE:
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return "video"


def _check_pixels(path: str, width: int, height: int, limits: MediaLimits, still: bool = False) -> None:
    cap, name = (limits.max_still_pixels, "max_still_pixels") if still else (limits.max_pixels, "max_pixels")
    if width * height > cap:
        raise MediaError(
            path,
            f"frame size {width}x{height} = {width * height:,} pixels is over the limit of "
            f"{cap:,} pixels (MediaLimits.{name})",
        )


def _check_frame_count(path: str, count: int, limits: MediaLimits) -> None:
    if count > limits.max_frames:
        raise MediaError(path, f"more than {limits.max_frames:,} frames, over the limit (MediaLimits.max_frames)")


def _composite_on_white(rgba: np.ndarray, rows: int = 256) -> np.ndarray:
    """Alpha-blend an (H, W, 4) uint8 RGBA image over white, rounding to nearest (a band of rows at a time)."""
    if rgba[..., 3].min() == 255:
        return np.ascontiguousarray(rgba[..., :3])
    out = np.empty(rgba.shape[:2] + (3,), np.uint8)
    for top in range(0, rgba.shape[0], rows):
        band = rgba[top:top + rows]
        a = band[..., 3:4].astype(np.uint32)
        rgb = band[..., :3].astype(np.uint32)
        out[top:top + rows] = (rgb * a + _BACKGROUND * (255 - a) + 127) // 255
    return out


def _rgb_array(image: Image.Image, max_size: tuple[int, int] | None) -> np.ndarray:
    """A Pillow image -> shrunk -> composited on white -> (H, W, 3) uint8.

    Shrinking first keeps a large still's full-size copies to the one Pillow decoded; Pillow resamples RGBA
    with premultiplied alpha, so compositing afterwards gives the same picture (to rounding).
    """
    if image.mode == "RGB":
        return np.asarray(shrink_to(image, max_size))
    if image.mode != "RGBA":
        image = image.convert("RGBA")
    return _composite_on_white(np.asarray(shrink_to(image, max_size)))


# --------------------------------------------------------------------------------------------
# GIF backend (pvse.media.gif)


def _gif_decode(path: str, limits: MediaLimits, choose: Callable[[int, Times], list[list[int]]], sizes: list[Size]
                ) -> tuple[dict[int, dict[Size, np.ndarray]], list[list[int]], int]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise MediaError(path, f"cannot read the file ({e.strerror})") from None
    try:
        structure = gif.parse_gif(data, max_images=limits.max_frames)
    except gif.GifFormatError as e:
        reason = str(e)
        if reason.startswith("more than"):
            reason += ", over the limit (MediaLimits.max_frames)"
        raise MediaError(path, reason) from None
    count = len(structure.images)
    still = count == 1
    _check_pixels(path, structure.width, structure.height, limits, still)
    for image in structure.images:
        _check_pixels(path, image.width, image.height, limits, still)
    views = choose(count, lambda: gif_display_times([image.delay_cs for image in structure.images]))
    wanted = _wanted(views, sizes)
    large = structure.width * structure.height > limits.max_pixels
    with _LARGE_DECODE if large else _NO_LOCK:
        kept = {i: {size: np.asarray(shrink_to(im, size).convert("RGB")) for size in wanted[i]}  # shrunk, then copied
                for i, im in gif.iter_composited(data, structure, frozenset(wanted))}
    return kept, views, count


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        return None


_NO_LOCK = _NoLock()


# --------------------------------------------------------------------------------------------
# PyAV (FFmpeg) backend: video containers


def _av_open(path: str):
    import av

    # metadata that is not UTF-8 (a Latin-1 title, ...) must not stop decoding
    return av.open(path, mode="r", metadata_errors="replace")


def _av_count_frames(path: str, limits: MediaLimits) -> tuple[int, Callable[[int], DisplayTimes]]:
    """Count the video stream's packets (one per frame) without decoding pixels; stop at the cap.

    Also returns the frames' display times (seconds) from the packets' timestamps, for a given frame count."""
    import av.error

    stamps: list[tuple[int | None, int]] = []
    try:
        with _av_open(path) as container:
            stream = _video_stream(path, container)
            _check_pixels(path, stream.codec_context.width, stream.codec_context.height, limits)
            time_base = Fraction(stream.time_base) if stream.time_base else None
            rate = stream.average_rate or stream.guessed_rate
            guessed = Fraction(stream.guessed_rate) if stream.guessed_rate else None  # what FFmpeg's filters get
            count = 0
            for packet in container.demux(stream):
                if packet.size:  # the last, empty packet only flushes the decoder
                    count += 1
                    _check_frame_count(path, count, limits)
                    stamps.append((packet.pts, packet.duration or 0))
    except av.error.FFmpegError as e:
        raise MediaError(path, _ffmpeg_reason(e)) from None
    if count == 0:
        raise MediaError(path, "contains no frames")
    return count, lambda n: DisplayTimes(tuple(_video_times(stamps, time_base, Fraction(rate) if rate else None, n)),
                                         guessed)


def _video_times(stamps: list[tuple[int | None, int]], time_base: Fraction | None, rate: Fraction | None,
                 count: int) -> list[Fraction]:
    """Display times of `count` frames from packet (pts, duration) pairs: the gaps between the sorted timestamps,
    the last packet's duration for the last frame; 1 / average rate each when timestamps are missing."""
    fallback = 1 / rate if rate else Fraction(1, 25)
    pts = sorted(p for p, _ in stamps if p is not None)
    if time_base is None or len(pts) != len(stamps) or len(pts) < count:
        return [fallback] * count
    starts = [p * time_base for p in pts[:count]]
    last = max((d for p, d in stamps if p == pts[count - 1]), default=0) * time_base
    return [b - a for a, b in zip(starts, starts[1:])] + [last or fallback]


def _av_decode(path: str, limits: MediaLimits, wanted: Wanted) -> tuple[dict[int, dict[Size, np.ndarray]], int]:
    """Decode the whole video stream, converting only the ``wanted`` frames: (index -> size -> RGB, frame count)."""
    import av.error

    kept: dict[int, dict[Size, np.ndarray]] = {}
    count = 0
    try:
        with _av_open(path) as container:
            stream = _video_stream(path, container)
            for frame in container.decode(stream):
                _check_pixels(path, frame.width, frame.height, limits)
                if count in wanted:
                    kept[count] = {size: _av_frame_to_rgb(frame, size) for size in wanted[count]}
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


def _av_frame_to_rgb(frame: av.VideoFrame, max_size: tuple[int, int] | None) -> np.ndarray:
    fmt = frame.format
    if fmt.has_palette or any(c.is_alpha for c in fmt.components):
        rgb = _composite_on_white(frame.to_ndarray(format="rgba"))
    else:
        rgb = frame.to_ndarray(format="rgb24")
    if max_size is None:
        return rgb
    return np.asarray(shrink_to(Image.fromarray(rgb), max_size))


def _ffmpeg_reason(e: av.error.FFmpegError) -> str:
    import av.error

    detail = e.strerror or type(e).__name__
    if isinstance(e, (av.error.InvalidDataError, av.error.EOFError)):
        return f"not a video or animation this program can decode, or the file is truncated/corrupt (FFmpeg: {detail})"
    return f"FFmpeg could not decode the file ({detail})"


# --------------------------------------------------------------------------------------------
# Pillow backend: PNG/APNG, WebP


def _pillow_count_frames(path: str, kind: str, limits: MediaLimits) -> int:
    """Frame count from the PNG acTL / WebP ANIM header (no pixel decoding)."""
    try:
        with Image.open(path, formats=[kind.upper()]) as im:
            count = getattr(im, "n_frames", 1)
            _check_pixels(path, im.width, im.height, limits, still=count == 1)
    except _PILLOW_ERRORS as e:
        raise MediaError(path, _pillow_reason(e)) from None
    _check_frame_count(path, count, limits)
    return count


def _pillow_times(path: str, kind: str, count: int) -> list[Fraction]:
    """Each frame's display time from the PNG fcTL / WebP ANMF durations (Pillow's per-frame info, ms)."""
    times: list[Fraction] = []
    try:
        with Image.open(path, formats=[kind.upper()]) as im:
            for index in range(count):
                im.seek(index)
                if kind == "webp":
                    im.load()  # Pillow reads a WebP frame's duration when it decodes the frame
                times.append(Fraction(int(im.info.get("duration") or 0), 1000))
    except (EOFError, *_PILLOW_ERRORS) as e:
        raise MediaError(path, _pillow_reason(e)) from None
    return times


def _pillow_decode(
    path: str, kind: str, limits: MediaLimits, wanted: Wanted, count: int,
) -> dict[int, dict[Size, np.ndarray]]:
    """Decode frames 0..count-1 in order (a truncated last frame must fail), converting only ``wanted``."""
    kept: dict[int, dict[Size, np.ndarray]] = {}
    try:
        with Image.open(path, formats=[kind.upper()]) as im:
            large = im.width * im.height > limits.max_pixels
            with _LARGE_DECODE if large else _NO_LOCK:
                for index in range(count):
                    im.seek(index)
                    _check_pixels(path, im.width, im.height, limits, still=count == 1)
                    im.load()
                    if index in wanted:
                        kept[index] = {size: _rgb_array(im, size) for size in wanted[index]}
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
