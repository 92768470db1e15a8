"""The query's readings in words, the same in the app, the CLI and `--json`.

A reading is one way the search reads the query, numbered from 1: readings 1..K are the K query heads (each
weighs the words its own way), and in an index with text heads reading K+1 is the sentence head, "your words as a
whole" (the sentence model reads the query, without its "my reaction when" opener, against each clip's own words:
the words it shows, its name, its caption). `SearchHit.reading` says which reading found a hit and
`SearchHit.matched_by` what of the clip it met ("GIF head 2", "its name", "the words it shows: “…”").

Pure functions of a search's rows (`Searcher.search(..., per_head_k=N)`), for every surface:
- `reading_label`: "Reading 2: mostly “laughing”, then “stop”" / "Reading 5: your words as a whole";
- `heads_summary`: one line: "Your words can be read 5 ways, which find 2 different best GIFs: readings 1 and 2
  (“can't”, “laughing”) find Joy cat; reading 5 (your words as a whole) finds Rofl by its name. …". Readings that
  find the same best GIF are named together; a reading whose words are all filler (`pvse.features.filler`) says so;
  a first result put first by a word only its own text has (`SearchHit.found_by`) is said first;
- `describe_match`: what a clip head is, in words; `cut`: a text cut to a width with "…".
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..features.filler import is_filler
from .query_text import without_opener

if TYPE_CHECKING:
    from .results import HeadHits, SearchHit

WHOLE = "your words as a whole"  # the sentence reading
SOURCE_WORDS = {"name": "its name", "caption": "its caption", "read text": "the words it shows", "text": "its text"}
SHOWN_TEXT = 60  # characters of a clip's text quoted in a one-line summary


def cut(text: str, width: int) -> str:
    """`text` on one line, at most `width` characters: cut at a word boundary when one is near, ending in "…"."""
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    space = text.rfind(" ", 0, width)
    return text[: space if space > width // 2 else width - 1].rstrip() + "…"


def describe_match(source: str | None, text: str | None, gif_head: int | None = None) -> str:
    """What a clip head is, in words: "GIF head j" (gif_head 0-based, said 1-based) when `source` is None, else
    which text of the clip it is: "its name", "its caption", "the words it shows: “…”" (the read text, quoted)."""
    if source is None:
        return f"GIF head {(gif_head or 0) + 1}"
    said = SOURCE_WORDS.get(source, f"its {source}")
    return f"{said}: “{' '.join(str(text).split())}”" if source == "read text" and text else said


def opener_note(query: str) -> str:
    """' (without “my reaction when”)' when the sentence model reads `query` without its reaction opener
    (`query_text.without_opener`), else ""."""
    text = " ".join(str(query).split())
    rest = without_opener(text)
    opener = text[: len(text) - len(rest)].strip(" ,:-") if rest != text and text.endswith(rest) else ""
    return f" (without “{opener}”)" if opener else ""


def reading_label(row: HeadHits) -> str:
    """'Reading 2: mostly “laughing”, then “stop”': one reading by the two words it weighs most (readings often share
    their strongest word; the second tells them apart); the sentence reading is 'Reading 5: your words as a whole'."""
    if row.sentence:
        return f"Reading {row.reading}: {WHOLE}"
    words = [f"“{w}”" for w in row.words[:2]]
    if not words:
        return f"Reading {row.reading}"
    return f"Reading {row.reading}: mostly {words[0]}" + (f", then {words[1]}" if len(words) > 1 else "")


def found_by_phrase(found_by: Sequence[tuple[str, str]]) -> str:
    """'its file name has “facepalm”, a word the model does not know' for a hit's (word, where) pairs ("" for none)."""
    if not found_by:
        return ""
    word, where = found_by[0]
    return f"its {where} has “{word}”, a word the model does not know"


def _numbers(numbers: list[int]) -> str:
    names = [str(n) for n in numbers]
    if len(names) == 1:
        return f"reading {names[0]}"
    return f"readings {', '.join(names[:-1])} and {names[-1]}"


def _words(members: list[HeadHits]) -> str:
    """The words a group of readings weighs most, in parentheses (the sentence reading: "your words as a whole")."""
    words = list(dict.fromkeys(w for h in members if not h.sentence for w in h.words))[:4]
    shown = ", ".join(f"“{w}”" for w in words)
    if words and all(is_filler(w) for w in words):
        shown = f"only filler words: {shown}"
    parts = [p for p in (shown, WHOLE if any(h.sentence for h in members) else "") if p]
    return f" ({'; '.join(parts)})" if parts else ""


def _by(members: list[HeadHits]) -> str:
    """' by its name' when the group is the sentence reading alone: which of the clip's texts it met."""
    if len(members) != 1 or not members[0].sentence:
        return ""
    return f" by {cut(members[0].hits[0].matched_by or 'its words', SHOWN_TEXT)}"


def heads_summary(per_head: Sequence[HeadHits], hits: Sequence[SearchHit] = ()) -> str:
    """One line on the readings (see the module doc); `hits`: the results shown above it (the first one is checked
    against the readings). "" when there is nothing to say (fewer than two readings that found a GIF, no word-led
    first result)."""
    top = hits[0] if hits else None
    lead = ""
    if top is not None and top.found_by:
        lead = f"{top.display_name} comes first because {found_by_phrase(top.found_by)}."
    rows = [h for h in per_head if h.hits]
    if len(rows) < 2:
        return lead
    best = {h.reading: h.hits[0].row for h in rows}
    groups: dict[int, list[HeadHits]] = {}
    for h in rows:
        groups.setdefault(best[h.reading], []).append(h)
    if len(groups) == 1:
        line = f"All {len(rows)} readings of your words agree on the best GIF: {rows[0].hits[0].display_name}."
    else:
        parts = []
        for members in groups.values():
            verb = "finds" if len(members) == 1 else "find"
            parts.append(f"{_numbers([h.reading for h in members])}{_words(members)} {verb} "
                         f"{members[0].hits[0].display_name}{_by(members)}")
        line = (f"Your words can be read {len(rows)} ways, which find {len(groups)} different best GIFs: "
                f"{'; '.join(parts)}.")
    tail = ""
    if top is not None and not lead:
        reading = top.reading
        if best.get(reading) == top.row and len(groups) > 1:
            tail = " The results above take the best match of all."
        elif best.get(reading) != top.row:
            tail = f" The first result, {top.display_name}, comes first with all readings weighed together."
    return " ".join(p for p in (lead, line + tail) if p)
