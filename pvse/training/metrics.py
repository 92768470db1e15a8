"""Cross-modal retrieval metrics: R@1, R@5, R@10 (percent), median rank, MedR / N (paper Tables 1-3).

A query's rank is counted against a relevance matrix, so a text that several clips share (or a clip with
several texts) is handled in one rule: rank = 1 + the number of non-relevant candidates scoring at least
as high as the best-scoring relevant one. Ties count against the model, so a model that scores everything
equally cannot look good. With one relevant item per query this is the reference code's rank
(yalesong/pvse eval.py); MedR is floor(median(rank - 1)) + 1 as there.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

RECALL_AT = (1, 5, 10)


@dataclass(frozen=True)
class DirectionMetrics:
    """Metrics of one retrieval direction; recalls are percentages (0-100)."""

    r1: float
    r5: float
    r10: float
    medr: float  # median rank, 1 = first
    nmr: float  # MedR / num_candidates (the paper's normalised median rank)
    mean_rank: float
    num_queries: int
    num_candidates: int

    @property
    def rsum(self) -> float:
        return self.r1 + self.r5 + self.r10


@dataclass(frozen=True)
class RetrievalMetrics:
    """Both directions on one split: text->video (sentence queries a clip gallery) and video->text."""

    text_to_video: DirectionMetrics
    video_to_text: DirectionMetrics
    split: str = ""
    num_clips: int = 0
    num_texts: int = 0
    undecodable: tuple[tuple[str, str], ...] = ()  # (clip, reason): listed clips scored as misses


    @property
    def rsum(self) -> float:
        """Sum of the six recalls (percent, at most 600): the validation score used for model selection."""
        return self.text_to_video.rsum + self.video_to_text.rsum

    def to_dict(self) -> dict:
        out = asdict(self)
        out["rsum"] = self.rsum
        out["recall_unit"] = "percent"
        return out

    @classmethod
    def from_dict(cls, data: dict) -> RetrievalMetrics:
        return cls(DirectionMetrics(**data["text_to_video"]), DirectionMetrics(**data["video_to_text"]),
                   data.get("split", ""), data.get("num_clips", 0), data.get("num_texts", 0),
                   tuple(tuple(item) for item in data.get("undecodable", ())))

    def format_table(self) -> str:
        lines = [f"{'direction':<12} {'R@1 %':>7} {'R@5 %':>7} {'R@10 %':>7} {'MedR':>6} {'MedR/N':>7} {'queries':>8} {'N':>6}"]
        for label, m in (("text→video", self.text_to_video), ("video→text", self.video_to_text)):
            lines.append(f"{label:<12} {m.r1:7.2f} {m.r5:7.2f} {m.r10:7.2f} {m.medr:6.1f} {m.nmr:7.4f} "
                         f"{m.num_queries:8d} {m.num_candidates:6d}")
        lines.append(f"rsum (sum of the six recalls, max 600): {self.rsum:.2f}")
        if self.undecodable:
            lines.append(f"{len(self.undecodable)} of the {self.num_clips} clips could not be decoded; each counts as a "
                         "miss (ranked last for its texts, and last as a query):")
            lines += [f"  {clip}: {reason}" for clip, reason in self.undecodable]
        return "\n".join(lines)


def ranks_from_scores(scores: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
    """(Q, G) scores and bool relevance -> (Q,) 1-based ranks of each query's best relevant candidate.

    Queries without any relevant candidate get rank 0 (callers drop them).
    """
    if scores.shape != relevant.shape:
        raise ValueError(f"scores {tuple(scores.shape)} and relevance {tuple(relevant.shape)} differ in shape")
    best = scores.masked_fill(~relevant, float("-inf")).max(dim=1).values
    beaten = (scores >= best.unsqueeze(1)) & ~relevant
    ranks = beaten.sum(dim=1) + 1
    return torch.where(relevant.any(dim=1), ranks, torch.zeros_like(ranks))


def direction_metrics(ranks: torch.Tensor, num_candidates: int) -> DirectionMetrics:
    """Recall@K (percent), MedR, MedR / N and mean rank from 1-based ranks (zeros are dropped)."""
    ranks = ranks[ranks > 0].double()
    if ranks.numel() == 0:
        raise ValueError("no query has a relevant candidate")
    recalls = [100.0 * float((ranks <= k).double().mean()) for k in RECALL_AT]
    zero_based = ranks - 1
    medr = math.floor(float(zero_based.quantile(0.5))) + 1  # numpy median semantics, as the reference code
    return DirectionMetrics(*recalls, medr=float(medr), nmr=medr / num_candidates, mean_rank=float(ranks.mean()),
                            num_queries=int(ranks.numel()), num_candidates=num_candidates)


def retrieval_metrics(text_video_scores: torch.Tensor, relevant: torch.Tensor, split: str = "") -> RetrievalMetrics:
    """Both directions from one (U texts, N clips) score matrix and its relevance matrix."""
    scores = text_video_scores.float().cpu()
    relevant = relevant.cpu()
    t2v = direction_metrics(ranks_from_scores(scores, relevant), scores.size(1))
    v2t = direction_metrics(ranks_from_scores(scores.t(), relevant.t()), scores.size(0))
    return RetrievalMetrics(t2v, v2t, split, num_clips=scores.size(1), num_texts=scores.size(0))


def random_baseline(relevant: torch.Tensor, trials: int = 10, seed: int = 0, split: str = "") -> RetrievalMetrics:
    """The same metrics for uniformly random scores, averaged over `trials` seeded draws (a chance row)."""
    gen = torch.Generator().manual_seed(seed)
    runs = [retrieval_metrics(torch.rand(relevant.shape, generator=gen), relevant, split) for _ in range(trials)]

    def mean(direction: str) -> DirectionMetrics:
        items = [getattr(r, direction) for r in runs]
        values = {f: sum(getattr(m, f) for m in items) / len(items) for f in ("r1", "r5", "r10", "medr", "nmr", "mean_rank")}
        return DirectionMetrics(**values, num_queries=items[0].num_queries, num_candidates=items[0].num_candidates)

    return RetrievalMetrics(mean("text_to_video"), mean("video_to_text"), split, runs[0].num_clips, runs[0].num_texts)
