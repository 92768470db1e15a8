"""A gallery in Milvus opened for search (`MilvusIndex`, the `backend.Gallery` contract): each query head searched
grouped by clip, the candidates re-scored exactly (`search_top_k`, see `milvus_backend` for why the bound holds),
records and arrays fetched on demand and kept in a small cache."""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import GalleryIndexError
from .kinds import DEFAULT_KIND
from .kinds import KINDS as FAISS_KINDS
from .meta import FORMAT_NAME, IndexMeta, MetaView, newer_format
from .milvus_store import MAX_GROUPS, ROW_CACHE, ClipData, MilvusStore, record_of
from .ranking import ROUNDING_SLACK, TopClips, rank, score_rows
from .records import ClipRecord, StoredClip, safe_relative_path


def search_top_k(store: MilvusStore, collection: str, query: torch.Tensor, top_k: int, *, num_clips: int,
                 num_embeds: int, kind: str = DEFAULT_KIND, params: dict[str, Any] | None = None,
                 max_groups: int = MAX_GROUPS) -> TopClips:
    """Top-k clip ids of one query (Kq, H) by max-over-K² (see the module doc); exact for kind "flat"."""
    params = params or {}
    exact = FAISS_KINDS[kind].exact
    top_k = max(1, min(int(top_k), num_clips))
    if num_clips == 0:
        return rank(*(np.zeros(0, dtype=np.int64),) * 4, top_k=0, candidates=0, exact=True)
    query = torch.as_tensor(query, dtype=torch.float32).cpu()
    queries = np.ascontiguousarray(query.numpy(), dtype=np.float32)
    groups = int(params.get("candidates_per_head") or max(16, 4 * top_k))
    while True:
        if groups > max_groups:
            if exact:
                return _scan_all(store, collection, query, top_k, num_embeds)
            groups = max_groups
        heads = store.search_heads(collection, queries, min(groups, num_clips), kind, params)
        candidates = np.unique(np.asarray([c for hits in heads for c, _ in hits], dtype=np.int64))
        fetched = store.fetch(collection, candidates, num_embeds, with_info=False)
        ids = np.asarray(sorted(fetched), dtype=np.int64)
        embeddings = (np.stack([fetched[c].embeddings for c in ids]) if len(ids)
                      else np.zeros((0, num_embeds, queries.shape[1]), np.float32))
        rows, scores, q_heads, c_heads = score_rows(query, embeddings)
        result = rank(ids[rows], scores, q_heads, c_heads, top_k=top_k, candidates=len(ids), exact=exact)
        if not exact or groups >= num_clips:
            return result
        # a clip no head returned scores at most the weakest returned score of a head that did not return all
        bound = max((hits[-1][1] if hits else np.inf) for hits in heads if len(hits) < num_clips) \
            if any(len(hits) < num_clips for hits in heads) else -np.inf
        if len(result.rows) >= top_k and float(result.scores[-1]) > bound + ROUNDING_SLACK:
            return result
        groups *= 4


def _scan_all(store: MilvusStore, collection: str, query: torch.Tensor, top_k: int, num_embeds: int) -> TopClips:
    """Exact top-k by reading every vector (the last resort of an exact search that needs over 16,384 groups)."""
    pending: dict[int, dict[int, Any]] = {}
    best = None
    for batch in store.iterate(collection, ["clip", "head", "vec"]):
        for row in batch:
            pending.setdefault(int(row["clip"]), {})[int(row["head"])] = row["vec"]
        done = np.asarray(sorted(c for c, heads in pending.items() if len(heads) == num_embeds), dtype=np.int64)
        if not len(done):
            continue
        complete = [pending.pop(int(c)) for c in done]
        block = np.asarray([[heads[h] for h in range(num_embeds)] for heads in complete], dtype=np.float32)
        rows, scores, q_heads, c_heads = score_rows(query, block)
        parts = [(done[rows], scores, q_heads, c_heads)]
        if best is not None:
            parts.append((best.rows, best.scores, best.query_heads, best.clip_heads))
        best = rank(*(np.concatenate(arrays) for arrays in zip(*parts)), top_k=top_k, candidates=0, exact=True)
    if best is None:
        return rank(*(np.zeros(0, dtype=np.int64),) * 4, top_k=0, candidates=0, exact=True)
    best.candidates = len(best.rows)
    return best


