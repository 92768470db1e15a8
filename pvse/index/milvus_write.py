"""Writing a built gallery into Milvus (`milvus_backend.MilvusBackend.write`): in place when the current
collection holds the same kind of vectors, else into a new collection switched to in one upsert of the meta row, the
previous one dropped only then (see `milvus_backend`)."""
from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from ..errors import GalleryIndexError, PVSEError
from .backend import BuiltGallery
from .meta import IndexMeta
from .milvus_store import KINDS, ClipData, MilvusStore

if TYPE_CHECKING:
    from .milvus_index import MilvusIndex

WRITE_CLIPS = 256  # clips per insert / upsert request (K x H floats each)


def _in_place(built: BuiltGallery, previous: MilvusIndex | None) -> bool:
    """Whether the build can update the current collection: same vector kind, parameters and heads."""
    if previous is None:
        return False
    old, new = previous.meta, built.meta
    return (old.kind, old.user_params, old.embeddings_per_clip, old.text_heads) == \
        (new.kind, new.user_params, new.embeddings_per_clip, new.text_heads)


def write_gallery(store: MilvusStore, built: BuiltGallery, previous: MilvusIndex | None) -> None:
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
