"""Read a captions / metadata file that maps clip paths to a name, a caption and extra fields.

Accepted formats (chosen by extension):
- `.tsv` / `.csv` / `.txt` (tab or comma separated) with a header row: the path column is the first of
  `file`, `path`, `filename`, `gif`; `name` and `caption` (or `text`, `description`) columns fill those fields;
  every other column goes into `metadata`. The bundled gallery's `manifest.tsv`
  (`file name frames ... cldr_name keywords`) is read this way.
- `.json`: an object `{path: "caption"}` or `{path: {"name": ..., "caption": ..., ...}}`, or a list of objects
  with a path key as above.
- `.jsonl`: one such object per line.
Paths are relative to the gallery root (POSIX separators); a bare file name also matches a clip of that
name anywhere in the gallery when no other clip has it.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import GalleryIndexError

PATH_KEYS = ("file", "path", "filename", "gif")
CAPTION_KEYS = ("caption", "text", "description")


@dataclass
class CaptionEntry:
    name: str | None = None
    caption: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def read_captions(file: str | Path) -> dict[str, CaptionEntry]:
    """Parse `file` into {relative path: CaptionEntry}; a malformed file is a GalleryIndexError."""
    file = Path(file)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GalleryIndexError(f"cannot read the captions file {file}: {exc}") from exc
    suffix = file.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(text)
            rows = ([_entry_row(k, v) for k, v in data.items()] if isinstance(data, dict) else list(data))
        elif suffix == ".jsonl":
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            delimiter = "\t" if suffix == ".tsv" or ("\t" in text.split("\n", 1)[0]) else ","
            rows = list(csv.DictReader(text.splitlines(), delimiter=delimiter))
    except (json.JSONDecodeError, csv.Error, AttributeError, TypeError) as exc:
        raise GalleryIndexError(f"the captions file {file} is not valid {suffix.lstrip('.') or 'text'}: {exc}") from exc
    entries: dict[str, CaptionEntry] = {}
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise GalleryIndexError(f"{file}: entry {number} is not an object with a path and a caption")
        key = next((k for k in PATH_KEYS if row.get(k)), None)
        if key is None:
            raise GalleryIndexError(f"{file}: entry {number} has no path column (one of {', '.join(PATH_KEYS)})")
        path = str(row[key]).strip().replace("\\", "/")
        while path.startswith("./"):
            path = path[2:]
        caption_key = next((k for k in CAPTION_KEYS if k in row), None)
        metadata = {k: v for k, v in row.items() if k not in (key, "name", caption_key) and k is not None}
        entries[path] = CaptionEntry(_text(row.get("name")), _text(row.get(caption_key)) if caption_key else None,
                                     metadata)
    return entries


def _entry_row(path: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {"path": path, **value}
    return {"path": path, "caption": value}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def match_captions(entries: dict[str, CaptionEntry], paths: list[str]) -> dict[str, CaptionEntry]:
    """{clip path: entry} for the clips `entries` describes (exact relative path, else a unique file name)."""
    by_name: dict[str, list[str]] = {}
    for path in paths:
        by_name.setdefault(PurePosixPath(path).name, []).append(path)
    matched: dict[str, CaptionEntry] = {}
    for key, entry in entries.items():
        if key in by_name.get(PurePosixPath(key).name, ()):
            matched[key] = entry
        elif "/" not in key and len(by_name.get(key, ())) == 1:
            matched.setdefault(by_name[key][0], entry)
    return matched
