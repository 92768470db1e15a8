"""Exact ranking by max-over-K² (paper eq. 6), the same for every backend: score candidate clips, sort by score
then row, and the result type (`TopClips`) a backend's search returns."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..similarity import max_over_k2_scores

ROUNDING_SLACK = 1e-4  # float32 inner products of unit vectors agree to far better than this
SCORE_BLOCK = 65_536  # clips scored per block by brute force (bounded memory with memory-mapped embeddings)


@dataclass
class TopClips:
    """The ranked result of one query: best first."""

    rows: np.ndarray  # (k,) int64 clip rows
    scores: np.ndarray  # (k,) float32 max-over-K² similarity
    query_heads: np.ndarray  # (k,) int64 which query embedding gave the max
    clip_heads: np.ndarray  # (k,) int64 which clip embedding gave the max
    candidates: int  # clips re-scored exactly
    exact: bool  # provably equal to brute force


def rank(rows: np.ndarray, scores: np.ndarray, query_heads: np.ndarray, clip_heads: np.ndarray, top_k: int,
         candidates: int, exact: bool) -> TopClips:
    """Sort by score (desc), then row (asc), and keep the first top_k."""
    if len(scores) > 4 * top_k > 0:  # only clips scoring at least the k-th best can rank (ties included)
        kth = np.partition(scores, len(scores) - top_k)[len(scores) - top_k]
        keep = np.flatnonzero(scores >= kth)
        rows, scores, query_heads, clip_heads = rows[keep], scores[keep], query_heads[keep], clip_heads[keep]
    order = np.lexsort((rows, -scores.astype(np.float64)))[:top_k]
    return TopClips(rows[order].astype(np.int64), scores[order].astype(np.float32), query_heads[order].astype(np.int64),
                    clip_heads[order].astype(np.int64), candidates, exact)


def score_rows(query: torch.Tensor, embeddings: np.ndarray, rows: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exact max-over-K² scores of one query (Kq, H) against the clips `rows` (all when None)."""
    query = query.unsqueeze(0).float()
    if rows is None and embeddings.shape[0] == 0:
        rows = np.zeros(0, dtype=np.int64)
    if rows is not None:
        rows = np.asarray(rows, dtype=np.int64)
        out = max_over_k2_scores(query, _tensor(embeddings[rows]))
        return rows, out.scores[0].numpy(), out.query_head[0].numpy(), out.gallery_head[0].numpy()
    parts = [max_over_k2_scores(query, _tensor(embeddings[start:start + SCORE_BLOCK]))
             for start in range(0, embeddings.shape[0], SCORE_BLOCK)]
    return (np.arange(embeddings.shape[0]), *(torch.cat([getattr(p, name)[0] for p in parts]).numpy()
                                              for name in ("scores", "query_head", "gallery_head")))


def _tensor(block: np.ndarray) -> torch.Tensor:
    """A float32 CPU tensor over `block`, sharing memory when it is an ordinary array (copied from a memmap)."""
    block = np.ascontiguousarray(block, dtype=np.float32)
    return torch.from_numpy(block if block.flags.writeable else block.copy())


def brute_force_top_k(query: torch.Tensor, embeddings: np.ndarray, top_k: int) -> TopClips:
    """Score every clip (the reference the faiss path must equal); embeddings (M, K, H)."""
    rows, scores, qh, ch = score_rows(query, embeddings)
    return rank(rows, scores, qh, ch, top_k, len(rows), True)
