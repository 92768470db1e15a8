"""Small animated previews of clips (H.264 MP4, at most PREVIEW_SIDE px), made once and kept with the index.

A results page of original film GIFs weighs 9-16 MB (a GIF can be 4 MB); a GIF site shows small videos instead and
links the original. Measured on the 12 largest film GIFs of a dev set (38.5 MB of originals), at 240 px: animated
WebP q50 3.15 MB and ~0.5-0.9 s a clip to encode; H.264 crf 30 0.47 MB and ~0.1 s a clip (plus decoding every frame,
the larger part). So previews are H.264 in MP4 (yuv420p, `+faststart`), encoded by the libx264 inside PyAV's wheels,
with each frame shown as long as the GIF shows it.

A preview is named after its clip's content hash and the preview settings (`preview_name`), so one made for a clip
serves it until the clip's bytes change (a new hash, a new preview) and survives index rebuilds. They live beside
the index (`preview_dir`): `<index folder>.previews/` for a folder index, `<file>.previews/` for a Milvus Lite file,
and a folder named after the server and collection in the user cache for a Milvus server; a place that cannot be
written falls back to the user cache. Files are written atomically, so a preview is whole or absent.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import MediaError
from ..media import MediaLimits, decode_all_frames

PREVIEW_SIDE = 240  # longest side, px
PREVIEW_CRF = 30  # x264 constant rate factor: 30 keeps faces and captions legible at 240 px
MAX_PREVIEW_FRAMES = 240  # a longer clip shows this many of its frames, spread over its whole length
DEFAULT_FRAME_S = Fraction(1, 10)  # display time of a frame whose file does not say (GIF's own default)
PREVIEW_VERSION = 1  # part of every preview's name: raise it when the settings above change
SUFFIX = ".mp4"
MEDIA_TYPE = "video/mp4"


def preview_name(content_hash: str) -> str:
    """The file name of a clip's preview: its content hash and the preview settings."""
    if not content_hash or not all(ch in "0123456789abcdef" for ch in content_hash):
        raise ValueError(f"not a content hash: {content_hash!r:.40}")
    return f"{content_hash}-{PREVIEW_SIDE}p-v{PREVIEW_VERSION}{SUFFIX}"


def preview_dir(location: str | Path) -> Path:
    """Where the previews of the index at `location` (a folder, a Milvus Lite file, or a Milvus URI) are kept."""
    text = str(location)
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme == "milvus" and not rest.startswith(("http:", "https:")):
            return Path(rest.split("?", 1)[0]).expanduser().with_name(Path(rest.split("?", 1)[0]).name + ".previews")
        return _user_cache() / hashlib.sha256(text.encode()).hexdigest()[:16]
    path = Path(text).expanduser()
    return path.with_name(path.name + ".previews")


def _user_cache() -> Path:
    from ..defaults import default_feature_cache
    return Path(default_feature_cache()) / "previews"


def gif_durations(path: str | Path) -> list[Fraction] | None:
    """Each frame's display time of a GIF, as browsers show it; None for other files (or an unreadable GIF)."""
    from ..media import gif
    from ..media.sampling import gif_display_times
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        if gif.is_gif(data[:6]):
            return list(gif_display_times([im.delay_cs for im in gif.parse_gif(data).images]).durations)
    except (OSError, gif.GifFormatError):
        pass
    return None


def _even_size(width: int, height: int, side: int) -> tuple[int, int]:
    scale = min(1.0, side / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def encode_preview(path: str | Path, out: str | Path, limits: MediaLimits = MediaLimits()) -> None:
    """Write the MP4 preview of the clip at `path` to the file `out` (MediaError when it cannot be decoded or
    encoded). The file is written twice (`+faststart` moves the index to the front, so playback starts at once)."""
    import av

    with Image.open(path) as probe:  # the header's size, to shrink while decoding (aspect kept)
        size = _even_size(*probe.size, PREVIEW_SIDE)
    frames = decode_all_frames(path, limits, max_frames=MAX_PREVIEW_FRAMES, max_size=size)
    durations = gif_durations(path) or [DEFAULT_FRAME_S] * len(frames)
    if len(durations) != len(frames):  # a long clip's frames spread over it: each stands for several
        durations = [sum(durations, Fraction(0)) / len(frames)] * len(frames)
    base = Fraction(1, 100)
    try:
        with av.open(str(out), "w", format="mp4", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream("libx264", rate=100)
            stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
            stream.codec_context.time_base = base
            stream.options = {"crf": str(PREVIEW_CRF), "preset": "veryfast", "threads": "1"}
            pts = 0
            for frame, seconds in zip(frames, durations):
                if frame.shape[1::-1] != size:
                    frame = np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.BICUBIC))
                video = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
                video.pts, video.time_base = pts, base
                pts += max(1, round(seconds / base))
                container.mux(stream.encode(video))
            container.mux(stream.encode())
    except av.error.FFmpegError as exc:
        raise MediaError(path, f"its preview could not be encoded (FFmpeg: {exc})") from None


class PreviewCache:
    """Previews in one folder: `get` makes a clip's preview the first time it is asked for, then serves the file.

    Safe from several threads: each preview is made once even when asked for by several at a time."""

    def __init__(self, directory: str | Path, limits: MediaLimits = MediaLimits()) -> None:
        self.directory = Path(directory)
        self.limits = limits
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.made = 0  # previews encoded by this cache (not found on disk)

    def path(self, content_hash: str) -> Path:
        return self.directory / preview_name(content_hash)

    def get(self, clip: str | Path, content_hash: str) -> Path | None:
        """The preview of `clip` (whose bytes hash to `content_hash`), made now if missing; None when it cannot be
        made (the caller shows the original)."""
        target = self.path(content_hash)
        if target.is_file():
            return target
        with self._guard:
            lock = self._locks.setdefault(content_hash, threading.Lock())
        with lock:
            if target.is_file():
                return target
            for directory in (self.directory, _user_cache() / self.directory.name):
                try:
                    directory.mkdir(parents=True, exist_ok=True)
                    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=SUFFIX)
                    os.close(fd)
                except OSError:
                    continue  # not writable: the user cache instead
                try:
                    encode_preview(clip, tmp, self.limits)
                    os.replace(tmp, directory / target.name)
                except Exception:  # noqa: BLE001 - a clip without a preview is shown as it is
                    Path(tmp).unlink(missing_ok=True)
                    return None
                self.directory, self.made = directory, self.made + 1
                return directory / target.name
        return None

    def prune(self, keep: set[str]) -> int:
        """Delete previews of clips no longer in the index (hash not in `keep`) or of other settings; how many."""
        wanted = {preview_name(h) for h in keep}
        removed = 0
        for file in self.directory.glob(f"*{SUFFIX}") if self.directory.is_dir() else ():
            if file.name not in wanted:
                try:
                    os.unlink(file)
                    removed += 1
                except OSError:
                    pass
        return removed
