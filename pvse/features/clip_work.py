"""All of one clip's indexing work in one task: hash, one decode, frame CNN, text reading; a pool runs them.

Indexing used to decode each clip twice (T small frames for the frame CNN, then a few full-size ones for the text
reader) and to read text in a second pass on one core after the CNN pass. Here each clip is a single task: the
file is hashed, decoded once for both (`pvse.media.decode_clip_views`: the same frames and pixels each would get
alone), its frames go through the CNN and the reader, and the task hands back features and text. `workers` threads
run tasks side by side; the CNN and the reader are ONNX Runtime sessions of one thread each, which release the GIL,
so each core runs a whole clip and neither waits for a stage that only one core can do.

What each clip gives is independent of the others and of the order the threads finish in, so an index built this
way is the same, byte for byte, whatever the number of workers.
"""
from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MediaError
from ..integrity import content_hash
from ..media import ClipView, MediaLimits, decode_clip_views
from ..reading.read import read_decoded_text, read_view
from ..reading.specs import FrameTextReaderSpec
from ..reading.types import ReadText
from .cache import ClipFeatures, FeatureCache

STAGES = ("hash", "decode", "CNN", "read text")
FRAMES_PER_CALL = 4
"""Frames per frame-CNN call. Calls run side by side (one per clip in work) and ONNX Runtime's memory arena is off,
so each call holds its own activations: 4 frames of 224 x 224 hold half of what 8 do, and ran no slower (158 vs
168 ms per 8 frames, one thread)."""


def default_workers() -> int:
    """Tasks run side by side: one per CPU this process may use (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class ClipWork:
    """What one clip's task gives: features (or why not), and its text when reading was asked for."""

    path: Path
    features: ClipFeatures | MediaError | None  # None: not asked for (`ReadTasks`)
    read: ReadText | MediaError | None = None  # None: not read (not asked, or the clip could not be decoded)
    from_cache: bool = False  # features came from the feature cache (no CNN run)
    seconds: dict[str, float] = field(default_factory=dict)  # per stage (`STAGES`), this task's thread


