"""Searching a gallery index by sentence: the `Searcher` (query heads, text heads, the one max over K x K scores
of eq. 6), the query's text (`query_text`), the clips' words (`clip_words`) and how each match is worded
(`readings`).

The names below are imported on first use, so `import pvse.search` pays for nothing until a search runs.
"""
from __future__ import annotations

from ..lazy_names import lazy_names

_WHERE = {"Searcher": "searcher", "HeadHits": "results", "SearchHit": "results", "SearchResult": "results"}
__all__ = list(_WHERE)

__getattr__, __dir__ = lazy_names(__name__, _WHERE, globals())
