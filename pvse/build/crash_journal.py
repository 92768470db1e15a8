"""Which files a build was decoding or encoding when it died, so that one file that kills the process never costs
the collection.

A build keeps a small journal beside its index (`.NAME.journal.json`; for a remote Milvus target under
~/.cache/pvse-gif/journals): its identity (`build_marker`: pid, start time, boot id) and the files in flight now,
i.e. being decoded or in the frame CNN's current batch, rewritten atomically as that changes. A build that ends,
well or with an error, empties it. The next build finds a journal whose build is gone with files in flight: that
build was killed (a segfault in a decoder, the CNN, the out-of-memory killer). It cannot tell which of the files
in flight did it, so it skips all of them, each listed in `report.failed` with the reason, and remembers them
here (path and content hash) so that later builds skip them too, until the file changes or
`pvse index --retry-failed`. A retry encodes those files first, one at a time and alone in flight, so when the
build dies again the journal names the one file that did it; those tried before it are not skipped again.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..atomic_file import atomic_file
from ..index import build_marker
from ..index.backend import Target

VERSION = 1
RETRY = "`pvse index --retry-failed` tries it again"


@dataclass
class Crashed:
    """A file skipped because a build died while it was in flight: its content hash then, and whether it was alone
    in flight (then it is the file that did it)."""

    content_hash: str
    alone: bool
    others: int = 0  # how many other files were in flight with it

    @property
    def reason(self) -> str:
        if self.alone:
            return ("a build died while encoding this file alone: it crashes the decoder or the frame CNN; "
                    f"skipped, {RETRY}")
        with_others = f" with {self.others} other file{'s' if self.others != 1 else ''}" if self.others else ""
        return (f"a build died while decoding or encoding this file{with_others} (one of them may crash the "
                f"decoder or the frame CNN); skipped, {RETRY} alone")


def journal_path(target: Target) -> Path:
    """Where the journal of builds into `target` lives: beside the index folder or Milvus Lite file, else (a
    remote server) in the user's cache folder, named after the target."""
    if target.exclude:
        place = Path(os.path.abspath(target.exclude[0]))
        return place.parent / f".{place.name}.journal.json"
    key = hashlib.sha256(str(target.text).encode("utf-8")).hexdigest()[:16]
    return Path("~/.cache/pvse-gif/journals").expanduser() / f"{key}.json"


class CrashJournal:
    """The journal of one build (see the module doc). Thread-safe: decode threads report their files too."""

    def __init__(self, path: Path, crashed: dict[str, Crashed], hashes: dict[str, str]) -> None:
        self.path = path
        self.crashed = crashed  # path -> why it is skipped, carried from build to build
        self.hashes = hashes  # path -> content hash, of every file of this build
        self.in_flight: dict[str, int] = {}  # path -> how many steps hold it now
        self.alone = False  # whether files are being tried one at a time (a retry)
        self._build = build_marker.this_build().token()
        self._lock = threading.Lock()

    @classmethod
    def open(cls, target: Target, hashes: dict[str, str]) -> CrashJournal | None:
        """This build's journal, with the files a dead build left in flight added to the crashed ones (files gone
        or changed since are dropped). None when another build into the same target is running now (it keeps
        its journal) or the journal's folder cannot be written."""
        path = journal_path(target)
        old = _read(path)
        crashed: dict[str, Crashed] = {}
        for rel, entry in old.get("crashed", {}).items():
            if isinstance(entry, dict):
                crashed[rel] = Crashed(str(entry.get("hash", "")), bool(entry.get("alone")),
                                       int(entry.get("others", 0) or 0))
        flying = old.get("in_flight", {})
        if flying:
            build = build_marker.parse(str(old.get("build", "")))
            if build is not None and build.token() != build_marker.this_build().token() \
                    and build_marker.held(build, path):
                return None
            alone = bool(old.get("alone")) and len(flying) == 1
            for rel, content_hash in flying.items():
                crashed[rel] = Crashed(str(content_hash), alone, len(flying) - 1)
        crashed = {rel: c for rel, c in crashed.items() if hashes.get(rel) == c.content_hash}
        journal = cls(path, crashed, hashes)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            journal._write()
        except OSError:
            return None
        return journal

    def begin(self, paths: Iterable[str]) -> None:
        """These files (relative paths) are being decoded or encoded now."""
        with self._lock:
            for rel in paths:
                self.in_flight[rel] = self.in_flight.get(rel, 0) + 1
            self._write()

    def end(self, paths: Iterable[str]) -> None:
        """These files are done with (decoded, or through the CNN)."""
        with self._lock:
            for rel in paths:
                left = self.in_flight.pop(rel, 1) - 1
                if left > 0:
                    self.in_flight[rel] = left
            self._write()

    def clear(self, rel: str) -> None:
        """A crashed file was tried alone without the build dying: it is not skipped again."""
        with self._lock:
            self.crashed.pop(rel, None)
            self._write()

    def close(self) -> None:
        """The build ended (written, or stopped by an error it reported): nothing is in flight."""
        with self._lock:
            self.in_flight.clear()
            self.alone = False
            self._write()

    def _write(self) -> None:
        state = {"version": VERSION, "build": self._build if self.in_flight else None,
                 "alone": self.alone, "in_flight": {rel: self.hashes.get(rel, "") for rel in self.in_flight},
                 "crashed": {rel: {"hash": c.content_hash, "alone": c.alone, "others": c.others}
                             for rel, c in sorted(self.crashed.items())}}
        if not state["crashed"] and not state["in_flight"]:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            return
        with atomic_file(self.path, "w", encoding="utf-8") as fh:
            json.dump(state, fh)


def _read(path: Path) -> dict:
    """The journal's content; an absent or unreadable one is empty (it only ever makes a build skip files)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return {}
    for key, kind in (("crashed", dict), ("in_flight", dict)):
        if not isinstance(data.get(key, kind()), kind):
            data[key] = kind()
    return data