# -- the index the Searcher reads -------------------------------------------------------------------------------
class MilvusIndex(MetaView):
    """A gallery in Milvus, read by `Searcher` like a `store.GalleryIndex`: rows are clip ids, and the clips'
    records and arrays are fetched on demand (the search's hits in one request) and kept in a small cache."""

    def __init__(self, store: MilvusStore, meta: IndexMeta, collection: str, num_clips: int) -> None:
        self.store = store
        self.meta = meta
        self.collection = collection
        self.num_clips = num_clips
        self.directory = store.loc.text  # where the index is, as the user wrote it (used in messages)
        self._cache: OrderedDict[int, ClipData] = OrderedDict()
        self._hubs: np.ndarray | None = None
        self._lock = threading.Lock()
        self.clips = _Column(self, "record")
        self.embeddings = _Column(self, "embeddings")
        self.attention = _Column(self, "attention")
        self.frame_indices = _Column(self, "frame_indices")

    @property
    def gallery_root(self) -> Path:
        return Path(os.path.abspath(self.meta.gallery_root))

    @property
    def num_embeds(self) -> int:
        return self.meta.embeddings_per_clip

    def weights_ref(self) -> str | None:
        return self.meta.weights.ref

    def close(self) -> None:
        """Release the connection (and a Milvus Lite file, for other processes)."""
        self.store.close()

    def top_k(self, query: torch.Tensor, top_k: int) -> TopClips:
        result = search_top_k(self.store, self.collection, query, top_k, num_clips=self.num_clips,
                              num_embeds=self.num_embeds, kind=self.meta.kind, params=self.meta.params)
        self.prefetch(result.rows)
        return result

    def prepare_search(self, scan_below: int | None = None) -> None:
        """Nothing to load: Milvus searches, and the candidates are re-scored exactly."""

    def records(self) -> Iterator[tuple[int, ClipRecord]]:
        """(clip id, record) of every clip, read from the collection in batches."""
        for batch in self.store.iterate(self.collection, ["clip", "path", "content_hash", "info"], filter="head == 0"):
            for row in batch:
                yield int(row["clip"]), record_of(row)

    def stored(self, rows: Sequence[int]) -> dict[int, StoredClip]:
        fetched = self.store.fetch(self.collection, rows, self.num_embeds)
        return {clip: StoredClip(d.record, d.embeddings, d.attention, d.frame_indices) for clip, d in fetched.items()}

    @property
    def hub_scores(self) -> np.ndarray | None:
        """Hub scores by clip id (ids no clip has: the largest score, which no bound uses); None without them."""
        if self.meta.hub_scores is None:
            return None
        if self._hubs is None:
            found = {clip: data.hub_score for clip, data in self._all_info().items()}
            if not found or any(v is None for v in found.values()):
                return None
            hubs = np.full(max(found) + 1, max(found.values()), dtype=np.float32)
            hubs[list(found)] = list(found.values())
            self._hubs = hubs
        return self._hubs

    def _all_info(self) -> dict[int, ClipData]:
        out = {}
        for batch in self.store.iterate(self.collection, ["clip", "info"], filter="head == 0"):
            for row in batch:
                out[int(row["clip"])] = ClipData(int(row["clip"]), ClipRecord("", "", 0), np.zeros(0),
                                                 hub_score=(row.get("info") or {}).get("hub_score"))
        return out

    def clip_paths(self) -> Iterator[tuple[int, str]]:
        """(clip id, path) of every clip, read from the collection in batches."""
        for batch in self.store.iterate(self.collection, ["clip", "path"], filter="head == 0"):
            for row in batch:
                path = str(row["path"])
                if not safe_relative_path(path):
                    raise GalleryIndexError(f"clip path {path!r} in {self.directory} is not a relative path inside "
                                            "the gallery; the index was tampered with or damaged. Rebuild it.")
                yield int(row["clip"]), path

    def prefetch(self, clips: Sequence[int]) -> None:
        """Read these clips into the cache in one request (the Searcher then reads each hit from it)."""
        with self._lock:
            missing = [int(c) for c in clips if int(c) not in self._cache]
        if missing:
            fetched = self.store.fetch(self.collection, missing, self.num_embeds)
            with self._lock:
                for clip, data in fetched.items():
                    self._cache[clip] = data
                while len(self._cache) > ROW_CACHE:
                    self._cache.popitem(last=False)

    def row(self, clip: int) -> ClipData:
        clip = int(clip)
        with self._lock:
            data = self._cache.get(clip)
            if data is not None:
                self._cache.move_to_end(clip)
                return data
        self.prefetch([clip])
        with self._lock:
            data = self._cache.get(clip)
        if data is None:
            raise GalleryIndexError(f"clip {clip} is no longer in the gallery at {self.directory} "
                                    "(it was removed by a rerun of `pvse index`); search again")
        if not safe_relative_path(data.record.path):
            raise GalleryIndexError(f"clip path {data.record.path!r} in {self.directory} is not a relative path "
                                    "inside the gallery; the index was tampered with or damaged. Rebuild it.")
        return data


