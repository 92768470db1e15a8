"""What the handlers hand the page: one search (`SearchView`) and one explained GIF (`Explanation`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:
    from pvse.search.results import SearchResult


@dataclass
class SearchView:
    """One search, ready for the page: gallery items (file, caption), a status line, the raw result."""

    gallery: list[tuple[str, str]]
    status: str
    result: SearchResult | None = None  # kept per session to explain a selection; None: no search ran
    ok: bool = False
    per_head: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)  # (label, gallery) per query head
    heads_note: str = ""  # whether the heads' own best GIFs differ


@dataclass
class Explanation:
    """Why one GIF matched: pictures for the page and the numbers behind them (`payload`)."""

    summary: str
    frames: Image.Image | None = None  # the frame strip, all frames in one row
    words: list[list[tuple[str, float | None]]] = field(default_factory=list)  # per query head
    word_labels: list[str] = field(default_factory=list)
    heatmap: Image.Image | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    ok: bool = False
    frames_compact: Image.Image | None = None  # the same strip, 4 frames a row (phones)
    frames_note: str = ""  # what the GIF heads' frame attention does, in words (`frame_attention_note`)
    title: str = ""  # the clip's name
    path: str = ""  # the clip's path inside the gallery
    link: str = ""  # the app's link to the original file
    numbers: str = ""  # the score, head pair and attention in numbers (Markdown), for the details
    text_frame: Image.Image | None = None  # the frame its words were read in, each line boxed (`read_text`)
    frames_caption: str = ""  # what the frame strip shows, naming the marked row only when one is drawn
