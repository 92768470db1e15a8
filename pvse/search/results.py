"""What a search gives: the ranked hits (`SearchHit`), each reading's own best (`HeadHits`) and the whole answer
(`SearchResult`), the typed contract between the searcher and every surface (CLI, app, Python API)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..reading.types import ReadText


@dataclass
class SearchHit:
    rank: int  # 1-based
    row: int  # row in the index
    path: str  # relative to the gallery root
    abs_path: Path  # checked to lie inside the gallery root
    score: float  # max-over-K² cosine similarity
    query_head: int  # 0-based: which query embedding gave the max (shown as `reading`, 1-based)
    clip_head: int  # 0-based: which clip embedding gave the max (>= the index's gif_heads: one of its text heads)
    matched_by: str  # "GIF head j" (1-based) or "its name" / "its caption" / "the words it shows: “…”"
    name: str | None
    caption: str | None
    metadata: dict
    frame_indices: list[int]  # source frames the T sampled frames are
    frame_attention: np.ndarray  # (K, T) each clip head's attention over the sampled frames
    head_similarities: np.ndarray  # (Kq, Kg) similarity of every query head with every clip head (NaN: other kinds)
    found_by: list[tuple[str, str]] = field(default_factory=list)  # (query word, "name"...): ranked first for it
    display_name: str = ""  # what a person calls the clip: name, caption or file name (`clip_words.display_name`)
    read_text: ReadText | None = None  # the words read in the clip's frames, with the frame and box of each line
    matched_source: str | None = None  # the clip text that matched ("read text", "name", "caption"); None: a GIF head
    matched_text: str | None = None  # that text's words, as compared with the query

    @property
    def reading(self) -> int:
        """The reading that found this hit, 1-based as every surface shows it (query_head + 1)."""
        return self.query_head + 1


@dataclass
class HeadHits:
    """One query head scored alone against every clip (max over the clip's heads): one reading of the query."""

    head: int  # 0-based query head
    words: list[str]  # the (at most 3) words this head attends to most, strongest first ([] for the sentence head)
    hits: list[SearchHit]  # its own best clips; score = max_j <q_head, c_j>
    sentence: bool = False  # the sentence head: the query as a whole against the clips' own words

    @property
    def reading(self) -> int:
        """This reading's number, 1-based as every surface shows it."""
        return self.head + 1


@dataclass
class SearchResult:
    query: str
    hits: list[SearchHit]
    tokens: list[str]
    token_known: list[bool]
    word_attention: np.ndarray  # (K, L) each query head's attention over the tokens
    message: str | None = None  # a friendly note (unknown words, emoji read as words, long query cut, ...)
    elapsed_ms: float = 0.0
    notes: list[str] = field(default_factory=list, repr=False)
    words: list[str] = field(default_factory=list)  # the query's words as typed (tokens and pieces joined)
    words_known: list[bool] = field(default_factory=list)  # whether the model knows each word (see docs/heads.md)
    words_attention: np.ndarray | None = None  # (K, W) attention per word: the sum over its tokens
    per_head: list[HeadHits] = field(default_factory=list)  # with per_head_k > 0: each query head's own best
    words_in_gallery: list[bool] = field(default_factory=list)  # whether a clip's name or text has each word
    sentence_reading: int | None = None  # the sentence head's reading number (K + 1) in an index with text heads
    sentence_query: str | None = None  # what the sentence model read: the query without its reaction opener
