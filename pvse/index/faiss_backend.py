"""The default gallery backend: an index folder on disk (`store`: arrays, records, metadata and a faiss index of
the K*M vectors, `faiss_search` for its kinds and search), claimed for every location that is not a URI."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import GalleryIndexError
from ..limits import MAX_META_BYTES, read_json
from .backend import BuiltGallery, Target, register_backend
from .faiss_search import build_vector_index
from .kinds import KINDS, IndexKind
from .meta import META_FILE
from .store import GalleryIndex, read_index, recover_index, write_index


class FaissBackend:
    """Index folders (`pvse index GIF_DIR --out INDEX_DIR`); see `store` for the layout."""

    name = "faiss"
    title = "a faiss index folder"

    @property
    def kinds(self) -> Mapping[str, IndexKind]:
        return KINDS

    def claims(self, location: str | Path | None) -> bool:
        return not (isinstance(location, str) and "://" in location)

    def open(self, location: str | Path) -> GalleryIndex:
        return read_index(location, load_vectors=False)

    def target(self, location: str | Path | None, gallery_root: Path) -> Target:
        out_dir = Path(os.path.abspath(Path(location).expanduser() if location else
                                       gallery_root.with_name(gallery_root.name + ".index")))
        recover_index(out_dir)  # a build killed in the middle of its swap: its index comes back, reusable
        if out_dir == gallery_root:
            raise GalleryIndexError("the index cannot be written into the gallery folder itself; choose another --out")
        _check_writable(out_dir)
        return Target(out_dir, out_dir, exclude=(out_dir,), relative_to=out_dir)

    def existing_vectors(self, target: Target) -> dict[str, Any]:
        try:
            meta = read_json(target.location / META_FILE, MAX_META_BYTES)  # bounded: the index may be tampered with
            vectors = meta.get("vectors") if isinstance(meta, dict) else None
            return dict(vectors) if isinstance(vectors, dict) else {}
        except (OSError, ValueError):
            return {}

    def previous(self, target: Target) -> GalleryIndex | None:
        if not (target.location / META_FILE).is_file():
            return None
        return read_index(target.location, load_vectors=False)  # rows are reused; the faiss index is rebuilt

    def write(self, target: Target, built: BuiltGallery, previous: GalleryIndex | None) -> None:
        """Put the vectors into a faiss index of the meta's kind and write the folder atomically."""
        meta = built.meta
        vectors, _ = build_vector_index(built.embeddings.reshape(-1, built.embeddings.shape[-1]), meta.kind,
                                        meta.params)
        write_index(GalleryIndex(meta, built.records, built.embeddings, built.attention, built.frame_indices, vectors,
                                 hub_scores=built.hub_scores), target.location)


def _check_writable(out_dir: Path) -> None:
    """Refuse an --out that cannot be written (or is some other folder) before anything is decoded."""
    try:
        if out_dir.exists() and not (out_dir / META_FILE).is_file() and any(out_dir.iterdir()):
            raise GalleryIndexError(f"{out_dir} exists and is not a pvse-gif index; choose another --out or remove it")
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(prefix=f".{out_dir.name}.probe-", dir=out_dir.parent)
        os.rmdir(probe)
    except OSError as exc:
        raise GalleryIndexError(f"cannot write the index to {out_dir}: {exc.strerror or exc} "
                                f"({exc.filename or out_dir.parent}); choose another --out") from None


BACKEND = register_backend(FaissBackend())
