"""Where a gallery index lives: a faiss directory (the embedded default) or a vector database named by a URI.

An engine is one module listed in ENGINES with three functions:

- `claims(location: str) -> bool`: whether the location names this engine (e.g. `milvus://...`);
- `open_index(location: str)`: an object the Searcher reads like a `store.GalleryIndex` (meta, clips[row],
  embeddings[row], attention[row], frame_indices[row], num_clips, fingerprint, gallery_root, directory,
  weights_ref()) plus `top_k(query, top_k) -> TopClips`, which replaces the faiss search;
- `build_index(location, gallery_dir, ...)`: `build.build_index`'s work into that engine, same arguments.

Anything not claimed (and every `Path`) is a faiss index directory. Engines import their client library
only when used, so faiss-only installs never need it.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from .store import GalleryIndex, read_index

ENGINES = ("pvse.index.milvus_backend",)


def engine_for(location: str | Path | None) -> ModuleType | None:
    """The engine module that claims `location`, or None for a faiss index directory."""
    if not isinstance(location, str):
        return None
    for name in ENGINES:
        module = importlib.import_module(name)
        if module.claims(location):
            return module
    return None


def open_index(location: str | Path):
    """A loaded index: `read_index` (faiss vectors left on disk) for a directory, else the engine's index."""
    engine = engine_for(location)
    if engine is not None:
        return engine.open_index(location)
    return read_index(location, load_vectors=False)


def is_faiss(index) -> bool:
    """True for an on-disk faiss index (searched by `faiss_search`), False for an engine's index (`index.top_k`)."""
    return isinstance(index, GalleryIndex)
