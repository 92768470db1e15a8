"""Top-k clips by max-over-K² similarity: faiss finds candidates, `max_over_k2_scores` scores them exactly.

All K*M clip vectors sit in one faiss inner-product index (vector id = row * K + head). A query's Kq vectors
are searched together; the hits are grouped by clip and the candidate clips are re-scored exactly with
s(q, c) = max_{i,j} <q_i, c_j> (paper eq. 6) from the stored embeddings.

With the exact (flat) index the result is provably the brute-force top-k: if each query head retrieved its
N' best vectors and the smallest of those scores is b_i, a clip none of whose vectors was retrieved scores at
most max_i b_i. When the k-th best re-scored candidate beats that bound (by more than float rounding), no
unseen clip can enter or tie the top-k; otherwise N' grows until it does, or until every vector is a
candidate. Approximate indexes (IVF, HNSW, optionally PQ / fp16 compressed) return the exactly re-scored
best of their candidates; their recall against exact search is measured in benchmarks/search_benchmark.py.
Ties are broken by row (lower first), as in brute force.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..errors import GalleryIndexError
from .kinds import KINDS, default_params, factory_string, index_kind
from .ranking import ROUNDING_SLACK, TopClips, brute_force_top_k, rank, score_rows

if TYPE_CHECKING:
    import faiss  # imported by the functions that build or search an index: a flat scan needs none

TRAIN_SAMPLE = 100_000  # at most this many vectors train IVF / PQ quantizers (faiss wants >= 39 per list)
# Exact (flat) indexes with fewer K*M vectors than this are answered by the exhaustive max_over_k2_scores scan
# instead of faiss IndexFlatIP + re-scoring: both give the same ranking, and with one query thread the scan
# measured 1.1-1.3x faster at 10k-1M clips (benchmarks/search_benchmark.py), and the faiss copy of the
# vectors then never has to be loaded (half the memory). A searcher made with exhaustive_below=0 uses faiss flat.
SCAN_BELOW_VECTORS = 2**62


def build_vector_index(vectors: np.ndarray, kind: str = "flat", params: dict[str, Any] | None = None,
                       seed: int = 0) -> tuple[faiss.Index, dict[str, Any]]:
    """Put (N, H) L2-normalised float32 vectors into a faiss inner-product index of `kind`; returns it and its params."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    resolved = default_params(kind, n, dim, params)
    index = faiss.index_factory(dim, factory_string(kind, resolved), faiss.METRIC_INNER_PRODUCT)
    _apply(index, kind, resolved, "build")
    if not index.is_trained:
        if n == 0:
            raise GalleryIndexError(f"a '{kind}' index needs vectors to train on; the gallery is empty")
        sample = vectors
        wanted = min(TRAIN_SAMPLE, max(64 * int(resolved.get("nlist", 1)), 16_384))
        if n > wanted:
            sample = vectors[np.sort(np.random.default_rng(seed).choice(n, wanted, replace=False))]
        index.train(sample)
    for start in range(0, n, 262_144):
        index.add(vectors[start:start + 262_144])
    configure_search(index, resolved)
    return index, resolved


def _apply(index: faiss.Index, kind: str, params: dict[str, Any], when: str) -> None:
    for param in index_kind(kind).params:
        if param.when == when and param.apply is not None and param.name in params:
            param.apply(index, int(params[param.name]))


def configure_search(index: faiss.Index, params: dict[str, Any], kind: str | None = None) -> None:
    """Apply the search-time knobs (nprobe, efSearch) stored in the index's params (of `kind`; when None, every
    kind's knobs that the params name)."""
    knobs = {p.name: p for k in ([kind] if kind else KINDS) for p in index_kind(k).params if p.when == "search"}
    for name, param in knobs.items():
        if name in params and param.apply is not None:
            param.apply(index, int(params[name]))


def search_top_k(query: torch.Tensor, embeddings: np.ndarray, index: faiss.Index, top_k: int, *,
                 exact: bool = True, candidates_per_head: int | None = None) -> TopClips:
    """Top-k clips of one query (Kq, H) among embeddings (M, K, H) whose vectors are in `index`.

    exact=True needs a flat index and returns exactly brute force's ranking (see module doc); otherwise the
    best `candidates_per_head` vectors of each query head are re-scored once.
    """
    num_clips, k_clip = embeddings.shape[:2]
    top_k = max(1, min(int(top_k), num_clips))
    if num_clips == 0:
        return rank(*(np.zeros(0, dtype=np.int64),) * 4, top_k=0, candidates=0, exact=True)
    total = index.ntotal
    queries = np.ascontiguousarray(query.float().numpy(), dtype=np.float32)
    n_prime = candidates_per_head or max(64, 4 * top_k * k_clip)
    while True:
        if exact and n_prime >= total:
            return brute_force_top_k(query, embeddings, top_k)
        sims, ids = index.search(queries, min(n_prime, total))
        found = ids >= 0
        rows = np.unique(ids[found] // k_clip)
        result = rank(*score_rows(query, embeddings, rows), top_k=top_k, candidates=len(rows), exact=exact)
        if not exact:
            return result
        # an unseen clip scores at most the weakest retrieved vector of the best head (+ rounding)
        full_lists = found.all(axis=1)
        bound = float(sims[full_lists, -1].max()) if full_lists.any() else -math.inf
        if len(result.rows) >= top_k and float(result.scores[-1]) > bound + ROUNDING_SLACK:
            return result
        n_prime *= 4
