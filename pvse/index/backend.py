"""The gallery backend contract: what the build, the searcher and the CLI know of an engine that keeps an index.

An engine (faiss folders, Milvus, ...) is one module that implements `GalleryBackend` and registers it with
`register_backend` at import time; `backends` finds the built-in ones and plug-ins (entry-point group
`pvse_gif.backends`). Nothing outside an engine's module names the engine.

- `GalleryBackend`: claims a location, opens a `Gallery` there, offers its index kinds (its own table), and writes
  a `BuiltGallery`, the last step of the one build pipeline (`pvse.build.build_index`: plan -> encode -> read text -> write).
- `Gallery`: an opened index as the searcher reads it: its `IndexMeta`, per-row records and arrays
  (`clips[row]`, `embeddings[row]`, `attention[row]`, `frame_indices[row]`), the exact max-over-K² `top_k` search
  (paper eq. 6), its clips' paths and hub scores. Whatever a clip carries in its `ClipRecord` (name, caption,
  metadata, and any field added later) is kept whole by every backend (`ClipRecord.to_dict` / `from_dict`).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from ..registry import Registry
from .meta import IndexMeta
from .records import ClipRecord, StoredClip

if TYPE_CHECKING:
    import torch

    from .kinds import IndexKind
    from .ranking import TopClips


@runtime_checkable
class Gallery(Protocol):
    """An opened gallery index (rows: clip ids, not necessarily 0..M-1)."""

    meta: IndexMeta
    directory: Any  # where it is, as the user named it (in messages)
    clips: Any  # clips[row] -> ClipRecord
    embeddings: Any  # embeddings[row] -> (K, H) float32
    attention: Any  # attention[row] -> (K_att, T) float32
    frame_indices: Any  # frame_indices[row] -> (T,) int

    @property
    def num_clips(self) -> int: ...

    @property
    def gallery_root(self) -> Path: ...

    @property
    def fingerprint(self) -> str: ...

    @property
    def gif_heads(self) -> int: ...

    @property
    def text_heads(self) -> int: ...

    @property
    def hub_scores(self) -> np.ndarray | None:
        """(rows,) float32 hub scores indexed by row (`hubness`), or None when the index has none."""

    def weights_ref(self) -> str | None:
        """The weights that built it, as a usable reference."""

    def prepare_search(self, scan_below: int) -> None:
        """Get ready to answer queries (e.g. load vectors); an exact index holding fewer than `scan_below`
        vectors may be answered by scoring every clip."""

    def top_k(self, query: torch.Tensor, top_k: int) -> TopClips:
        """The top_k rows for one query's (Kq, H) embeddings by max-over-K² (exact for an exact kind)."""

    def clip_paths(self) -> Iterator[tuple[int, str]]:
        """(row, path relative to the gallery root) of every clip."""

    def records(self) -> Iterator[tuple[int, ClipRecord]]:
        """(row, record) of every clip, without its arrays (what a build reuses clips by)."""

    def stored(self, rows: Sequence[int]) -> dict[int, StoredClip]:
        """These rows' records and arrays (GIF and text heads), in one read where the engine allows."""

    def close(self) -> None:
        """Release what the gallery holds open (connections, files)."""


@dataclass
class BuiltGallery:
    """What a build hands its backend's writer: every clip in gallery order (a backend that updates in place
    compares the records with the ones it holds: a record that is equal has equal arrays)."""

    meta: IndexMeta
    records: list[ClipRecord]
    embeddings: np.ndarray  # (M, K, H) float32: GIF heads, then text heads
    attention: np.ndarray  # (M, K_att, T) float32
    frame_indices: np.ndarray  # (M, T) int32
    hub_scores: np.ndarray  # (M,) float32


@dataclass(frozen=True)
class Target:
    """Where a build writes: `location` as the backend resolved it, `text` for messages, `exclude` the paths inside
    the gallery folder that belong to the index (never indexed), `relative_to` the folder that paths in the meta
    are written relative to (None: absolute)."""

    location: Any
    text: str
    exclude: tuple[Path, ...] = ()
    relative_to: Path | None = None


class GalleryBackend(Protocol):
    """An engine that keeps gallery indexes; see the module doc."""

    name: str
    title: str  # in messages: "Milvus", "a faiss index folder"

    @property
    def kinds(self) -> Mapping[str, IndexKind]:
        """The index kinds it offers, by name."""

    def claims(self, location: str | Path) -> bool:
        """Whether `location` names an index of this engine."""

    def open(self, location: str | Path) -> Gallery:
        """The index at `location`; a missing or damaged one is a one-line GalleryIndexError."""

    def target(self, location: str | Path | None, gallery_root: Path) -> Target:
        """Resolve and check where a build of `gallery_root` writes, before any work (default: beside it)."""

    def existing_vectors(self, target: Target) -> dict[str, Any]:
        """The `vectors` entry (kind, user_params) of the index at the target, {} when none can be read."""

    def previous(self, target: Target) -> Gallery | None:
        """The index at the target to reuse clips from (None: there is none); PVSEError when unreadable."""

    def write(self, target: Target, built: BuiltGallery, previous: Gallery | None) -> None:
        """Store `built` at the target so that a reader sees the old index or the new one, never a mix."""


BACKENDS: Registry[GalleryBackend] = Registry("gallery backend")  # found by `backends.all_backends`
register_backend = BACKENDS.register  # each engine's module calls it on import
unregister_backend = BACKENDS.unregister
