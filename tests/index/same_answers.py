"""Two searchers over the same gallery (one backend against another, or a rebuild against a fresh build) must answer
every query alike: the same clips in the same order, the same scores, names, frames and attention."""
from __future__ import annotations

import numpy as np
import pytest

QUERIES = ["my reaction when i cannot stop laughing", "so sad and crying", "a big happy grin", "monster"]


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
