"""Hub scores and the opt-in hub correction: a planted hub sinks, the ranking stays exact, w = 0 changes nothing,
and the shipped reference sentences are not benchmark queries."""
import numpy as np
import pytest
import torch

from pvse.errors import QueryError
from pvse.index.hubness import check_weight, corrected_top_k, hub_scores, reference_sentences
from pvse.index.ranking import brute_force_top_k


def unit(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x, dim=-1)


@pytest.fixture(scope="module")
def planted():
    """200 random clips (K=3, H=16) plus clip 7, a hub: one of its heads sits near the mean of all sentences."""
    gen = torch.Generator().manual_seed(0)
    center = unit(torch.randn(16, generator=gen))
    sentences = unit(center + 0.3 * torch.randn(260, 2, 16, generator=gen))  # queries share a common direction
    gallery = unit(torch.randn(200, 3, 16, generator=gen))
    gallery[7, 0] = center
    reference, queries = sentences[:200], sentences[200:]
    return gallery.numpy(), reference, queries


def test_a_planted_hub_gets_the_highest_hub_score_and_sinks(planted):
    gallery, reference, queries = planted
    hubs = hub_scores(reference, gallery)
    assert hubs.shape == (200,) and hubs.dtype == np.float32 and int(np.argmax(hubs)) == 7
    plain = [7 in brute_force_top_k(q, gallery, 5).rows for q in queries]
    fixed = [7 in corrected_top_k(lambda n, q=q: brute_force_top_k(q, gallery, n), hubs, 1.0, 5).rows
             for q in queries]
    assert sum(plain) >= 0.7 * len(queries)  # the hub is in most plain top 5s ...
    assert sum(fixed) <= 0.2 * len(queries)  # ... and in few once corrected


@pytest.mark.parametrize("weight", [0.25, 1.0, 3.0])
@pytest.mark.parametrize("top_k", [1, 5, 150, 200])
def test_corrected_ranking_equals_reranking_every_clip(planted, weight, top_k):
    gallery, reference, queries = planted
    hubs = hub_scores(reference, gallery)
    calls = []

    def search(n):
        calls.append(n)
        return brute_force_top_k(queries[0], gallery, n)

    got = corrected_top_k(search, hubs, weight, top_k)
    every = brute_force_top_k(queries[0], gallery, 200)
    corrected = every.scores.astype(np.float64) - weight * hubs[every.rows]
    order = np.lexsort((every.rows, -corrected))[:top_k]
    np.testing.assert_array_equal(got.rows, every.rows[order])
    np.testing.assert_array_equal(got.scores, every.scores[order])  # the plain max over K², not the corrected one
    np.testing.assert_array_equal(got.query_heads, every.query_heads[order])
    assert calls == sorted(set(calls))  # each further search asks for more clips, never the same again
    if top_k <= 5:  # a small top-k starts from a small candidate set, not the whole 200-clip gallery
        assert calls[0] <= 64 and calls[0] >= top_k


def test_zero_weight_is_the_plain_ranking(planted):
    gallery, reference, queries = planted
    hubs = hub_scores(reference, gallery)
    for q in queries[:10]:
        plain, zero = brute_force_top_k(q, gallery, 10), corrected_top_k(lambda n, q=q: brute_force_top_k(q, gallery, n),
                                                                         hubs, 0.0, 10)
        np.testing.assert_array_equal(plain.rows, zero.rows)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_a_bad_weight_is_a_query_error(bad):
    with pytest.raises(QueryError, match=">= 0"):
        check_weight(bad)


def test_reference_sentences_are_not_benchmark_queries():
    """The hub scores must not be fitted to the queries they are measured on: no near copy in words."""
    from tools.situations.pairs import BENCHMARK, leaking, read_benchmark
    sentences = list(reference_sentences())
    assert len(sentences) >= 200 and len(set(sentences)) == len(sentences)
    bench = [r["query"] for path in (BENCHMARK, BENCHMARK.parent / "fresh_queries.tsv") for r in read_benchmark(path)]
    assert not set(sentences) & set(bench)
    assert not [s for s, flag in zip(sentences, leaking(sentences, bench)) if flag]
