"""What an index holds for each clip besides its arrays, the same for every backend: `ClipRecord` (path, hash,
names, captions, read text) and `StoredClip` (a record with its embeddings, attention and frame indices)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from ..reading.types import ReadText


@dataclass
class ClipRecord:
    """What the index knows about one clip besides its arrays."""

    path: str  # POSIX path relative to the gallery root
    content_hash: str
    num_source_frames: int
    name: str | None = None
    caption: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    name_from_path: bool = False  # the name was made from the file and folder names (--names-as-captions)
    read_text: ReadText | None = None  # the text shown in its frames (`pvse.reading`); None: none read or found

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data: what every backend stores for the clip (a clips.jsonl line)."""
        row = {"path": self.path, "content_hash": self.content_hash, "num_source_frames": self.num_source_frames,
               "name": self.name, "caption": self.caption, "metadata": self.metadata}
        if self.name_from_path:
            row["name_from_path"] = True
        if self.read_text is not None and self.read_text.lines:
            row["read_text"] = self.read_text.to_dict()
        return row

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> ClipRecord:
        """The record `to_dict` wrote; a missing key or a wrong type raises KeyError / TypeError / ValueError."""
        return cls(str(row["path"]), str(row["content_hash"]), int(row["num_source_frames"]), row.get("name"),
                   row.get("caption"), dict(row.get("metadata") or {}), bool(row.get("name_from_path", False)),
                   read_text_of(row.get("read_text"), "a clip record"))

    def texts(self) -> dict[str, str]:
        """The clip's words by source (`text_layout.SOURCES`): read text, name, caption; empty ones left out."""
        read = self.read_text.text if self.read_text is not None else ""
        return {k: v for k, v in (("read text", read), ("name", self.name or ""), ("caption", self.caption or ""))
                if v}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


@dataclass
class StoredClip:
    """One clip as a backend keeps it: its record, (K, H) embeddings, (K_att, T) attention, (T,) frame indices."""

    record: ClipRecord
    embeddings: np.ndarray
    attention: np.ndarray
    frame_indices: np.ndarray


def safe_relative_path(path: str) -> bool:
    """True for a plain relative POSIX path that stays inside its root (no '..', not absolute, no NUL)."""
    if not path or "\x00" in path or "\\" in path:
        return False
    pure = PurePosixPath(path)
    return not pure.is_absolute() and ".." not in pure.parts and pure.parts[:1] != ("~",)


def read_text_of(data: Any, where: str) -> ReadText | None:
    """A stored clip's read text (`ReadText.to_dict`), or None when it has none; malformed: GalleryIndexError."""
    return None if data is None else ReadText.from_dict(data, where)
