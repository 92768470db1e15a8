"""Filler words: the function words and the "my reaction when" opener that carry no reading of a query on their own.

One list (`FILLER_WORDS`) for the whole project: query-time word attention skips these words (a head that reads
only "my, i, when" would otherwise find GIFs for nothing the user said), the explanations say when a head reads
only filler, and the real-GIF benchmark's text baselines drop them as stop words.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import regex

from .pieces import group_tokens
from .specs import WordFeaturesSpec

_FILLER = """
a an the my me i im i'm am is are was were be been being so when what reaction mrw mfw tfw mrwi of to in on at
for and or it its it's that this with just too not do does did out up could would should can will have has had
you your we our they their he she his her him them there then than if as but by from about like
"""
FILLER_WORDS = frozenset(_FILLER.split())
_EDGES = regex.compile(r"^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$")


def is_filler(word: str) -> bool:
    """Whether a word as typed ("When", "i'm", "my,") is filler: in `FILLER_WORDS` once cased down and trimmed of
    leading/trailing punctuation (curly apostrophes read as straight ones). Punctuation alone is not a word."""
    core = _EDGES.sub("", word.lower().replace("\u2019", "'"))
    return bool(core) and core in FILLER_WORDS


def filler_token_mask(tokens: Sequence[str], text: str, spec: WordFeaturesSpec) -> np.ndarray:
    """(L,) bool, True for the tokens that spell a filler word of `text` (pieces joined into words as
    `pieces.group_tokens` does with the word model's `spec`); special tokens and punctuation are never filler."""
    mask = np.zeros(len(tokens), dtype=bool)
    for word in group_tokens(list(tokens), text, spec):
        if is_filler(word.text):
            mask[list(word.tokens)] = True
    return mask


def filler_share(words: Sequence[str], words_attention: np.ndarray) -> np.ndarray:
    """(K,) share of each head's word attention that lies on filler words (0 when the query has no words)."""
    attention = np.asarray(words_attention, dtype=np.float32)
    if attention.ndim != 2 or attention.shape[1] == 0:
        return np.zeros(attention.shape[0] if attention.ndim == 2 else 0, dtype=np.float32)
    filler = np.array([is_filler(w) for w in words], dtype=bool)
    total = attention.sum(axis=1)
    return np.where(total > 0, attention[:, filler].sum(axis=1) / np.maximum(total, 1e-12), 0.0).astype(np.float32)
