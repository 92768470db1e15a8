"""The gallery index in Milvus: Milvus Lite on a local file, or a Milvus standalone / distributed server.

Locations (what `pvse index --out`, `pvse search --index`, `Searcher.load` and `python -m demo --index` take):

    milvus:///abs/path/gifs.db     a Milvus Lite database (a folder Milvus Lite creates) at an absolute path
    milvus://gifs.db               the same, relative to the current directory
    http://host:19530              a Milvus server or cluster (https:// for TLS); its token (user:password or
                                   an API key) comes from $PVSE_MILVUS_TOKEN, never from the URI
    ...?collection=NAME&db=DB      the gallery's name (default pvse_gallery) and the Milvus database to use

Layout in the database:

- `pvse_galleries`: one row per gallery, name -> the index meta (what `index.json` holds for a faiss index:
  weights reference and fingerprint, model config, gallery root, counts, last build) and, in
  meta["vectors"]["collection"], the collection that holds the gallery's vectors now;
- `NAME__<build>`: one row per (clip, head): id = clip * K + head, clip, head, path, content_hash, info (JSON,
  on head 0 only: num_source_frames, name, caption, metadata, attention, frame_indices) and vec (H floats,
  L2-normalised, inner product).

Safety: a build whose weights, index kind, parameters or K differ from the current collection's writes a new
collection, switches the meta row to it in one upsert and only then drops the old one, so an interrupted build
leaves the previous gallery searchable and never a collection mixing two weights. A rerun with the same
weights updates the current collection in place: new, changed and renamed clips are upserted (clips are
re-encoded only when their content hash is new), removed ones deleted, the meta row written last.

Search (paper eq. 6): each query head i searches grouped by clip (`group_by_field="clip"`: the L clips with
the best max_j <q_i, c_j>); the candidates' K vectors are fetched and re-scored exactly with
`max_over_k2_scores`, as the faiss path does. With FLAT a clip no head returned scores at most
B = max_i b_i (b_i: the L-th best of head i), so once the k-th re-scored candidate beats B (+ rounding) no
unseen clip can enter or tie the top-k; otherwise L grows x4 until it does, until every head returned every
clip, or, past Milvus's limit of 16,384 groups, every vector is scanned. Ties go to the lower clip id, like
brute force. HNSW / IVF return the exactly re-scored best of their candidates (no bound holds for an
approximate search).
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import GalleryIndexError, PVSEError
from .backend import BuiltGallery, Target, register_backend
from .kinds import DEFAULT_KIND
from .kinds import KINDS as FAISS_KINDS
from .meta import FORMAT_NAME, IndexMeta, MetaView, newer_format
from .ranking import ROUNDING_SLACK, TopClips, rank, score_rows
from .records import ClipRecord, StoredClip, safe_relative_path

SCHEMES = ("milvus://", "http://", "https://")
DEFAULT_GALLERY = "pvse_gallery"
META_COLLECTION = "pvse_galleries"
TOKEN_ENV = "PVSE_MILVUS_TOKEN"
INSTALL_HINT = "pip install 'pvse-gif[milvus]'"
# The pvse index kinds Milvus offers (Milvus Lite: all but ivf-pq) -> their Milvus index type; the kinds'
# parameters (kinds.KINDS) go to Milvus under the names in PARAM_NAMES, plus the fixed FIXED_PARAMS.
KINDS = {"flat": "FLAT", "ivf": "IVF_FLAT", "ivf-sq8": "IVF_SQ8", "ivf-pq": "IVF_PQ", "hnsw": "HNSW"}
FIXED_PARAMS = {"ivf-pq": {"nbits": 8}}
PARAM_NAMES = {"nlist": "nlist", "nprobe": "nprobe", "pq_m": "m", "hnsw_m": "M", "ef_construction": "efConstruction",
               "ef_search": "ef"}
MAX_GROUPS = 16_384  # Milvus's largest search topk and query limit
WRITE_CLIPS = 256  # clips per insert / upsert request (K x H floats each)
CONNECT_TIMEOUT_S = 10.0
MAX_PATH_BYTES = 8192
ROW_CACHE = 4096  # clips whose vectors and metadata a MilvusIndex keeps for the Searcher (hits, frames)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,199}")
_LITE_USERS: dict[str, int] = {}  # open MilvusStores per Milvus Lite file in this process
_LITE_LOCK = threading.Lock()


@dataclass(frozen=True)
class MilvusLocation:
    """A parsed Milvus location: `uri` is what the client connects to, `text` what the user wrote."""

    text: str
    uri: str  # a Milvus Lite path ending in .db, or http(s)://host:port
    gallery: str
    db_name: str = ""

    @property
    def is_lite(self) -> bool:
        return not self.uri.startswith(("http://", "https://"))


@dataclass
class ClipData:
    """One clip as stored: its record, (K, H) embeddings, (K_att, T) frame attention and (T,) frame indices."""

    clip: int
    record: ClipRecord
    embeddings: np.ndarray
    attention: np.ndarray | None = None
    frame_indices: np.ndarray | None = None
    hub_score: float | None = None


def claims(location: str) -> bool:
    """True for the locations this engine handles: milvus://, http://, https://."""
    return isinstance(location, str) and location.lower().startswith(SCHEMES)


