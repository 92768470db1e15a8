"""The words a gallery's clips carry in their own texts (name, caption, file name, text read from the frames).

A query word the sentence model does not know still means something to the person who typed it when a clip's
own text has it: "facepalm" for `multi-facepalm.gif`. `ClipWords` is that lookup, built once per gallery from
`CLIP_TEXTS`, the one list of per-clip texts: a new kind of stored text is one entry there.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ..index.captions import split_words
from ..index.records import ClipRecord


def _file_name(record: ClipRecord) -> str | None:
    pure = PurePosixPath(record.path)
    return pure.name[: -len(pure.suffix)] if pure.suffix else pure.name


def _read_text(record: ClipRecord) -> str | None:
    """The text read in the clip's frames (its lines joined), or None."""
    return record.read_text.text if record.read_text is not None else None


# (what the text is, in words for the page; how to get it from a clip's record): every text a query word may match.
CLIP_TEXTS: tuple[tuple[str, Callable[[ClipRecord], str | None]], ...] = (
    ("name", lambda record: record.name),
    ("caption", lambda record: record.caption),
    ("file name", _file_name),
    ("text", _read_text),
)


def words_of(text: str) -> list[str]:
    """The lower-case words of any text as the lookup compares them (accents kept, case and width folded)."""
    return split_words(unicodedata.normalize("NFKC", text).casefold())


def display_name(record: ClipRecord) -> str:
    """What a person calls the clip: its name, else its caption, else its file name without the extension."""
    for text in (record.name, record.caption):
        if text and text.strip():
            return " ".join(text.split())
    return _file_name(record) or record.path


@dataclass
class ClipWords:
    """word -> {row: the first of `CLIP_TEXTS` that has it}, over every clip of a gallery."""

    rows: dict[str, dict[int, str]] = field(default_factory=dict)
    texts: dict[int, list[str]] = field(default_factory=dict)  # row -> its texts, for example queries

    @classmethod
    def from_records(cls, records: Iterable[tuple[int, ClipRecord]]) -> ClipWords:
        lookup = cls()
        for row, record in records:
            for source, get in CLIP_TEXTS:
                text = get(record)
                if not text or not text.strip():
                    continue
                lookup.texts.setdefault(row, []).append(" ".join(text.split()))
                for word in words_of(text):
                    lookup.rows.setdefault(word, {}).setdefault(row, source)
        return lookup

    def knows(self, word: str) -> bool:
        """True when every part of `word` ("face-palm": face, palm) is a word of some clip's text."""
        parts = words_of(word)
        return bool(parts) and all(part in self.rows for part in parts)

    def matches(self, words: Iterable[str]) -> dict[int, list[tuple[str, str]]]:
        """Rows whose texts contain one of `words`, each with the (word, where) pairs it has; most words first."""
        found: dict[int, list[tuple[str, str]]] = {}
        for word in dict.fromkeys(words):
            parts = words_of(word)
            if not parts or not all(part in self.rows for part in parts):
                continue
            rows = set.intersection(*(set(self.rows[part]) for part in parts))
            for row in sorted(rows):
                found.setdefault(row, []).append((word, self.rows[parts[0]][row]))
        return dict(sorted(found.items(), key=lambda item: -len(item[1])))
