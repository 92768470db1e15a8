"""A learned word-embedding table inside the model (the official PVSE release's layout): sentences -> word ids.

The reference code (yalesong/pvse) trains its own embedding of a fixed vocabulary instead of feeding frozen
word vectors; checkpoints converted from it carry the word list as `vocab.json`. Ids are looked up with the
same tokeniser as GloVe, framed by <start> ... <end>; words outside the list map to <unk>.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .specs import WordFeaturesSpec, register_word_features
from .tokenize import DEFAULT_MAX_TOKENS, tokenize
from .words import check_texts

NAME = "vocab-embedding"
SPECIALS = {"<pad>": 0, "<start>": 1, "<end>": 2, "<unk>": 3}  # the reference code's reserved rows


@dataclass
class WordIdBatch:
    ids: torch.Tensor         # (B, L) int64, zero beyond each length
    lengths: torch.Tensor     # (B,) int64, each >= 2 (<start>, <end>)
    tokens: list[list[str]]   # display tokens per sentence, <start> and <end> included
    known: list[list[bool]]   # whether each token is in the vocabulary


class VocabIds:
    """Maps sentences to row ids of a checkpoint's embedding table, given its word list."""

    name = NAME

    def __init__(self, vocab: Sequence[str], max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        self.index = {w: i for i, w in enumerate(vocab)}
        self.unk = self.index.get("<unk>", SPECIALS["<unk>"])
        self.max_tokens = max_tokens

    def encode(self, texts: list[str]) -> WordIdBatch:
        tokens = [["<start>", *tokenize(t, self.max_tokens), "<end>"] for t in check_texts(texts)]
        lengths = torch.tensor([len(t) for t in tokens])
        ids = torch.zeros(len(tokens), int(lengths.max()), dtype=torch.long)
        for row, toks in enumerate(tokens):
            ids[row, : len(toks)] = torch.tensor([self.index.get(w, self.unk) for w in toks])
        return WordIdBatch(ids, lengths, tokens, [[w in self.index for w in toks] for toks in tokens])


SPEC = register_word_features(WordFeaturesSpec(
    name=NAME, dim=None, max_tokens=DEFAULT_MAX_TOKENS, build=None,
    normalisation="NFKC, lowercased, GloVe/PTB-style tokens (pvse.features.tokenize) framed by <start> ... <end>",
    unknown_token="<unk>", special_tokens=tuple(SPECIALS), learned=True, carried=True, trainable=False,
    about="a learned embedding table of the checkpoint's own vocabulary (vocab.json), as in the official release"))
