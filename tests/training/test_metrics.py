import numpy as np
import pytest
import torch

from pvse.training.metrics import direction_metrics, random_baseline, ranks_from_scores, retrieval_metrics


def test_hand_computed_example():
    # 3 texts x 4 clips; text 1 describes clips 1 and 3 (a shared text)
    scores = torch.tensor([[0.9, 0.1, 0.95, 0.2],
                           [0.5, 0.3, 0.2, 0.4],
                           [0.1, 0.2, 0.8, 0.3]])
    relevant = torch.tensor([[1, 0, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0]], dtype=torch.bool)
    assert ranks_from_scores(scores, relevant).tolist() == [2, 2, 1]
    assert ranks_from_scores(scores.t(), relevant.t()).tolist() == [1, 1, 2, 1]
    m = retrieval_metrics(scores, relevant, "test")
    t2v, v2t = m.text_to_video, m.video_to_text
    assert (t2v.r1, t2v.r5, t2v.r10) == pytest.approx((100 / 3, 100, 100))
    assert (t2v.medr, t2v.nmr, t2v.mean_rank) == pytest.approx((2, 2 / 4, 5 / 3))
    assert (v2t.r1, v2t.medr, v2t.nmr) == pytest.approx((75, 1, 1 / 3))
    assert (t2v.num_queries, t2v.num_candidates, v2t.num_queries, v2t.num_candidates) == (3, 4, 4, 3)
    assert m.rsum == pytest.approx(100 / 3 + 200 + 75 + 200)
    assert m.to_dict()["recall_unit"] == "percent"
    assert "text→video" in m.format_table()


def test_ties_count_against_the_model_and_queries_without_positives_are_dropped():
    scores = torch.zeros(3, 5)
    relevant = torch.eye(3, 5, dtype=torch.bool)
    assert ranks_from_scores(scores, relevant).tolist() == [5, 5, 5]
    v2t = ranks_from_scores(scores.t(), relevant.t())
    assert v2t.tolist() == [3, 3, 3, 0, 0]
    assert direction_metrics(v2t, 3).num_queries == 3


def _reference_ranks(sim: np.ndarray) -> np.ndarray:
    """yalesong/pvse eval.py t2i: position of the true item in argsort(-scores), one positive per query."""
    return np.array([np.where(np.argsort(row)[::-1] == i)[0][0] for i, row in enumerate(sim)])


def test_matches_reference_code_with_one_positive_per_query():
    gen = torch.Generator().manual_seed(0)
    scores = torch.rand(37, 37, generator=gen)
    ref = _reference_ranks(scores.numpy())
    ours = ranks_from_scores(scores, torch.eye(37, dtype=torch.bool))
    assert (ours.numpy() - 1 == ref).all()
    m = direction_metrics(ours, 37)
    assert m.r1 == pytest.approx(100 * (ref < 1).mean()) and m.r10 == pytest.approx(100 * (ref < 10).mean())
    assert m.medr == np.floor(np.median(ref)) + 1


def test_random_baseline_is_near_chance_and_seeded():
    relevant = torch.eye(50, dtype=torch.bool)
    a = random_baseline(relevant, trials=40, seed=1)
    assert a == random_baseline(relevant, trials=40, seed=1)
    assert a.text_to_video.r1 == pytest.approx(2.0, abs=1.0)
    assert a.text_to_video.r10 == pytest.approx(20.0, abs=3.0)
    assert a.text_to_video.nmr == pytest.approx(0.5, abs=0.06)
