"""The on-disk feature store: frozen frame and word features, computed once and read back by training, evaluation
and index rebuilds. One root (default `pvse.defaults.default_feature_cache()`) holds

    <frame extractor>-t<T>/ab/<content hash>.npz   a clip's (T, D) float16 frame features, frame indices
    words/<word model>.v2.pt                         every distinct text's (L, D) word features and known flags

Files are written atomically; a damaged entry is recomputed, never fatal.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .atomic_file import atomic_file

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


