"""What a search must answer. A backend's top-k (faiss, Milvus, brute force) equals an independent brute-force
max-over-K² over the whole gallery; two searchers over the same gallery (one backend against another, or a rebuild
against a fresh build) answer every query alike: the same clips in the same order, the same scores, names, frames
and attention."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pvse.similarity import max_over_k2_scores

QUERIES = ["my reaction when i cannot stop laughing", "so sad and crying", "a big happy grin", "monster"]


def unit(*shape, seed):
    """A seeded random tensor of `shape`, each last-axis vector L2-normalised."""
    return F.normalize(torch.randn(*shape, generator=torch.Generator().manual_seed(seed)), dim=-1)


def reference(query, gallery, top_k, ids=None):
    """Independent brute force: score every clip of `gallery` (M, K, H) against `query` (K, H) with
    max_over_k2_scores, sort by (-score, clip id). `ids`: the clip id of each row (default: the row itself).
    Returns the top_k's (clip ids, scores, (query head, clip head) pairs)."""
    out = max_over_k2_scores(query[None], torch.as_tensor(gallery))
    scores = out.scores[0].tolist()
    ids = list(range(len(scores))) if ids is None else list(ids)
    order = sorted(range(len(scores)), key=lambda r: (-scores[r], ids[r]))[:top_k]
    return ([ids[r] for r in order], [scores[r] for r in order],
            [(int(out.query_head[0, r]), int(out.gallery_head[0, r])) for r in order])


def assert_same(top, ref):
    """A backend's top-k (rows, scores, query_heads, clip_heads) is `reference`'s answer."""
    rows, scores, heads = ref
    assert top.rows.tolist() == rows
    np.testing.assert_allclose(top.scores, scores, atol=1e-6)
    assert list(zip(top.query_heads.tolist(), top.clip_heads.tolist())) == heads


def assert_same_answers(got_searcher, want_searcher, queries=QUERIES):
    for query in queries:
        got, want = got_searcher.search(query, top_k=5), want_searcher.search(query, top_k=5)
        assert [h.path for h in got.hits] == [h.path for h in want.hits]
        for a, b in zip(got.hits, want.hits):
            assert a.score == pytest.approx(b.score, abs=1e-6)
            assert (a.name, a.caption, a.metadata, a.frame_indices) == (b.name, b.caption, b.metadata, b.frame_indices)
            assert (a.matched_by, a.abs_path) == (b.matched_by, b.abs_path)
            # the matched head pair: the same one, or another pair tied with it at the max (float32 summation order
            # may break an exact tie either way)
            if (a.query_head, a.clip_head) != (b.query_head, b.clip_head):
                assert a.head_similarities[a.query_head, a.clip_head] == pytest.approx(b.score, abs=1e-6)
            np.testing.assert_allclose(a.frame_attention, b.frame_attention, atol=1e-7)
            np.testing.assert_allclose(a.head_similarities, b.head_similarities, atol=1e-6)
