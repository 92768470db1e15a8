"""Gallery index (faiss + metadata on disk) and sentence search over it."""
from .build import BuildReport, build_index
from .faiss_search import INDEX_KINDS, TopClips, brute_force_top_k, search_top_k
from .searcher import HeadHits, Searcher, SearchHit, SearchResult
from .store import GalleryIndex, read_index

__all__ = ["Searcher", "HeadHits", "SearchHit", "SearchResult", "build_index", "BuildReport", "GalleryIndex", "read_index",
           "INDEX_KINDS", "TopClips", "search_top_k", "brute_force_top_k"]
