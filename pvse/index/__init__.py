"""Gallery index (faiss + metadata on disk) and sentence search over it.

The names below are imported on first use, so `pvse search` (which needs the searcher) does not pay for the
index builder's imports (frame CNN, media decoders) nor faiss when the index is scanned exhaustively.
"""
from __future__ import annotations

import importlib

_WHERE = {
    "Searcher": "searcher", "HeadHits": "searcher", "SearchHit": "searcher", "SearchResult": "searcher",
    "build_index": "build", "BuildReport": "build", "GalleryIndex": "store", "read_index": "store", "IndexMeta": "meta",
    "INDEX_KINDS": "faiss_search", "TopClips": "ranking", "search_top_k": "faiss_search",
    "brute_force_top_k": "ranking", "GalleryBackend": "backend", "Gallery": "backend", "register_backend": "backend",
}
__all__ = list(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
