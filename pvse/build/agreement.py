"""How much a gallery's frame heads deserve: do they find the clips that its own words describe?

The shipped model learnt from cartoon emoji. On a gallery of its own domain its GIF heads find what a clip's name
says (names as queries, GIF heads alone: R@10 0.86 on the bundled emoji, chance 0.02); on film footage they are
near chance (0.13 against 0.08), and a frame head that wins the max there ranks a clip for nothing the user said.
Whether a gallery's clips show words says nothing about this; whether its frames agree with its words does.

`frame_agreement` measures it at index time, with no labels: each clip that has words (its name, else its
caption, else the text read in its frames) is a known-item query through the PVSE sentence encoder, scored
against every clip's GIF heads alone (max over K², eq. 6); R@10 of the clip itself against the chance rate
10 / M gives the lift (R@10 - chance) / (1 - chance). The frame weight is that lift over FULL_LIFT, clipped to
[MIN_WEIGHT, 1]: frames that find at least half of the described clips (above chance) keep their whole weight,
frames at chance almost none, and a gallery with too few clips with words to tell (MIN_PROBES) keeps the frames as trained.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..similarity import max_over_k2_scores

TOP = 10  # the probe's cut-off, R@10
FULL_LIFT = 0.5  # a lift at least this gives the frames their whole weight
MIN_WEIGHT = 0.05  # frames at chance still order the clips that have no words (below every clip that has)
MIN_PROBES = 20  # fewer clips with words than this: too little to judge, the frames keep their weight
MAX_PROBES = 2000  # larger galleries are probed with an evenly spread sample of their clips with words
CHUNK = 256


@dataclass(frozen=True)
class FrameAgreement:
    """The probe's outcome: how many clips it asked with, their R@10, the chance rate, and the frame weight."""

    probes: int
    recall: float  # R@10 of the clips found by their own words, GIF heads alone
    chance: float
    weight: float  # 0..1: how much the GIF heads count beside the words (`pvse.index.text_layout.TextLayout.frame_weight`)

    @property
    def lift(self) -> float:
        return lift(self.recall, self.chance)


def lift(recall: float, chance: float) -> float:
    """How far above chance a recall is, as a share of the way from chance to 1."""
    return (recall - chance) / (1.0 - chance) if chance < 1 else 0.0


def probe_texts(texts: list[dict[str, str]]) -> list[tuple[int, str]]:
    """(row, words) of every clip that has words: its name, else its caption, else its read text."""
    out = []
    for row, found in enumerate(texts):
        words = found.get("name") or found.get("caption") or found.get("read text")
        if words:
            out.append((row, words))
    return out


def frame_agreement(encode_text, gif: np.ndarray, texts: list[dict[str, str]]) -> FrameAgreement:
    """Probe how far the GIF heads (M, K, H) find the clips their own words describe (module doc).

    encode_text(list of str) -> (N, Kq, H) PVSE query heads (the pipeline's sentence encoder)."""
    m = gif.shape[0]
    probes = probe_texts(texts)
    chance = min(TOP, m) / m if m else 1.0
    if len(probes) < MIN_PROBES or m <= TOP:
        return FrameAgreement(len(probes), float("nan"), chance, 1.0)
    if len(probes) > MAX_PROBES:
        probes = [probes[int(i)] for i in np.linspace(0, len(probes) - 1, MAX_PROBES)]
    clips = torch.from_numpy(np.asarray(gif, np.float32))
    found = 0
    for start in range(0, len(probes), CHUNK):
        part = probes[start:start + CHUNK]
        queries = torch.as_tensor(encode_text([words for _, words in part]), dtype=torch.float32)
        scores = max_over_k2_scores(queries, clips).scores  # (n, M)
        own = scores[torch.arange(len(part)), torch.tensor([row for row, _ in part])]
        above = (scores > own[:, None]).sum(1)  # clips scored above the described one: its rank - 1
        found += int((above < TOP).sum())
    recall = found / len(probes)
    weight = float(np.clip(lift(recall, chance) / FULL_LIFT, MIN_WEIGHT, 1.0))
    return FrameAgreement(len(probes), recall, chance, round(weight, 4))
