"""Frozen features held in memory for training and evaluation, computed once and cached on disk.

Frame features come from `pvse.features.clip_work` and live in `pvse.features.cache` (one .npz per clip, keyed
by file content); word features of
each distinct text are kept in one file per word-feature extractor. Both extractors are only built when
something is missing from the cache, so a second run over the same data neither decodes nor runs a network.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import torch
from torch.nn.utils.rnn import pad_sequence
from tqdm.auto import tqdm

from ..defaults import default_feature_cache
from ..errors import MediaError, PVSEError
from ..features.cache import ClipFeatures, WordFeatureStore, frame_decode_size, frame_feature_cache, text_key
from ..features.clip_work import ClipTasks, OneThreadCNN, built_on_one_thread, default_workers, run_clip_tasks
from ..features.preprocessing import FramePreprocessing
from ..media import ClipView
from ..media.sampling import DEFAULT_SAMPLING


@lru_cache(maxsize=4)
def shared_word_features(name: str):
    """One word-feature extractor per name per process (GloVe tables and MiniLM are slow to load)."""
    from ..features import build_word_features
    return build_word_features(name)


@dataclass
class FrameBank:
    """(N, T, D) frame features of N clips (float16, as cached), a row per clip path."""

    features: torch.Tensor
    rows: dict[Path, int]
    failed: dict[Path, str] = field(default_factory=dict)  # clips that could not be decoded, and why

    @property
    def dim(self) -> int:
        return int(self.features.size(-1))

    def rows_of(self, paths: Sequence[Path]) -> torch.Tensor:
        return torch.tensor([self.rows[p] for p in paths], dtype=torch.long)

    def to(self, device: torch.device) -> FrameBank:
        return FrameBank(self.features.to(device), self.rows, self.failed)


def load_frame_bank(paths: Sequence[Path], extractor_name: str, num_frames: int, cache_root: str | Path | None = None,
                    *, extractor_factory: Callable[[], object] | None = None, device: str | torch.device = "cpu",
                    progress: bool = True, preprocessing: FramePreprocessing | None = None) -> FrameBank:
    """Frame features of `paths` from the feature cache, computing (and caching) the missing ones the way an index
    build does (`features.clip_work`: one task per clip, clips side by side, the CNN built only when a clip is
    missing from the cache).

    preprocessing: the model's frame preprocessing (`PVSEConfig.frame_preprocessing()`); None: the extractor's.

    Clips that fail to decode are left out and listed in `failed`; it is an error only if all of them fail.
    """
    paths = list(dict.fromkeys(Path(p) for p in paths))
    if not paths:
        raise PVSEError("no clips to compute frame features for")
    cache = frame_feature_cache(Path(cache_root) if cache_root else default_feature_cache(), extractor_name,
                                num_frames, preprocessing)
    if extractor_factory is None:
        def extractor_factory():
            from ..features import build_frame_extractor
            return build_frame_extractor(extractor_name, device=device, preprocessing=preprocessing)
    sampling = preprocessing.frame_sampling if preprocessing else DEFAULT_SAMPLING
    tasks = ClipTasks(None, ClipView(num_frames, sampling, frame_decode_size(extractor_name, preprocessing)),
                      build_cnn=lambda: OneThreadCNN(built_on_one_thread(extractor_factory)), cache=cache)
    rows: dict[Path, int] = {}
    feats: list[torch.Tensor] = []
    failed: dict[Path, str] = {}
    bar = tqdm(total=len(paths), unit="clip", desc="frame features", disable=not progress, dynamic_ncols=True)
    try:
        for work in run_clip_tasks(paths, tasks, default_workers()):
            bar.update(1)
            item = work.features
            if isinstance(item, MediaError):
                failed[work.path] = str(item)
                continue
            assert isinstance(item, ClipFeatures)
            rows[work.path] = len(feats)
            feats.append(torch.from_numpy(item.features).to(torch.float16))
    finally:
        bar.close()
    if not feats:
        first = next(iter(failed.items()))
        raise PVSEError(f"none of the {len(paths)} clips could be decoded (e.g. {first[1]})")
    return FrameBank(torch.stack(feats).to(device), rows, failed)


@dataclass
class TextBank:
    """Word features of distinct texts, concatenated: text i is flat[offsets[i]:offsets[i] + lengths[i]]."""

    texts: list[str]
    index: dict[str, int]
    flat: torch.Tensor  # (sum L, D) float32
    offsets: torch.Tensor  # (U,)
    lengths: torch.Tensor  # (U,) each >= 1 (pvse.features gives a placeholder token to empty texts)
    known: torch.Tensor  # (U,) bool: whether any token of the text has a real vector
    dim: int

    @property
    def uninformative(self) -> set[str]:
        """Texts of which the word features know no token (e.g. an emoticon outside GloVe's vocabulary): they
        all look the same to the model, so training leaves them out (evaluation keeps them as queries)."""
        return {t for t, k in zip(self.texts, self.known.tolist()) if not k}

    def batch(self, ids: Sequence[int], device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Zero-padded (B, L_max, D) word features and (B,) lengths of texts `ids`."""
        parts = [self.flat[int(self.offsets[i]): int(self.offsets[i]) + int(self.lengths[i])] for i in ids]
        padded = pad_sequence(parts, batch_first=True)
        return padded.to(device), self.lengths[list(ids)].to(device)


def load_text_bank(texts: Sequence[str], word_features: str, cache_root: str | Path | None = None,
                   *, batch_size: int = 256, progress: bool = True) -> TextBank:
    """Word features of every distinct text, from the on-disk store or computed (in sorted order) and stored."""
    texts = list(dict.fromkeys(texts))
    store = WordFeatureStore(Path(cache_root) if cache_root else default_feature_cache(), word_features)
    entries = store.load()
    missing = sorted({t for t in texts if text_key(t) not in entries})
    dim = next(iter(entries.values()))["features"].size(-1) if entries else None
    if missing:
        extractor = shared_word_features(word_features)
        dim = extractor.dim
        for start in tqdm(range(0, len(missing), batch_size), desc="word features", unit="batch",
                          disable=not progress, dynamic_ncols=True):
            chunk = missing[start:start + batch_size]
            batch = extractor.encode(chunk)
            feats = torch.as_tensor(batch.features, dtype=torch.float32)
            for row, text in enumerate(chunk):
                n = int(batch.lengths[row])
                entries[text_key(text)] = {"features": feats[row, :n].clone(),
                                            "known": torch.tensor(batch.known[row][:n], dtype=torch.bool)}
        store.save(entries)
    if dim is None:
        dim = shared_word_features(word_features).dim
    items = [entries[text_key(t)] for t in texts]
    lengths = torch.tensor([item["features"].size(0) for item in items], dtype=torch.long)
    known = torch.tensor([bool(item["known"].any()) for item in items], dtype=torch.bool)
    flat = torch.cat([item["features"] for item in items]) if items else torch.zeros(0, dim)
    return TextBank(texts, {t: i for i, t in enumerate(texts)}, flat, torch.cumsum(lengths, 0) - lengths, lengths,
                    known, int(dim))
