"""Frozen word features: sentences -> one vector per token, padded into a batch (the paper's word embedding slot).

PVSE (Sec. 3.2) feeds pretrained word vectors (300-d GloVe in the paper) to the sentence encoder's GRU and
attention. This module is the protocol every word-feature model implements and its front door; the models
register themselves in `registry` (static GloVe vectors in `glove`, contextual MiniLM states in `minilm`; a
learned table inside the model in `vocab`). Every string gives at least one token: when nothing is left, a
"<empty>" placeholder with a zero vector (known=False), so lengths >= 1 always.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

PLACEHOLDER = "<empty>"


@dataclass
class WordBatch:
    features: torch.Tensor      # (B, L, D) float32 on CPU, zero beyond each length; L = max(lengths)
    lengths: torch.Tensor       # (B,) int64, each >= 1
    tokens: list[list[str]]     # display tokens per sentence, len == lengths[b]
    known: list[list[bool]]     # whether each token had a real vector (False: OOV, [UNK], placeholder)


@runtime_checkable
class WordFeatures(Protocol):
    """A frozen text -> per-token features encoder; deterministic, no gradients."""

    name: str
    dim: int
    max_tokens: int

    def encode(self, texts: list[str]) -> WordBatch: ...

    def knows(self, word: str) -> bool:
        """Whether `word` (one whitespace-separated word of a query) is a word the model reads as such."""
        ...


def check_texts(texts: Sequence[str]) -> list[str]:
    """The texts as a list, or TypeError when it is a bare string or holds a non-string."""
    if isinstance(texts, str):
        raise TypeError("encode takes a list of texts, not a single str")
    texts = list(texts)
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"texts must be str, got {type(text).__name__}")
    return texts


def pad_batch(rows: list[tuple[list[str], torch.Tensor, list[bool]]], dim: int) -> WordBatch:
    """Per-sentence (tokens, (n, dim) vectors, known) -> a zero-padded WordBatch; empty rows get the placeholder.

    The features are ordinary tensors (made outside inference mode), so a trainable model can use them.
    """
    fixed = [(toks, vecs, known) if toks else ([PLACEHOLDER], torch.zeros(1, dim), [False])
             for toks, vecs, known in rows]
    lengths = torch.tensor([len(toks) for toks, _, _ in fixed], dtype=torch.int64)
    width = int(lengths.max()) if len(fixed) else 1
    with torch.inference_mode(False):
        features = torch.zeros(len(fixed), width, dim, dtype=torch.float32)
        for b, (_, vecs, _) in enumerate(fixed):
            features[b, : len(vecs)] = vecs.detach().to("cpu", torch.float32)
    return WordBatch(features, lengths, [toks for toks, _, _ in fixed], [known for _, _, known in fixed])
