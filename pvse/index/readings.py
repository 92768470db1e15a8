"""The query's readings in words: each query head alone is one reading of the query; do they agree on the best GIF,
and when not, what does each read and find?

A pure function of a search's `per_head` rows (`Searcher.search(..., per_head_k=N)`), for the app and the CLI:
"Your words can be read 4 ways, which find 2 different best GIFs: readings 1 and 2 (“can't”, “laughing”) find Joy
cat; readings 3 and 4 (“stop”) find Rofl. The results above take the best match of all." Readings that find the
same best GIF are named together; a reading whose words are all filler (`pvse.features.filler`) says so.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..features.filler import is_filler


def _gif_name(hit) -> str:
    return str(getattr(hit, "display_name", "") or getattr(hit, "name", None) or Path(str(hit.path)).stem)


def _numbers(heads: list[int]) -> str:
    names = [str(n + 1) for n in heads]
    if len(names) == 1:
        return f"reading {names[0]}"
    return f"readings {', '.join(names[:-1])} and {names[-1]}"


def _words(words: Sequence[str]) -> str:
    shown = ", ".join(f"“{w}”" for w in words)
    if words and all(is_filler(w) for w in words):
        return f" (only filler words: {shown})"
    return f" ({shown})" if shown else ""


def heads_summary(per_head: Sequence) -> str:
    """One line on the readings (see the module doc); "" with fewer than two heads that found a GIF."""
    rows = [h for h in per_head if h.hits]
    if len(rows) < 2:
        return ""
    best = {h.head: h.hits[0].row for h in rows}
    if len(set(best.values())) == 1:
        return f"All {len(rows)} readings of your words agree on the best GIF: {_gif_name(rows[0].hits[0])}."
    groups: dict[int, list] = {}
    for h in rows:
        groups.setdefault(best[h.head], []).append(h)
    parts = []
    for members in groups.values():
        words = list(dict.fromkeys(w for h in members for w in h.words))[:4]
        verb = "finds" if len(members) == 1 else "find"
        parts.append(f"{_numbers([h.head for h in members])}{_words(words)} {verb} {_gif_name(members[0].hits[0])}")
    return (f"Your words can be read {len(rows)} ways, which find {len(groups)} different best GIFs: "
            f"{'; '.join(parts)}. The results above take the best match of all.")
