"""Turn whatever a user typed into a query the sentence encoder can read, with a note for each change.

- empty / whitespace-only (including zero-width and control characters) -> QueryError with a friendly hint;
- bytes that are not UTF-8 (a shell argument's, kept by Python as lone surrogates) -> left out, with a note;
- absurdly long text -> cut at MAX_QUERY_CHARS on a word boundary (the encoder reads at most a few dozen
  words anyway);
- emoji and other pictographs -> their Unicode names as words ("😂" -> "face with tears of joy"), since the
  word vectors only know words; skin-tone modifiers, joiners, variation selectors and flags are dropped.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ..errors import QueryError

MAX_QUERY_CHARS = 2000
# lone surrogates: the bytes of a command-line argument that were not UTF-8 (Python's surrogateescape), or
# unpaired UTF-16 halves sent by a browser; no encoder can read them
_SURROGATES = re.compile("[\ud800-\udfff]")
EXAMPLE = '"my reaction when the code compiles on the first try"'


# How reaction queries start ("my reaction when ...", "mrw ...", "me when ..."): the genre, not the situation.
REACTION_OPENERS = ("my reaction when", "my face when", "me when", "mrw", "mfw", "tfw", "that feeling when", "when")
_OPENER = re.compile(r"^\s*(?:" + "|".join(re.escape(o) for o in REACTION_OPENERS) + r")\b[\s,:-]*", re.IGNORECASE)


def without_opener(text: str) -> str:
    """The query without its reaction-GIF opener ("my reaction when I am so happy" -> "I am so happy"): what the
    sentence model compares with a clip's own words, which never say "my reaction when". All of it if nothing
    would be left."""
    rest = _OPENER.sub("", text, count=1)
    return rest if rest.strip() else text


@dataclass
class PreparedQuery:
    text: str
    notes: list[str] = field(default_factory=list)


def prepare_query(text: object) -> PreparedQuery:
    """Validate and normalise a query string (see module doc)."""
    if not isinstance(text, str):
        raise QueryError(f"the query must be text, got {type(text).__name__}")
    if all(unicodedata.category(ch)[0] in "CZ" for ch in text):  # surrogates (bytes that were not UTF-8) are Cs
        raise QueryError(f"the query is empty: type a few words describing the reaction, e.g. {EXAMPLE}")
    notes: list[str] = []
    text, dropped = _SURROGATES.subn("", text)
    if dropped:
        notes.append(f"Left out {dropped} byte(s) that are not UTF-8 text.")
    text = " ".join(text.split())
    if len(text) > MAX_QUERY_CHARS:
        cut = text.rfind(" ", 0, MAX_QUERY_CHARS + 1)
        text = text[: cut if cut > MAX_QUERY_CHARS // 2 else MAX_QUERY_CHARS]
        notes.append(f"The query was very long; only its first {len(text)} characters were used.")
    words, named = _emoji_as_words(text)
    if named:
        shown = ", ".join(f"{e} = '{n}'" for e, n in list(named.items())[:5])
        notes.append(f"Emoji were read as words: {shown}.")
    return PreparedQuery(words, notes)


def _emoji_as_words(text: str) -> tuple[str, dict[str, str]]:
    out: list[str] = []
    named: dict[str, str] = {}
    for ch in text:
        category = unicodedata.category(ch)
        if category == "So" and not 0x1F1E6 <= ord(ch) <= 0x1F1FF:  # pictographs; regional-indicator letters dropped
            name = unicodedata.name(ch, "").lower()
            if name:
                named.setdefault(ch, name)
                out.append(f" {name} ")
                continue
        if category in ("So", "Sk", "Mn", "Cf") and not ch.isalnum():
            if category == "Mn" and unicodedata.combining(ch) and not _is_emoji_modifier(ch):
                out.append(ch)  # accents and other combining marks belong to the word
            else:
                out.append(" ")
            continue
        out.append(ch)
    return " ".join("".join(out).split()), named


def _is_emoji_modifier(ch: str) -> bool:
    return ch in "\ufe0e\ufe0f\u20e3" or 0xE0020 <= ord(ch) <= 0xE007F
