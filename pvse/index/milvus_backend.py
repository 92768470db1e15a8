"""The gallery index in Milvus: Milvus Lite on a local file, or a Milvus standalone / distributed server.

Locations (what `pvse index --out`, `pvse search --index`, `Searcher.load` and `python -m demo --index` take):

    milvus:///abs/path/gifs.db     a Milvus Lite database (a folder Milvus Lite creates) at an absolute path
    milvus://gifs.db               the same, relative to the current directory
    http://host:19530              a Milvus server or cluster (https:// for TLS); its token (user:password or
                                   an API key) comes from $PVSE_MILVUS_TOKEN, never from the URI
    ...?collection=NAME&db=DB      the gallery's name (default pvse_gallery) and the Milvus database to use

Layout in the database: see `milvus_store` (a meta row per gallery, a collection of (clip, head) rows per build).

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

import os
from pathlib import Path
from typing import Any

from .backend import BuiltGallery, Target, register_backend
from .kinds import KINDS as FAISS_KINDS
from .milvus_index import MilvusIndex, open_index
from .milvus_store import KINDS, MilvusStore, claims, parse_location
from .milvus_write import write_gallery


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
            write_gallery(store, built, previous)
        finally:
            store.close()


BACKEND = register_backend(MilvusBackend())
