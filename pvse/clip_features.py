"""Frozen CNN features of many clips: decoding overlapped with the CNN, batched across clips, cached on disk.

Frame features dominate indexing and training time, so they are computed once per (file content, extractor,
T) and kept in a FeatureCache; training epochs and index rebuilds read them back instead of decoding again.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .config import DEFAULT_FRAME_PRECISION as DEFAULT_PRECISION
from .errors import MediaError
from .feature_store import ClipFeatures, FeatureCache
from .features.preprocessing import FramePreprocessing
from .integrity import file_sha256
from .media import FrameSampling, MediaLimits, decode_clip
from .media.sampling import DEFAULT_SAMPLING

CNN_FRAMES_PER_CALL = 8
"""Frames per frame-CNN call. ONNX Runtime keeps the memory of its largest batch for good: 64 frames of
224 x 224 cost about 1.4 GB more peak memory than 8, and were no faster on CPU (benchmarks/decode_benchmark.py)."""


def content_hash(path: str | Path) -> str:
    """sha256 of the file's bytes (32 hex digits): identifies a clip across renames and re-indexing."""
    return file_sha256(path)[:32]


class LazyFrameExtractor:
    """A frame extractor built on its first `extract` call, i.e. only when some clip is not in the feature cache
    (building a CNN takes seconds). `name` is the extractor's registry name, which keys the cache."""

    def __init__(self, name: str, build: Callable[[], Any]) -> None:
        self.name = name
        self._build = build
        self._extractor = None

    def extract(self, frames: np.ndarray) -> np.ndarray:
        if self._extractor is None:
            self._extractor = self._build()
        return self._extractor.extract(frames)


def frame_decode_size(extractor_name: str, preprocessing: FramePreprocessing | None = None) -> tuple[int, int] | None:
    """(width, height) a clip's frames may be shrunk to while decoding for this frame extractor.

    The extractor squashes every frame to its square input size with antialiased bicubic (see
    `FrameFeatureExtractor.preprocess`); shrinking to that size with the same filter while decoding feeds
    it the same pixels (to rounding) and keeps no full-size frame. None (decode at full size) when unknown,
    or when the model's `preprocessing` resizes the shorter side and crops (`FramePreprocessing.decode_size`).
    """
    if preprocessing is not None:
        return preprocessing.decode_size
    from .features import frame_extractors
    spec = frame_extractors().get(extractor_name)
    return None if spec is None else spec.preprocessing.decode_size


def frame_features_key(extractor_name: str, preprocessing: FramePreprocessing | None = None,
                       precision: str = DEFAULT_PRECISION) -> str:
    """The name frame features are cached under: the extractor's, plus a hash of the preprocessing when a model
    names one other than the extractor's own, plus the precision when it is not fp32 (features of differently
    prepared frames, or of the int8 CNN, never mix with others)."""
    suffix = "" if precision == DEFAULT_PRECISION else f"@{precision}"
    if preprocessing is None:
        return extractor_name + suffix
    from .features import frame_extractor_spec
    if preprocessing == frame_extractor_spec(extractor_name).preprocessing:
        return extractor_name + suffix
    digest = hashlib.sha256(json.dumps(dataclasses.asdict(preprocessing), sort_keys=True).encode()).hexdigest()
    return f"{extractor_name}-{digest[:8]}{suffix}"


def _decode(path: Path, num_frames: int, limits: MediaLimits, cache: FeatureCache | None,
            frame_size: tuple[int, int] | None = None, sampling: str | FrameSampling = DEFAULT_SAMPLING):
    """Cached features, or (hash, decoded clip), or the MediaError saying why neither (never raises)."""
    try:
        key = content_hash(path)
    except OSError as exc:
        return MediaError(path, f"cannot read the file ({exc.strerror or exc})")
    except Exception as exc:  # noqa: BLE001 - one file never ends a batch
        return MediaError(path, f"cannot read the file ({type(exc).__name__}: {exc})")
    cached = cache.get(key, str(path)) if cache else None
    if cached is not None and cached.features.shape[0] == num_frames:
        return cached
    try:
        return key, decode_clip(path, num_frames=num_frames, limits=limits, max_size=frame_size, sampling=sampling)
    except MediaError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - decode_clip turns errors into MediaError; this is a last guard
        return MediaError(path, f"could not be decoded ({type(exc).__name__}: {exc})")


