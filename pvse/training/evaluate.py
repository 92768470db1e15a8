"""Retrieval evaluation of a PVSE model on one split, scored with the same max-over-K² rule as search.

Every distinct text of the split queries all of its clips (text->video) and every clip queries all of its
texts (video->text); see `pvse.training.metrics` for how ranks are counted.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch

from ..data import PairDataset, Split
from ..errors import PVSEError
from ..model import PVSE
from ..pipeline import PVSEPipeline
from ..similarity import max_over_k2_scores
from .banks import FrameBank, TextBank, load_frame_bank, load_text_bank
from .metrics import RetrievalMetrics, random_baseline, retrieval_metrics


def relevance_matrix(split: Split) -> tuple[list[str], torch.Tensor]:
    """The split's distinct texts and the (texts, clips) bool matrix of which clip each text describes."""
    texts = split.unique_texts()
    row = {t: i for i, t in enumerate(texts)}
    relevant = torch.zeros(len(texts), split.num_clips, dtype=torch.bool)
    for clip, text in split.pairs:
        relevant[row[text], clip] = True
    return texts, relevant


@torch.inference_mode()
def embed_clips(model: PVSE, frames: FrameBank, paths: Sequence[Path], device: torch.device,
                batch_size: int = 256) -> torch.Tensor:
    """(N, K, H) embeddings of the clips `paths` from their cached frame features."""
    model.eval()
    rows = frames.rows_of(paths)
    out = [model.encode_video(frames.features[rows[i:i + batch_size].to(frames.features.device)].to(device).float()).embeddings
           for i in range(0, len(rows), batch_size)]
    return torch.cat(out)


@torch.inference_mode()
def embed_texts(model: PVSE, bank: TextBank, texts: Sequence[str], device: torch.device,
                batch_size: int = 256) -> torch.Tensor:
    """(U, K, H) embeddings of `texts` from their cached word features."""
    model.eval()
    ids = [bank.index[t] for t in texts]
    out = []
    for i in range(0, len(ids), batch_size):
        feats, lengths = bank.batch(ids[i:i + batch_size], device)
        out.append(model.encode_text(feats, lengths).embeddings)
    return torch.cat(out)


def text_video_scores(text_emb: torch.Tensor, clip_emb: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """(U, N) max-over-K² scores, computed a chunk of queries at a time (only the scores are kept)."""
    return torch.cat([max_over_k2_scores(text_emb[i:i + chunk], clip_emb).scores.float().cpu()
                      for i in range(0, text_emb.size(0), chunk)])


def usable_split(split: Split, frames: FrameBank) -> Split:
    """The split without the clips whose frames could not be decoded."""
    split = split.restrict(set(frames.rows))
    if not split.pairs:
        raise PVSEError(f"split '{split.name}' has no usable clip-text pairs")
    return split


def split_metrics(model: PVSE, split: Split, frames: FrameBank, texts: TextBank, device: torch.device,
                  batch_size: int = 256) -> RetrievalMetrics:
    """Metrics of `model` on a split whose frame and word features are already in memory (used per epoch)."""
    split = usable_split(split, frames)
    queries, relevant = relevance_matrix(split)
    clip_emb = embed_clips(model, frames, [c.path for c in split.clips], device, batch_size)
    text_emb = embed_texts(model, texts, queries, device, batch_size)
    return retrieval_metrics(text_video_scores(text_emb, clip_emb), relevant, split.name)


def _as_pipeline(model: PVSEPipeline | str | Path, device: str | torch.device) -> PVSEPipeline:
    if isinstance(model, PVSEPipeline):
        return model
    return PVSEPipeline.from_pretrained(str(model), device=device)


def evaluate(model: PVSEPipeline | str | Path, dataset: PairDataset, split: str = "test", *,
             feature_cache: str | Path | None = None, device: str | torch.device = "auto", batch_size: int = 256,
             progress: bool = True) -> RetrievalMetrics:
    """Text->video and video->text retrieval metrics of a checkpoint (directory, Hub id or loaded pipeline).

    Every clip and text of the split is scored, so that the numbers compare with `evaluate_random`'s: a
    clip that cannot be decoded is never retrieved (score -inf, so ranked last for each of its texts) and
    ranks its texts last as a query; `metrics.undecodable` lists them with the reason.

    Frame features come from the same on-disk cache as training (computed when missing) with the
    checkpoint's extractor and T; word features likewise, or the checkpoint's own vocabulary table.
    """
    pipeline = _as_pipeline(model, device)
    config = pipeline.config
    data = dataset.split(split)
    frames = load_frame_bank([c.path for c in data.clips], config.frame_features, config.num_frames, feature_cache,
                             extractor_factory=lambda: pipeline.frame_extractor, device=pipeline.device,
                             progress=progress, preprocessing=config.frame_preprocessing())
    if not data.pairs:
        raise PVSEError(f"split '{data.name}' has no clip-text pairs")
    queries, relevant = relevance_matrix(data)  # every listed clip and text: undecodable clips are scored, as misses
    if pipeline.word_spec.learned:  # the checkpoint's own word table: no frozen features to cache
        text_emb = torch.cat([pipeline.encode_text(queries[i:i + batch_size]).embeddings
                              for i in range(0, len(queries), batch_size)]).to(pipeline.device)
    else:
        bank = load_text_bank(queries, config.word_features, feature_cache, progress=progress)
        text_emb = embed_texts(pipeline.model, bank, queries, pipeline.device, batch_size)
    decoded = [i for i, c in enumerate(data.clips) if c.path in frames.rows]
    clip_emb = embed_clips(pipeline.model, frames, [data.clips[i].path for i in decoded], pipeline.device, batch_size)
    scores = torch.full((len(queries), data.num_clips), float("-inf"))
    scores[:, decoded] = text_video_scores(text_emb, clip_emb)
    undecodable = tuple((str(c.path), _reason(frames.failed[c.path], c.path)) for c in data.clips
                        if c.path not in frames.rows)
    metrics = retrieval_metrics(scores, relevant, data.name)
    return replace(metrics, undecodable=undecodable)


def _reason(message: str, path: Path) -> str:
    """A MediaError's reason without the path it starts with."""
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def evaluate_random(dataset: PairDataset, split: str = "test", trials: int = 10, seed: int = 0) -> RetrievalMetrics:
    """The chance row: random scores on the split's full relevance matrix (all listed clips, all texts: the
    same set `evaluate` scores, undecodable clips included)."""
    data = dataset.split(split)
    if not data.pairs:
        raise PVSEError(f"split '{data.name}' has no clip-text pairs")
    _, relevant = relevance_matrix(data)
    return random_baseline(relevant, trials=trials, seed=seed, split=data.name)


__all__ = ["evaluate", "evaluate_random", "split_metrics", "relevance_matrix", "embed_clips", "embed_texts",
           "text_video_scores", "usable_split"]
