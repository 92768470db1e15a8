"""What a gallery index is and the engines that keep it: each clip's record (`records`), the index kinds
(`kinds`), the metadata (`meta`), the faiss folder format (`store`), the backend contract (`backend`) and its
engines (`faiss_backend`, `milvus_backend`). Building one is `pvse.build`, searching one `pvse.search`.

The names below are imported on first use, so reading an index pays for no faiss until it needs it.
"""
from __future__ import annotations

from ..lazy_names import lazy_names

_WHERE = {
    "GalleryIndex": "store", "read_index": "store", "IndexMeta": "meta", "ClipRecord": "records",
    "INDEX_KINDS": "kinds", "TopClips": "ranking", "search_top_k": "faiss_search",
    "brute_force_top_k": "ranking", "GalleryBackend": "backend", "Gallery": "backend", "register_backend": "backend",
}
__all__ = list(_WHERE)

__getattr__, __dir__ = lazy_names(__name__, _WHERE, globals())
