"""Tokens back into the user's words: WordPiece pieces ("mr", "##w") and split punctuation ("can", "'", "t") are
joined into the words the user typed, and their attention is summed, so an explanation reads in words.

A token joins the previous word when it is a continuation piece (its word model's `continuation` prefix, "##" for
WordPiece) or when nothing but the token's own characters separates it from the previous token in the text (no
space): "can't" -> can + ' + t, one word. Matching is done on the text as the tokenizers see it (NFKC, lower case,
accents stripped), so it needs no tokenizer. The word model's special tokens ([CLS], <start>, ...) and the empty
placeholder belong to no word; its unknown token stands for the run of text up to the next space. Every one of
these facts is read from the model's `WordFeaturesSpec`.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from .specs import WordFeaturesSpec
from .tokenize import normalise
from .words import PLACEHOLDER


@dataclass(frozen=True)
class Word:
    text: str  # the word as typed (lower case)
    tokens: tuple[int, ...]  # indices of the tokens it is made of


def _fold(text: str) -> str:
    """What an uncased WordPiece tokenizer compares: NFKC, lower case, ASCII quotes, no accents."""
    decomposed = unicodedata.normalize("NFD", normalise(text))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def group_tokens(tokens: list[str], text: str, spec: WordFeaturesSpec) -> list[Word]:
    """The words of `text` that `tokens` (the word model `spec` describes, in order) spell; see the module doc."""
    special = {PLACEHOLDER, *spec.special_tokens} - {spec.unknown_token}
    prefix = spec.continuation
    folded = _fold(text)
    words: list[list] = []  # [start, end, token indices]; start -1 when the token was not found in the text
    pos = 0
    for i, token in enumerate(tokens):
        if token in special:
            continue
        continuation = bool(prefix) and token.startswith(prefix) and len(token) > len(prefix)
        body = _fold(token[len(prefix):] if continuation else token)
        if token == spec.unknown_token:  # a run the tokenizer could not read: up to the next space
            found = len(folded) - len(folded[pos:].lstrip())
            end = found
            while end < len(folded) and not folded[end].isspace():
                end += 1
        else:
            found = folded.find(body, pos) if body else -1
            end = found + len(body)
        if found < 0:  # not in the text (should not happen): joined when a continuation, else a word of its own
            if continuation and words:
                words[-1][2].append(i)
            else:
                words.append([-1, -1, [i]])
            continue
        gap = folded[pos:found]
        if words and words[-1][0] >= 0 and (continuation or not any(ch.isspace() for ch in gap)):
            words[-1][1] = end
            words[-1][2].append(i)
        else:
            words.append([found, end, [i]])
        pos = end
    out = []
    for start, end, indices in words:
        text_of = folded[start:end] if start >= 0 else "".join(
            tokens[j].removeprefix(prefix) if prefix else tokens[j] for j in indices)
        out.append(Word(text_of, tuple(indices)))
    return out


def word_attention(attention: np.ndarray, words: list[Word]) -> np.ndarray:
    """(K, L) attention over tokens -> (K, W) over words, each word's tokens summed (special tokens dropped)."""
    attention = np.asarray(attention, dtype=np.float32)
    out = np.zeros((attention.shape[0], len(words)), dtype=np.float32)
    for w, word in enumerate(words):
        out[:, w] = attention[:, list(word.tokens)].sum(axis=1)
    return out
