"""The Milvus side of a gallery: where it lives (`parse_location`), the rows it keeps (`ClipData`) and
`MilvusStore`, the one door to a Milvus server or Milvus Lite file (every call named, every failure one line).

Layout in the database:

- `pvse_galleries`: one row per gallery, name -> the index meta (what `index.json` holds for a faiss index:
  weights reference and fingerprint, model config, gallery root, counts, last build) and, in
  meta["vectors"]["collection"], the collection that holds the gallery's vectors now;
- `NAME__<build>`: one row per (clip, head): id = clip * K + head, clip, head, path, content_hash, info (JSON,
  on head 0 only: num_source_frames, name, caption, metadata, attention, frame_indices) and vec (H floats,
  L2-normalised, inner product).
"""
from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from ..errors import GalleryIndexError
from .kinds import KINDS as FAISS_KINDS
from .records import ClipRecord

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


def record_of(row: dict[str, Any]) -> ClipRecord:
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
        out[clip] = ClipData(clip, record_of(heads0[clip]), embeddings,
                             np.asarray(info.get("attention", []), dtype=np.float32),
                             np.asarray(info.get("frame_indices", []), dtype=np.int32), info.get("hub_score"))
    return out


# -- search ---------------------------------------------------------------------------------------------------
