"""The head-diversity benchmark's pure parts: head metrics, the seed summary and the random-ranking rates."""
import math

import numpy as np
import pytest
import torch

from benchmarks import head_diversity
from benchmarks.situations.score import random_situations


def test_copied_heads_have_cosine_one_and_are_never_distinct():
    one = torch.nn.functional.normalize(torch.randn(3, 1, 8), dim=-1)
    copies = one.expand(3, 4, 8).contiguous()
    clips = torch.nn.functional.normalize(torch.randn(5, 4, 8), dim=-1)
    attention = [np.full((4, 3), 1 / 3)] * 3
    result = head_diversity.head_metrics(copies, attention, clips)
    assert result["cosine"] == pytest.approx(1.0, abs=1e-4) and result["distinct"] == 0.0
    assert result["word_overlap"] == pytest.approx(1.0)


def test_orthogonal_heads_find_their_own_gifs():
    heads = torch.eye(4).unsqueeze(0)  # one query, head i along axis i
    clips = torch.eye(4).unsqueeze(1)  # clip i has one head, along axis i
    result = head_diversity.head_metrics(heads, [np.eye(4)], clips)
    assert result["cosine"] == 0.0 and result["distinct"] == 100.0 and result["word_overlap"] == 0.0


def test_summary_gives_mean_and_range_of_shared_numbers_only():
    runs = [{"heads": {"cosine": 0.6}, "fresh": {"top5": 30.0}, "weights": "a", "only_here": 1},
            {"heads": {"cosine": 0.7}, "fresh": {"top5": 50.0}, "weights": "b"}]
    summary = head_diversity.summarise(runs)
    assert set(summary) == {"heads.cosine", "fresh.top5"}
    assert summary["fresh.top5"] == {"mean": 40.0, "min": 30.0, "max": 50.0}
    assert summary["heads.cosine"]["mean"] == pytest.approx(0.65)


def test_random_ranking_rates_follow_the_number_of_acceptable_gifs(tmp_path):
    queries = tmp_path / "q.tsv"
    queries.write_text("topic\tquery\tacceptable\njoy\tyay\ta,b\nsad\tno\tc\n")
    chance = random_situations(10, queries)
    top5 = (1 - math.comb(8, 5) / math.comb(10, 5) + 0.5) / 2
    assert chance == {"top1": round(100 * (0.2 + 0.1) / 2, 1), "top5": round(100 * top5, 1)}


def test_a_filler_head_cannot_win_once_dropped():
    clips = torch.eye(3).unsqueeze(1)  # clip i along axis i
    heads = torch.stack([torch.eye(3)[0], torch.nn.functional.normalize(torch.tensor([0.1, 1.0, 0.0]), dim=0)])
    heads = heads.unsqueeze(0)  # head 1 finds clip 0 (score 1), head 2 clip 1 (0.995)
    shares = np.array([[0.9, 0.1]])  # head 1 reads filler
    assert head_diversity.filler_led(shares, heads, clips) == 100.0
    dropped, after = head_diversity.without_filler_heads(heads, shares)
    torch.testing.assert_close(dropped[0, 0], heads[0, 1])
    assert after.tolist() == [[0.1, 0.1]] and head_diversity.filler_led(after, dropped, clips) == 0.0
    kept, _ = head_diversity.without_filler_heads(heads, np.array([[0.9, 0.8]]))  # all heads read filler
    torch.testing.assert_close(kept, heads)


def test_closest_to_mean_weighs_each_number_by_the_seeds_spread():
    runs = [{"heads": {"cosine": c}, "heldout": {"rsum": r}} for c, r in ((0.60, 330.0), (0.62, 340.0), (0.70, 341.0))]
    summary = head_diversity.summarise(runs)
    assert head_diversity.closest_to_mean(runs, summary, ("heads.cosine", "heldout.rsum")) == 1