def parse_location(text: str) -> MilvusLocation:
    """Check and split a Milvus location (see the module doc); a bad one is a one-line GalleryIndexError."""
    if not claims(text):
        raise GalleryIndexError(f"{text!r} is not a Milvus location; use milvus://FILE.db or http(s)://HOST:PORT")
    scheme, _, rest = text.partition("://")
    scheme = scheme.lower()
    rest, _, query = rest.partition("?")
    params = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(params) - {"collection", "db"})
    if unknown:
        raise GalleryIndexError(f"{text}: unknown option(s) {', '.join(unknown)} (a Milvus location takes "
                                "?collection=NAME&db=DATABASE)")
    gallery = params.get("collection", [DEFAULT_GALLERY])[-1]
    db_name = params.get("db", [""])[-1]
    for what, name in (("collection", gallery), ("db", db_name)):
        if (name or what == "collection") and not _NAME.fullmatch(name):
            raise GalleryIndexError(f"{text}: {what} name {name!r} must be letters, digits and underscores, "
                                    "starting with a letter or underscore")
    if scheme == "milvus":
        if not rest:
            raise GalleryIndexError(f"{text}: no file; write milvus://gifs.db or milvus:///abs/path/gifs.db")
        path = os.path.abspath(Path(rest).expanduser())
        if not path.endswith(".db"):
            raise GalleryIndexError(f"{text}: a Milvus Lite database name ends in .db (e.g. milvus://gifs.db)")
        return MilvusLocation(text, path, gallery, db_name)
    parts = urlsplit(f"{scheme}://{rest}")
    if parts.username or parts.password:
        raise GalleryIndexError(f"{text}: put the Milvus token in ${TOKEN_ENV}, not in the URI")
    try:
        port = parts.port
    except ValueError:
        raise GalleryIndexError(f"{text}: the port is not a number in 1..65535") from None
    if not parts.hostname or parts.path not in ("", "/"):
        raise GalleryIndexError(f"{text}: expected {scheme}://HOST:PORT (e.g. {scheme}://localhost:19530)")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return MilvusLocation(text, f"{scheme}://{host}:{port or 19530}", gallery, db_name)


@contextmanager
def _errors(loc: MilvusLocation, doing: str, hint: str = "") -> Iterator[None]:
    """Turn a pymilvus failure into a one-line GalleryIndexError naming the location."""
    from pymilvus.exceptions import MilvusException
    try:
        yield
    except MilvusException as exc:
        detail = getattr(exc, "message", None) or str(exc)
        raise GalleryIndexError(f"Milvus at {loc.text}: {doing} failed: {detail}{hint}") from None


def _pymilvus():
    try:
        import pymilvus
    except ImportError:
        raise GalleryIndexError(f"Milvus indexes need the pymilvus and milvus-lite packages: {INSTALL_HINT}") from None
    # pymilvus logs every failed call with a traceback; our errors say what failed in one line
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    return pymilvus