def _extract_batch(extractor, clips: list[np.ndarray]) -> list[np.ndarray | Exception]:
    """CNN features of several clips' frames, one CNN call per distinct frame size (clips keep their own size).

    Frames go through the CNN CNN_FRAMES_PER_CALL at a time. If a joint call fails, each clip of it is tried
    alone, so that one odd clip costs only itself: its entry is then the exception.
    """
    out: list[np.ndarray | Exception | None] = [None] * len(clips)
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for i, frames in enumerate(clips):
        by_shape.setdefault(frames.shape[1:], []).append(i)
    for members in by_shape.values():
        try:
            stacked = np.concatenate([clips[i] for i in members])
            feats = np.concatenate([extractor.extract(stacked[start:start + CNN_FRAMES_PER_CALL])
                                    for start in range(0, len(stacked), CNN_FRAMES_PER_CALL)])
        except Exception:  # noqa: BLE001 - retried clip by clip below
            for i in members:
                try:
                    out[i] = extractor.extract(clips[i])
                except Exception as exc:  # noqa: BLE001
                    out[i] = exc
            continue
        for j, i in enumerate(members):
            out[i] = feats[j * len(clips[i]):(j + 1) * len(clips[i])]
    return out


def iter_clip_features(paths: Iterable[str | Path], extractor, num_frames: int = 8, *,
                       cache: FeatureCache | None = None, batch_clips: int = 8, decode_workers: int = 2,
                       limits: MediaLimits = MediaLimits(), progress: bool | str = True,
                       frame_size: tuple[int, int] | None = None, sampling: str | FrameSampling = DEFAULT_SAMPLING
                       ) -> Iterator[tuple[Path, ClipFeatures | MediaError]]:
    """Yield (path, features or the MediaError that explains why not) for every path, in input order.

    Clips are decoded by a thread pool up to a few batches ahead while the CNN runs on the previous batch;
    frames of `batch_clips` clips go through the CNN together. Cached clips skip decoding and the CNN.
    frame_size: shrink frames to this (width, height) while decoding (`frame_decode_size` of the extractor).
    sampling: which T frames (`FramePreprocessing.frame_sampling`).
    Whatever goes wrong with one file becomes its MediaError; the others go on.
    """
    paths = [Path(p) for p in paths]
    order = {p: i for i, p in enumerate(paths)}
    bar = tqdm(total=len(paths), unit="clip", desc=progress if isinstance(progress, str) else "frame features",
               disable=not progress, dynamic_ncols=True)
    pool = ThreadPoolExecutor(max_workers=max(1, decode_workers))
    window: deque[tuple[Path, Future]] = deque()
    ahead = max(batch_clips * 3, decode_workers * 2)
    todo = iter(paths)

    def refill() -> None:
        while len(window) < ahead:
            path = next(todo, None)
            if path is None:
                return
            window.append((path, pool.submit(_decode, path, num_frames, limits, cache, frame_size, sampling)))

    try:
        refill()
        while window:
            batch: list[tuple[Path, str, object]] = []
            ready: list[tuple[Path, ClipFeatures | MediaError]] = []
            while window and len(batch) < batch_clips:
                path, future = window.popleft()
                result = future.result()
                refill()
                if isinstance(result, (MediaError, ClipFeatures)):
                    ready.append((path, result))
                else:
                    batch.append((path, *result))
            if batch:
                feats = _extract_batch(extractor, [clip.frames for _, _, clip in batch])
                for (path, key, clip), f in zip(batch, feats):
                    if isinstance(f, Exception):
                        ready.append((path, MediaError(path, f"the frame CNN failed on it ({type(f).__name__}: {f})")))
                        continue
                    item = ClipFeatures(str(path), key, f.astype(np.float32), tuple(clip.indices), clip.num_source_frames)
                    if cache:
                        cache.put(item)
                    ready.append((path, item))
            for item in sorted(ready, key=lambda pr: order[pr[0]]):
                bar.update(1)
                yield item
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        bar.close()
