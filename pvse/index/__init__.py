"""What a gallery index is and the engines that keep it: each clip's record (`records`), the index kinds
(`kinds`), the metadata (`meta`), the faiss folder format (`store`), the backend contract (`backend`) and its
engines (`faiss_backend`, `milvus_backend`). Building one is `pvse.build`, searching one `pvse.search`.

The names below are imported on first use, so reading an index pays for no faiss until it needs it.
"""
from __future__ import annotations

import importlib

_WHERE = {
    "GalleryIndex": "store", "read_index": "store", "IndexMeta": "meta", "ClipRecord": "records",
    "INDEX_KINDS": "kinds", "TopClips": "ranking", "search_top_k": "faiss_search",
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
