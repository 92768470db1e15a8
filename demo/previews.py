"""What a results page shows for each allow-listed clip: its small animated preview (`pvse.media.previews`).

Results and the heads' rows show previews (H.264, at most 240 px, made the first time a clip is shown and kept
beside the index); open, download and copy link still give the original through the app's `/gif/` route. Only
files on the allow-list (`demo.serving.served_files`) get a preview: any other path is handed back unchanged, for
the caller's own checks to refuse. A preview is named after the hash of the clip's bytes as they are now, so a clip
changed on disk gets a new preview. They go out like the originals did: as Gradio's cached copies
(`demo.serving.cached_copy`), never by a path the browser names.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Lock

from pvse.clip_features import content_hash
from pvse.media.previews import PreviewCache, preview_dir

log = logging.getLogger("demo")
PREVIEWS_ENV = "PVSE_DEMO_PREVIEWS"  # "0": show the original files, as before previews


class Previews:
    """Allow-listed original path -> the file the page shows for it (its preview, else the original)."""

    def __init__(self, served: dict[int, Path], location: str | Path | None, workers: int = 2,
                 keep: Iterable[str] | None = None) -> None:
        """keep: the content hashes of the index's clips; previews of any other clip (gone, or changed since) are
        deleted now."""
        self.allowed = {str(path) for path in served.values()}
        self.enabled = location is not None and os.environ.get(PREVIEWS_ENV, "1") != "0"
        self.cache = PreviewCache(preview_dir(location)) if self.enabled else None
        self.folder = preview_dir(location) if self.enabled else None  # where the previews shown are kept
        if self.cache is not None and keep is not None:
            self.cache.prune(set(keep))
        self.workers = workers
        self._hashes: dict[str, tuple[int, int, str]] = {}  # path -> (mtime_ns, size, content hash)
        self._lock = Lock()

    def _hash(self, path: str) -> str:
        stat = os.stat(path)
        with self._lock:
            known = self._hashes.get(path)
        if known is not None and known[:2] == (stat.st_mtime_ns, stat.st_size):
            return known[2]
        digest = content_hash(path)
        with self._lock:
            self._hashes[path] = (stat.st_mtime_ns, stat.st_size, digest)
        return digest

    def _one(self, path: str) -> str:
        if self.cache is None or path not in self.allowed:
            return path
        try:
            preview = self.cache.get(path, self._hash(path))
        except OSError as exc:
            log.warning("no preview for %s (%s): the original is shown", path, exc)
            return path
        return str(preview) if preview is not None else path

    def shown(self, paths: list[str]) -> list[str]:
        """The file to show for each of `paths`, previews made side by side where missing."""
        if self.cache is None or len(paths) < 2:
            return [self._one(p) for p in paths]
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="preview") as pool:
            return list(pool.map(self._one, paths))
