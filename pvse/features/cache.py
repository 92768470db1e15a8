"""The on-disk feature cache: frozen frame and word features, computed once and read back by training, evaluation
and index builds; and the one frame-feature setup both use (`frame_feature_cache`: which folder holds a model's
frame features; `frame_decode_size`: how small its frames may be decoded). One root (default
`pvse.defaults.default_feature_cache()`) holds

    <frame extractor>-t<T>/ab/<content hash>.npz   a clip's (T, D) float16 frame features, frame indices
    words/<word model>.v2.pt                         every distinct text's (L, D) word features and known flags

Files are written atomically; a damaged entry is recomputed, never fatal.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..atomic_file import atomic_file
from .precision import DEFAULT_FRAME_PRECISION as DEFAULT_PRECISION
from .preprocessing import FramePreprocessing

WORD_CACHE_VERSION = 2


@dataclass
class ClipFeatures:
    """One clip's frozen frame features and which frames they came from, as cached."""

    path: str
    content_hash: str
    features: np.ndarray  # (T, D) float32
    frame_indices: tuple[int, ...]
    num_source_frames: int


class FeatureCache:
    """One small .npz per clip under `root/<extractor>-t<T>/`, keyed by content hash, written atomically."""

    def __init__(self, root: str | Path, extractor_name: str, num_frames: int) -> None:
        self.dir = Path(root) / f"{extractor_name}-t{num_frames}"

    def _file(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.npz"

    def get(self, key: str, path: str) -> ClipFeatures | None:
        file = self._file(key)
        if not file.is_file():
            return None
        try:
            with np.load(file) as data:
                return ClipFeatures(path, key, data["features"].astype(np.float32),
                                    tuple(int(i) for i in data["indices"]), int(data["num_source_frames"]))
        except Exception:  # noqa: BLE001 - a damaged cache entry (bad zip, wrong shape, ...) is recomputed
            return None

    def put(self, item: ClipFeatures) -> None:
        file = self._file(item.content_hash)
        file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(file) as fh:
            np.savez(fh, features=item.features.astype(np.float16), indices=np.asarray(item.frame_indices),
                     num_source_frames=item.num_source_frames)


def text_key(text: str) -> str:
    """The store's key of a text: sha256 of its UTF-8 bytes, 24 hex digits."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class WordFeatureStore:
    """Per distinct text, {"features": (L, D), "known": (L,) bool} of one extractor, in `root/words/<name>.v2.pt`.

    One file per extractor, replaced atomically when new texts were added.
    """

    def __init__(self, root: str | Path, name: str) -> None:
        self.file = Path(root) / "words" / f"{name}.v{WORD_CACHE_VERSION}.pt"

    def load(self) -> dict[str, dict[str, torch.Tensor]]:
        if not self.file.is_file():
            return {}
        try:
            return torch.load(self.file, map_location="cpu", weights_only=True)
        except Exception:  # a damaged cache is rebuilt, never fatal
            return {}

    def save(self, entries: dict[str, dict[str, torch.Tensor]]) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(self.file) as fh:
            torch.save(entries, fh)


def frame_decode_size(extractor_name: str, preprocessing: FramePreprocessing | None = None) -> tuple[int, int] | None:
    """(width, height) a clip's frames may be shrunk to while decoding for this frame extractor.

    The extractor squashes every frame to its square input size with antialiased bicubic (see
    `FrameFeatureExtractor.preprocess`); shrinking to that size with the same filter while decoding feeds
    it the same pixels (to rounding) and keeps no full-size frame. None (decode at full size) when unknown,
    or when the model's `preprocessing` resizes the shorter side and crops (`FramePreprocessing.decode_size`).
    """
    if preprocessing is not None:
        return preprocessing.decode_size
    from .registry import frame_extractors
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
    from .registry import frame_extractor_spec
    if preprocessing == frame_extractor_spec(extractor_name).preprocessing:
        return extractor_name + suffix
    digest = hashlib.sha256(json.dumps(dataclasses.asdict(preprocessing), sort_keys=True).encode()).hexdigest()
    return f"{extractor_name}-{digest[:8]}{suffix}"


def frame_feature_cache(root: str | Path | None, extractor_name: str, num_frames: int,
                        preprocessing: FramePreprocessing | None = None,
                        precision: str = DEFAULT_PRECISION) -> FeatureCache | None:
    """The cache of a model's frame features under `root` (None: no cache): the one place that says which folder
    holds the T frames' features of this extractor, preprocessing and precision (`frame_features_key`)."""
    if root is None:
        return None
    return FeatureCache(root, frame_features_key(extractor_name, preprocessing, precision), num_frames)