class _Column:
    """`index.clips[row]`, `index.embeddings[row]`, ... for a MilvusIndex (one field of the cached clip)."""

    def __init__(self, index: MilvusIndex, field: str) -> None:
        self._index, self._field = index, field

    def __getitem__(self, clip: int):
        return getattr(self._index.row(clip), self._field)

    def __len__(self) -> int:
        return self._index.num_clips

    def __iter__(self):
        raise TypeError("clip ids of a Milvus gallery are not 0..M-1: iterate with Searcher.clip_paths()")


def open_index(location: str) -> MilvusIndex:
    """Connect to a gallery in Milvus and check it; a missing or damaged one is a one-line GalleryIndexError."""
    store = MilvusStore(location)
    try:
        return _open(store)
    except BaseException:
        store.close()
        raise


def _open(store: MilvusStore) -> MilvusIndex:
    loc = store.loc
    meta = store.read_meta()
    if meta is None:
        raise GalleryIndexError(f"no pvse-gif gallery '{loc.gallery}' in Milvus at {loc.text}. Build one with "
                                f"`pvse index GIF_DIR --out {loc.text}`.")
    problem = _meta_problem(meta)
    if problem:
        raise GalleryIndexError(f"the gallery '{loc.gallery}' in Milvus at {loc.text} {problem}")
    collection = meta["vectors"]["collection"]
    if not store.has(collection):
        raise GalleryIndexError(f"the gallery '{loc.gallery}' in Milvus at {loc.text} is damaged (its collection "
                                f"{collection} is gone). Rebuild it with `pvse index GIF_DIR --out {loc.text}`.")
    store.call(f"loading collection {collection}", "load_collection", collection)
    try:
        typed = IndexMeta.from_dict(meta)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise GalleryIndexError(f"the gallery '{loc.gallery}' in Milvus at {loc.text} {DAMAGED}") from None
    num_embeds = typed.embeddings_per_clip
    rows = store.count(collection)
    if rows % num_embeds:
        raise GalleryIndexError(f"the gallery '{loc.gallery}' in Milvus at {loc.text} is damaged ({rows} vectors "
                                f"is not a multiple of K = {num_embeds}). Rebuild it with `pvse index GIF_DIR "
                                f"--out {loc.text} --rebuild`.")
    return MilvusIndex(store, typed, collection, rows // num_embeds)


DAMAGED = "is damaged (its meta row is not a pvse-gif index). Rebuild it with `pvse index GIF_DIR --out ...`."


def _meta_problem(meta: dict[str, Any]) -> str | None:
    if meta.get("format") != FORMAT_NAME or not isinstance(meta.get("vectors"), dict) \
            or "collection" not in meta["vectors"] or "weights" not in meta:
        return DAMAGED
    return newer_format(meta)




# -- the backend: the last step of a build ----------------------------------------------------------------------
