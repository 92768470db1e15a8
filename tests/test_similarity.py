import itertools

import pytest
import torch
import torch.nn.functional as F

from pvse.similarity import head_similarities, max_over_k2_scores, paired_max_over_k2


def brute_force(q, g):
    scores = torch.empty(q.size(0), g.size(0))
    heads = {}
    for a, b in itertools.product(range(q.size(0)), range(g.size(0))):
        best = None
        for i, j in itertools.product(range(q.size(1)), range(g.size(1))):
            s = float(q[a, i] @ g[b, j])
            if best is None or s > best[0]:
                best = (s, i, j)
        scores[a, b] = best[0]
        heads[a, b] = best[1:]
    return scores, heads


@pytest.mark.parametrize("kq,kg", [(1, 1), (3, 5), (5, 5), (1, 4)])
def test_max_over_k2_equals_brute_force(kq, kg):
    torch.manual_seed(kq * 10 + kg)
    q = F.normalize(torch.randn(4, kq, 16), dim=-1)
    g = F.normalize(torch.randn(9, kg, 16), dim=-1)
    out = max_over_k2_scores(q, g, chunk_size=4)  # several chunks
    expected, heads = brute_force(q, g)
    torch.testing.assert_close(out.scores, expected)
    for (a, b), (i, j) in heads.items():
        assert (int(out.query_head[a, b]), int(out.gallery_head[a, b])) == (i, j)
    torch.testing.assert_close(paired_max_over_k2(q, g[:4]), expected.diag())


def test_ties_pick_the_first_pair():
    q = F.normalize(torch.ones(1, 2, 4), dim=-1)
    g = F.normalize(torch.ones(1, 3, 4), dim=-1)
    out = max_over_k2_scores(q, g)
    assert (int(out.query_head[0, 0]), int(out.gallery_head[0, 0])) == (0, 0)
    assert head_similarities(q[0], g[0]).shape == (2, 3)


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match="equal H"):
        max_over_k2_scores(torch.zeros(1, 2, 3), torch.zeros(1, 2, 4))