def built_on_one_thread(build: Callable[[], Any]) -> Any:
    """`build()` with torch on one thread while it runs: a frame CNN built so makes its ONNX session with one thread
    (clips run side by side on one thread each, and one session costs less memory than a second one beside it)."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return build()
    finally:
        torch.set_num_threads(threads)


class OneThreadCNN:
    """The frame CNN for tasks running side by side: the extractor's ONNX graph in a session of one thread (ONNX
    Runtime runs a session's calls from several threads at once), else the extractor itself, one call at a time."""

    def __init__(self, extractor) -> None:
        self.extractor = extractor
        self._runner = extractor.one_thread() if hasattr(extractor, "one_thread") else None
        self._lock = threading.Lock()

    def extract(self, frames: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 -> (N, D) float32, as `extractor.extract` gives them, FRAMES_PER_CALL at a time."""
        if self._runner is None:
            with self._lock:
                return self.extractor.extract(frames, batch_size=FRAMES_PER_CALL)
        return self.extractor.extract(frames, batch_size=FRAMES_PER_CALL, runner=self._runner)


@dataclass
class ClipTasks:
    """How to index one clip: the CNN and its frames (`cnn_view`), the text reader, the feature cache (features the
    CNN computes are put there), the limits, and the content hashes already known (`hashes`, by the path as given:
    a build hashed every file while scanning, so no file is hashed twice)."""

    cnn: OneThreadCNN | None  # None: features from the cache only (never built when every clip is cached)
    cnn_view: ClipView
    build_cnn: object = None  # () -> OneThreadCNN, called once when the first clip needs the CNN
    reader_spec: FrameTextReaderSpec | None = None
    reader: object = None  # the built FrameTextReader (None: no reading)
    cache: FeatureCache | None = None
    limits: MediaLimits = field(default_factory=MediaLimits)
    hashes: Mapping[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _the_cnn(self) -> OneThreadCNN:
        with self._lock:
            if self.cnn is None:
                self.cnn = self.build_cnn()
            return self.cnn

    def __call__(self, path: Path) -> ClipWork:
        """Never raises: whatever goes wrong with the file becomes its MediaError."""
        seconds = dict.fromkeys(STAGES, 0.0)
        tick = time.perf_counter()
        try:
            key = self.hashes.get(str(path)) or content_hash(path)
        except OSError as exc:
            return ClipWork(path, MediaError(path, f"cannot read the file ({exc.strerror or exc})"), seconds=seconds)
        except Exception as exc:  # noqa: BLE001 - one file never ends a batch
            return ClipWork(path, MediaError(path, f"cannot read the file ({type(exc).__name__}: {exc})"),
                            seconds=seconds)
        cached = self.cache.get(key, str(path)) if self.cache else None
        if cached is not None and cached.features.shape[0] != self.cnn_view.num_frames:
            cached = None
        seconds["hash"] = time.perf_counter() - tick
        reading = self.reader is not None
        views = ([] if cached is not None else [self.cnn_view]) + ([read_view(self.reader_spec)] if reading else [])
        if not views:
            return ClipWork(path, cached, from_cache=True, seconds=seconds)
        tick = time.perf_counter()
        try:
            clips = decode_clip_views(path, views, self.limits)
        except Exception as exc:  # noqa: BLE001 - decode_clip_views turns errors into MediaError; a last guard
            error = exc if isinstance(exc, MediaError) else \
                MediaError(path, f"could not be decoded ({type(exc).__name__}: {exc})")
            if cached is not None:  # features known, only the text could not be read
                return ClipWork(path, cached, error, from_cache=True, seconds=seconds)
            return ClipWork(path, error, seconds=seconds)
        seconds["decode"] = time.perf_counter() - tick
        features: ClipFeatures | MediaError | None = cached
        if cached is None:
            clip = clips[0]
            tick = time.perf_counter()
            try:
                feats = self._the_cnn().extract(clip.frames)
                features = ClipFeatures(str(path), key, feats.astype(np.float32), tuple(clip.indices),
                                        clip.num_source_frames)
            except Exception as exc:  # noqa: BLE001 - one odd clip costs only itself
                features = MediaError(path, f"the frame CNN failed on it ({type(exc).__name__}: {exc})")
            seconds["CNN"] = time.perf_counter() - tick
            if self.cache is not None and isinstance(features, ClipFeatures):
                self.cache.put(features)  # computed here: kept for the next build or training run
        read = None
        if reading:
            tick = time.perf_counter()
            try:
                read = read_decoded_text(clips[-1], self.reader_spec, self.reader)
            except Exception as exc:  # noqa: BLE001 - one file never ends a batch
                read = MediaError(path, f"its text could not be read ({type(exc).__name__}: {exc})")
            seconds["read text"] = time.perf_counter() - tick
        return ClipWork(path, features, read, from_cache=cached is not None, seconds=seconds)


@dataclass
class ReadTasks:
    """Reading only, for clips whose features the index already holds (read by another reader, or not at all)."""

    reader_spec: FrameTextReaderSpec
    reader: object
    limits: MediaLimits = field(default_factory=MediaLimits)

    def __call__(self, path: Path) -> ClipWork:
        """`ClipWork` whose `features` is None; never raises."""
        tick = time.perf_counter()
        try:
            clip = decode_clip_views(path, [read_view(self.reader_spec)], self.limits)[0]
            read: ReadText | MediaError = read_decoded_text(clip, self.reader_spec, self.reader)
        except MediaError as exc:
            read = exc
        except Exception as exc:  # noqa: BLE001 - one file never ends a batch
            read = MediaError(path, f"its text could not be read ({type(exc).__name__}: {exc})")
        return ClipWork(path, None, read, seconds={"read text": time.perf_counter() - tick})


def run_clip_tasks(paths: Iterable[Path], tasks: ClipTasks | ReadTasks, workers: int) -> Iterator[ClipWork]:
    """`tasks(path)` for every path on `workers` threads, yielded in input order (a few clips are decoded ahead)."""
    paths = list(paths)
    if workers <= 1:
        yield from (tasks(p) for p in paths)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="clip")
    window: deque[Future] = deque()
    todo = iter(paths)
    try:
        for path in todo:
            window.append(pool.submit(tasks, path))
            if len(window) >= 2 * workers:
                break
        while window:
            done = window.popleft().result()
            path = next(todo, None)
            if path is not None:
                window.append(pool.submit(tasks, path))
            yield done
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
