"""What the browser sends, made safe before any of it is used: the query text, top-k and a selected result.

Every value is untrusted: it may be of any type, any size and any content (control characters, lone surrogates,
10**9, NaN, a list). The functions here never raise on such a value; they clean it, bound it or refuse it.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from pvse.limits import MAX_TOP_K


@dataclass(frozen=True)
class DemoLimits:
    """Bounds on what one request may ask for."""

    max_query_chars: int = 300
    max_top_k: int = MAX_TOP_K
    default_top_k: int = 12
    per_head_k: int = 4  # each query head's own best GIFs shown in its row
    frame_cache_size: int = 64  # decoded frame strips kept in memory (clips, not frames)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def clean_query(text: object, max_chars: int) -> str:
    """Any value -> a single-line, normalised, stripped query of at most `max_chars` characters."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = unicodedata.normalize("NFKC", text[: max_chars * 4])
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text[:max_chars].strip()


def was_shortened(text: object, max_chars: int) -> bool:
    """Whether `clean_query` cut the query short (its words, joined by single spaces, are over `max_chars`)."""
    return len(" ".join(str(text).split())) > max_chars


def clamp_top_k(value: object, num_clips: int, limits: DemoLimits) -> int:
    """Any value -> an int in [1, min(max_top_k, num_clips)]; unreadable values give the default."""
    try:
        k = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        k = float(limits.default_top_k)
    if not math.isfinite(k):
        k = float(limits.default_top_k)
    return int(min(max(int(k), 1), limits.max_top_k, max(num_clips, 1)))


def shown_index(index: object, count: int) -> int | None:
    """The 0-based position of one of the `count` results shown, from a selection; None for anything else.

    A gallery selection (`gr.SelectData.index`) may carry (row, column): its first item counts. Booleans, strings,
    floats and positions outside 0..count-1 are refused."""
    if isinstance(index, (list, tuple)) and index:
        index = index[0]
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= int(index) < count:
        return None
    return int(index)