class MilvusStore:
    """A connection to one gallery's collections (thin wrappers that turn Milvus errors into one line)."""

    def __init__(self, location: MilvusLocation | str, create: bool = False) -> None:
        self.loc = loc = parse_location(location) if isinstance(location, str) else location
        pymilvus = _pymilvus()
        if loc.is_lite:
            # the in-process Milvus Lite server logs a traceback for each call it does not implement (e.g. the
            # AllocTimestamp a query iterator asks first); pymilvus falls back and the call succeeds
            logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
            try:
                import milvus_lite  # noqa: F401  pymilvus runs it for a .db path
            except ImportError:
                raise GalleryIndexError(f"a local Milvus Lite file needs the milvus-lite package: {INSTALL_HINT}") from None
            if create:
                os.makedirs(os.path.dirname(loc.uri), exist_ok=True)
            elif not os.path.exists(loc.uri):
                raise GalleryIndexError(f"no Milvus Lite database at {loc.uri}. Build one with "
                                        f"`pvse index GIF_DIR --out {loc.text}`.")
        kwargs: dict[str, Any] = {"uri": loc.uri, "timeout": CONNECT_TIMEOUT_S}
        if os.environ.get(TOKEN_ENV) and not loc.is_lite:
            kwargs["token"] = os.environ[TOKEN_ENV]
        if loc.db_name:
            kwargs["db_name"] = loc.db_name
        hint = (" (a Milvus Lite database serves one process at a time: is another pvse or demo process using "
                "it? A Milvus server serves many)" if loc.is_lite else
                f" (is the server running and reachable? a token goes in ${TOKEN_ENV})")
        with _errors(loc, "connecting", hint):
            self.client = pymilvus.MilvusClient(**kwargs)
        if loc.is_lite:
            with _LITE_LOCK:
                _LITE_USERS[loc.uri] = _LITE_USERS.get(loc.uri, 0) + 1
        self._closed = False

    def close(self) -> None:
        """Close the connection; the last one to a Milvus Lite file in this process also stops its in-process
        server, so that another process (a demo, a search) can open the file."""
        if self._closed:
            return
        self._closed = True
        try:
            self.client.close()
        except Exception:  # noqa: BLE001  closing a dead connection: nothing left to do
            pass
        if self.loc.is_lite:
            with _LITE_LOCK:
                _LITE_USERS[self.loc.uri] -= 1
                last = _LITE_USERS[self.loc.uri] == 0
            if last:
                try:
                    from milvus_lite.server_manager import server_manager_instance
                    server_manager_instance.release_server(self.loc.uri)
                except (ImportError, AttributeError):
                    pass  # another milvus-lite: its server stops when this process exits

    def call(self, doing: str, method: str, *args, **kwargs):
        with _errors(self.loc, doing):
            return getattr(self.client, method)(*args, **kwargs)

    def has(self, collection: str) -> bool:
        return bool(self.call(f"looking up collection {collection}", "has_collection", collection))

    # -- the meta row ---------------------------------------------------------------------------------------
    def read_meta(self) -> dict[str, Any] | None:
        """The gallery's meta row, or None when the database holds no gallery of this name."""
        if not self.has(META_COLLECTION):
            return None
        self.call("loading the gallery list", "load_collection", META_COLLECTION)
        rows = self.call("reading the gallery list", "get", META_COLLECTION, ids=[self.loc.gallery],
                         output_fields=["meta"])
        return dict(rows[0]["meta"]) if rows else None

    def write_meta(self, meta: dict[str, Any]) -> None:
        """Upsert the gallery's meta row: the one write that switches searchers to a new build."""
        if not self.has(META_COLLECTION):
            from pymilvus import DataType
            schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False,
                                               description="pvse-gif galleries: name -> index meta")
            schema.add_field("name", DataType.VARCHAR, is_primary=True, max_length=256)
            schema.add_field("meta", DataType.JSON)
            schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field
            index = self.client.prepare_index_params()
            index.add_index("unused", index_type="FLAT", metric_type="L2")
            self.call("creating the gallery list", "create_collection", META_COLLECTION, schema=schema,
                      index_params=index)
        self.call("writing the gallery meta", "upsert", META_COLLECTION,
                  [{"name": self.loc.gallery, "meta": meta, "unused": [0.0, 0.0]}])
        self.call("writing the gallery meta", "flush", META_COLLECTION)

    # -- vector collections ---------------------------------------------------------------------------------
    def create_vectors(self, collection: str, dim: int, kind: str, params: dict[str, Any]) -> None:
        from pymilvus import DataType
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False,
                                           description="pvse-gif clip embeddings, one row per (clip, head)")
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("clip", DataType.INT64)
        schema.add_field("head", DataType.INT8)
        schema.add_field("path", DataType.VARCHAR, max_length=MAX_PATH_BYTES)
        schema.add_field("content_hash", DataType.VARCHAR, max_length=64)
        schema.add_field("info", DataType.JSON)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=int(dim))
        index = self.client.prepare_index_params()
        index.add_index("vec", index_type=KINDS[kind], metric_type="IP", params=_index_params(kind, params))
        self.call(f"creating collection {collection} ({KINDS[kind]} index)", "create_collection", collection,
                  schema=schema, index_params=index)
        self.call(f"loading collection {collection}", "load_collection", collection)

    def count(self, collection: str) -> int:
        rows = self.call(f"counting {collection}", "query", collection, filter="", output_fields=["count(*)"],
                         consistency_level="Strong")
        return int(rows[0]["count(*)"])

    def write(self, collection: str, clips: Sequence[ClipData], upsert: bool) -> None:
        rows = [row for data in clips for row in _rows(data)]
        self.call(f"writing to {collection}", "upsert" if upsert else "insert", collection, rows)

    def delete_clips(self, collection: str, clip_ids: Sequence[int]) -> None:
        for start in range(0, len(clip_ids), MAX_GROUPS):
            chunk = ", ".join(str(int(c)) for c in clip_ids[start:start + MAX_GROUPS])
            self.call(f"deleting from {collection}", "delete", collection, filter=f"clip in [{chunk}]")

    def fetch(self, collection: str, clip_ids: Sequence[int], num_embeds: int, with_info: bool = True
              ) -> dict[int, ClipData]:
        """The stored clips `clip_ids` (by primary key clip * K + head); missing clips are left out."""
        fields = ["clip", "head", "vec"] + (["path", "content_hash", "info"] if with_info else [])
        per_call = max(MAX_GROUPS // num_embeds, 1)
        out: dict[int, ClipData] = {}
        clip_ids = [int(c) for c in clip_ids]
        for start in range(0, len(clip_ids), per_call):
            ids = [c * num_embeds + h for c in clip_ids[start:start + per_call] for h in range(num_embeds)]
            rows = self.call(f"reading clips from {collection}", "get", collection, ids=ids, output_fields=fields)
            out.update(_assemble(rows, num_embeds, with_info))
        return out

    def iterate(self, collection: str, output_fields: list[str], filter: str = "", batch_size: int = 4096
                ) -> Iterator[list[dict[str, Any]]]:
        with _errors(self.loc, f"reading {collection}"):
            iterator = self.client.query_iterator(collection, batch_size=batch_size, filter=filter,
                                                  output_fields=output_fields)
            try:
                while batch := iterator.next():
                    yield batch
            finally:
                iterator.close()

    def search_heads(self, collection: str, queries: np.ndarray, groups: int, kind: str, params: dict[str, Any]
                     ) -> list[list[tuple[int, float]]]:
        """For each query vector, the `groups` best clips as (clip id, best inner product), best first."""
        search_params = {"metric_type": "IP", "params": _search_params(kind, params, groups)}
        result = self.call(f"searching {collection}", "search", collection, data=[q.tolist() for q in queries],
                           limit=int(groups), anns_field="vec", group_by_field="clip", output_fields=["clip"],
                           search_params=search_params)
        return [[(int(hit["entity"]["clip"]), float(hit["distance"])) for hit in hits] for hits in result]

    def drop(self, collection: str) -> None:
        self.call(f"dropping {collection}", "drop_collection", collection)

    def build_collections(self) -> list[str]:
        """This gallery's vector collections (current, previous or left by an interrupted build)."""
        prefix = f"{self.loc.gallery}__"
        return [c for c in self.call("listing collections", "list_collections") if c.startswith(prefix)]


def _milvus_params(kind: str, params: dict[str, Any], when: str) -> dict[str, Any]:
    """The kind's `when` ("build" / "search") parameters under their Milvus names (see kinds.KINDS)."""
    out = {PARAM_NAMES[p.name]: int(params[p.name]) for p in FAISS_KINDS[kind].params
           if p.when == when and p.name in PARAM_NAMES}
    return {**out, **FIXED_PARAMS.get(kind, {})} if when == "build" else out


def _index_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    return _milvus_params(kind, params, "build")


def _search_params(kind: str, params: dict[str, Any], groups: int) -> dict[str, Any]:
    out = _milvus_params(kind, params, "search")
    if "ef" in out:
        out["ef"] = max(out["ef"], int(groups))  # Milvus wants ef >= limit
    return out


def _rows(data: ClipData) -> list[dict[str, Any]]:
    """A clip's rows: one per head; head 0 carries its record (all but path and hash, which have columns), arrays
    and hub score in `info`."""
    k = data.embeddings.shape[0]
    rec = data.record
    info = {key: value for key, value in rec.to_dict().items() if key not in ("path", "content_hash")}
    info.update(attention=np.asarray(data.attention, dtype=np.float32).tolist(),
                frame_indices=np.asarray(data.frame_indices, dtype=np.int64).tolist())
    if data.hub_score is not None:
        info["hub_score"] = float(data.hub_score)
    return [{"id": data.clip * k + h, "clip": data.clip, "head": h, "path": rec.path,
             "content_hash": rec.content_hash, "info": info if h == 0 else {},
             "vec": np.ascontiguousarray(data.embeddings[h], dtype=np.float32)} for h in range(k)]


def _record(row: dict[str, Any]) -> ClipRecord:
    """The record a head-0 row stores (`_rows`)."""
    info = dict(row.get("info") or {})
    return ClipRecord.from_dict({"num_source_frames": 0, **info, "path": row["path"],
                                 "content_hash": row["content_hash"]})


def _assemble(rows: list[dict[str, Any]], num_embeds: int, with_info: bool) -> dict[int, ClipData]:
    vectors: dict[int, dict[int, Any]] = {}
    heads0: dict[int, dict[str, Any]] = {}
    for row in rows:
        vectors.setdefault(int(row["clip"]), {})[int(row["head"])] = row["vec"]
        if int(row["head"]) == 0:
            heads0[int(row["clip"])] = row
    out = {}
    for clip, heads in vectors.items():
        if len(heads) != num_embeds or clip not in heads0:
            continue  # a clip being rewritten by a build right now: left out rather than half-read
        embeddings = np.asarray([heads[h] for h in range(num_embeds)], dtype=np.float32)
        if not with_info:
            out[clip] = ClipData(clip, ClipRecord("", "", 0), embeddings)
            continue
        info = dict(heads0[clip].get("info") or {})
        out[clip] = ClipData(clip, _record(heads0[clip]), embeddings,
                             np.asarray(info.get("attention", []), dtype=np.float32),
                             np.asarray(info.get("frame_indices", []), dtype=np.int32), info.get("hub_score"))
    return out


# -- search ---------------------------------------------------------------------------------------------------
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
                yield int(row["clip"]), _record(row)

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
class MilvusBackend:
    """Galleries in Milvus (see the module doc for the locations, the layout and what is safe when)."""

    name = "milvus"
    title = "Milvus"

    @property
    def kinds(self) -> dict[str, Any]:
        return {name: FAISS_KINDS[name] for name in KINDS}

    def claims(self, location: str | Path | None) -> bool:
        return claims(location)

    def open(self, location: str) -> MilvusIndex:
        return open_index(location)

    def target(self, location: str, gallery_root: Path) -> Target:
        loc = parse_location(location)
        return Target(loc, loc.text, exclude=(Path(loc.uri),) if loc.is_lite else ())

    def existing_vectors(self, target: Target) -> dict[str, Any]:
        if target.location.is_lite and not os.path.exists(target.location.uri):
            return {}
        store = MilvusStore(target.location)
        try:
            meta = store.read_meta()
        finally:
            store.close()
        return dict(meta.get("vectors") or {}) if isinstance(meta, dict) else {}

    def previous(self, target: Target) -> MilvusIndex | None:
        if target.location.is_lite and not os.path.exists(target.location.uri):
            return None
        store = MilvusStore(target.location)
        try:
            found = store.read_meta() is not None
        finally:
            store.close()
        return open_index(target.location.text) if found else None

    def write(self, target: Target, built: BuiltGallery, previous: MilvusIndex | None) -> None:
        """Update the current collection in place when it holds the same kind of vectors, else write a new one and
        switch the meta row to it; the previous build's collection (and any orphan) is dropped after the switch."""
        store = MilvusStore(target.location, create=True)
        try:
            _write(store, built, previous)
        finally:
            store.close()


def _in_place(built: BuiltGallery, previous: MilvusIndex | None) -> bool:
    """Whether the build can update the current collection: same vector kind, parameters and heads."""
    if previous is None:
        return False
    old, new = previous.meta, built.meta
    return (old.kind, old.user_params, old.embeddings_per_clip, old.text_heads) == \
        (new.kind, new.user_params, new.embeddings_per_clip, new.text_heads)


def _write(store: MilvusStore, built: BuiltGallery, previous: MilvusIndex | None) -> None:
    loc, meta = store.loc, built.meta
    paths = [r.path for r in built.records]
    in_place = _in_place(built, previous)
    if in_place:
        target = previous.collection
        old = {record.path: (clip, record) for clip, record in previous.records()}
        next_id = max((clip for clip, _ in old.values()), default=-1) + 1
        ids, write = [], []
        for i, record in enumerate(built.records):
            if record.path in old:
                ids.append(old[record.path][0])
            else:
                ids.append(next_id)
                next_id += 1
            if record.path not in old or old[record.path][1] != record:
                write.append(i)
        removed = [clip for path, (clip, _) in old.items() if path not in set(paths)]
    else:
        target = f"{loc.gallery}__{datetime.now(UTC):%Y%m%dt%H%M%S}_{secrets.token_hex(3)}"
        ids, write, removed = list(range(len(paths))), list(range(len(paths))), []
        store.create_vectors(target, meta.embed_dim, meta.kind, meta.params)
    try:
        _write_clips(store, target, built, ids, write, upsert=in_place)
        if removed:
            store.delete_clips(target, removed)
        store.call(f"flushing {target}", "flush", target)
        expected = len(paths) * meta.embeddings_per_clip
        count = store.count(target)
        if count != expected:
            raise GalleryIndexError(f"Milvus at {loc.text}: {target} holds {count} vectors after the build, expected "
                                    f"{expected}; another build may be writing the same gallery")
        store.write_meta(_meta_row(meta, target))
    except BaseException:
        if not in_place:
            _drop_quietly(store, target)
        raise
    for collection in store.build_collections():  # the previous build, and any left by an interrupted one
        if collection != target:
            _drop_quietly(store, collection)


def _write_clips(store: MilvusStore, collection: str, built: BuiltGallery, ids: list[int], write: list[int],
                 upsert: bool) -> None:
    bar = tqdm(total=len(write), desc="writing to Milvus", unit="clip", disable=len(write) < 2000)
    for start in range(0, len(write), WRITE_CLIPS):
        chunk = write[start:start + WRITE_CLIPS]
        store.write(collection, [ClipData(ids[i], built.records[i], built.embeddings[i], built.attention[i],
                                          built.frame_indices[i], float(built.hub_scores[i])) for i in chunk],
                    upsert=upsert)
        bar.update(len(chunk))
    bar.close()


def _meta_row(meta: IndexMeta, collection: str) -> dict[str, Any]:
    """The gallery's meta row: the index meta with where its vectors are; failures listed up to 100."""
    meta.vectors.update(engine="milvus", collection=collection, index_type=KINDS[meta.kind],
                        id="clip * num_embeds + head")
    last = meta.last_build
    for key in ("failed", "skipped"):  # keep the meta row small: the report lists them all
        last[f"{key}_count"] = len(last[key])
        last[key] = last[key][:100]
    return meta.to_dict()


def _drop_quietly(store: MilvusStore, collection: str) -> None:
    try:
        store.drop(collection)
    except PVSEError:
        pass  # the next build drops it


BACKEND = register_backend(MilvusBackend())
