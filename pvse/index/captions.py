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

`words_from_path` turns a clip's file and folder names into a caption ("eye-roll_2.gif" in "reactions/annoyed"
-> "eye roll (annoyed)"), for collections whose names are their only words.
"""
from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
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


# Folder names that say where files are stored, not what they show.
_STORAGE = """src source assets asset static public images image imgs img gifs gif media files file data
downloads download pictures picture pics pic photos videos video reaction reactions clips clip collection
collections misc other others new old tmp temp"""
STORAGE_WORDS = frozenset(_STORAGE.split())
# File-name words that cameras, screenshots, converters and download buttons add.
_DEVICE = """img image dsc dscn pic vid mov gif gifs screenshot screen shot untitled copy final tmp download downloaded
unnamed giphy tenor output export animation anim clip video file"""
DEVICE_WORDS = frozenset(_DEVICE.split())
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SPLIT = re.compile(r"[\s\-_.+,;:()\[\]{}\"!?#@&=~`]+")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_TRAILING_NUMBER = re.compile(r"(?<=[^\W\d_])\d+$")  # "eesh2" -> "eesh", "different4" -> "different"
_HEX = re.compile(r"^[0-9a-f]{8,}$")  # a hash or an id ("3f9c2a1b..."), not a word
_CONSONANTS = re.compile(r"[bcdfghjklmnpqrstvwxz]{6,}")  # "xkcdqzrt": a random id, not a word
_VOWEL = re.compile(r"[aeiouy]")


def split_words(text: str) -> list[str]:
    """Lower-case words of a file or folder name: split on - _ . spaces and punctuation and at camelCase
    boundaries ("slowClap" -> slow clap, "HTTPError" -> http error). Apostrophes inside a word stay ("don't"); a
    number glued to the end of a word is dropped ("eesh2" -> eesh); tokens that are numbers, ids or hashes ("0042",
    "1080p", "3f9c2a1b") are dropped."""
    words = []
    for part in _SPLIT.split(text.translate(_APOSTROPHES)):
        for word in _CAMEL.split(part):
            word = _TRAILING_NUMBER.sub("", word.strip("'")).lower()
            if word and not any(ch.isdigit() for ch in word) and not _HEX.match(word) and not _CONSONANTS.search(
                    word) and (_VOWEL.search(word) or len(word) <= 4):
                words.append(word)
    return words


def words_from_path(path: str, known: Callable[[str], bool] | None = None) -> str | None:
    """A caption made of a clip's relative path: the file name's words (extension dropped), then the folder names'
    words, nearest folder first, in parentheses ("reactions/annoyed/eye-roll_2.gif" -> "eye roll (annoyed)").

    Folders that name storage ("src", "assets", "gifs", ...) and camera or download words in file names ("IMG",
    "DSC", "download", "giphy") add nothing. known(word): whether a folder word is a word at all; folders are
    often named after a person or a project ("skyzyx/"), which says nothing about a clip, so a folder word it
    does not know is left out (a file name's words are the owner's own and always kept). None when no word is
    left, or only single letters (`IMG_0042.gif`, `download (3).gif`, a hash, `a.gif`): such a clip gets no name
    head."""
    pure = PurePosixPath(path)
    stem = [w for w in split_words(pure.name[: -len(pure.suffix)] if pure.suffix else pure.name) if w not in DEVICE_WORDS]
    folders = [w for part in reversed(pure.parts[:-1]) for w in split_words(part)
               if w not in STORAGE_WORDS and (known is None or known(w))]
    folders = list(dict.fromkeys(w for w in folders if w not in stem))
    if not any(len(w) > 1 for w in stem + folders):  # "a.gif", "x_1.gif": letters, not words
        return None
    if not stem:
        return " ".join(folders)
    return " ".join(stem) + (f" ({' '.join(folders)})" if folders else "")
