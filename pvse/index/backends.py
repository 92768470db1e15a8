"""Which gallery backends exist and which one a location names (the contract is `backend.GalleryBackend`).

The built-in engines are the modules in `BUILTIN_MODULES` (a faiss index folder, the default, and Milvus);
other packages add theirs through the `pvse_gif.backends` entry-point group (each entry point names a module that
calls `backend.register_backend` on import). Engines import their client library only when used, so faiss-only
installs never need Milvus's.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import GalleryIndexError
from ..registry import Catalog
from .backend import BACKENDS, Gallery, GalleryBackend
from .kinds import IndexKind

BUILTIN_MODULES = ("pvse.index.faiss_backend", "pvse.index.milvus_backend")
ENTRY_POINT_GROUP = "pvse_gif.backends"
_CATALOG = Catalog(BACKENDS, BUILTIN_MODULES, ENTRY_POINT_GROUP)


def all_backends() -> dict[str, GalleryBackend]:
    """Every registered backend by name: the built-in ones, the entry points' and any registered since."""
    return _CATALOG.all()


def backend_for(location: str | Path | None) -> GalleryBackend:
    """The backend that claims `location` (None: a build's default, a faiss folder beside the gallery)."""
    for backend in all_backends().values():
        if backend.claims(location):
            return backend
    raise GalleryIndexError(f"no gallery backend reads {location!r}")


def open_index(location: str | Path) -> Gallery:
    """The gallery index at `location`, opened by the backend that claims it."""
    return backend_for(location).open(location)


def offered_kinds() -> dict[str, IndexKind]:
    """Every index kind some backend offers, by name (for the CLI's choices and help)."""
    return {name: kind for backend in all_backends().values() for name, kind in backend.kinds.items()}
