"""Searching a gallery index by sentence: the `Searcher` (query heads, text heads, the one max over K x K scores
of eq. 6), the query's text (`query_text`), the clips' words (`clip_words`) and how each match is worded
(`readings`).

The names below are imported on first use, so `import pvse.search` pays for nothing until a search runs.
"""
from __future__ import annotations

import importlib

_WHERE = {"Searcher": "searcher", "HeadHits": "results", "SearchHit": "results", "SearchResult": "results"}
__all__ = list(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
