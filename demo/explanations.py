"""One GIF's explanation: its frames, the query's words and the head-pair map drawn, and the match said in words.

`explain_hit` puts the pictures (`demo.drawing`) and the sentences (`demo.explain_words`) together for one hit of
a search; the handlers (`demo.handlers`) check first that the hit is one the session was shown, and hand in how
to get its frames.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from pvse.errors import PVSEError

from . import drawing
from .explain_words import (
    found_first_note,
    frame_attention_note,
    frames_caption,
    match_numbers,
    pair_note,
    plain_summary,
    sentence_label,
    vocabulary_note,
)
from .markdown_text import escape_markdown
from .views import Explanation

if TYPE_CHECKING:
    from pvse.search.results import SearchHit, SearchResult

FrameSource = Callable[[int], list[np.ndarray]]  # row -> the clip's T sampled frames (PVSEError: not decodable)
TextFrameSource = Callable[[int], tuple[np.ndarray, list]]  # row -> (the frame its text was read in, its lines)


def explain_hit(result: SearchResult, hit: SearchHit, *, frames: FrameSource, read_frame: TextFrameSource,
                link: str, vocabulary: str) -> Explanation:
    """Why `hit` (one of `result.hits` or of a reading's row) matched the query of `result`.

    frames / read_frame: how to get the clip's sampled frames and the frame its words were read in; link: the app's
    link to its original file ("" when it has none); vocabulary: the model's word vectors, named for the page."""
    q_head, g_head = int(hit.query_head), int(hit.clip_head)
    sims = np.asarray(hit.head_similarities, dtype=np.float64)
    frame_att = np.asarray(hit.frame_attention, dtype=np.float64)
    shown, shown_att = _query_words(result)
    gif_match = g_head < len(frame_att)  # a GIF head matched (else one of the clip's texts)
    strip, compact, unavailable = _frame_strips(frames, hit.row, frame_att, g_head if gif_match else None)
    whole = result.sentence_reading is not None and q_head + 1 == result.sentence_reading
    words, labels = _readings(result, shown, shown_att, q_head)
    gif_heads = len(frame_att) if frame_att.ndim == 2 and frame_att.shape[0] else None
    heatmap = drawing.similarity_heatmap(sims, best=(q_head, g_head), gif_heads=gif_heads) if sims.size else None
    frames_note = frame_attention_note(frame_att) if frame_att.ndim == 2 else ""
    head_words = shown_att[q_head] if shown_att.ndim == 2 and q_head < shown_att.shape[0] else np.zeros(0)
    summary = plain_summary(shown, head_words, frame_att[g_head] if gif_match else None, hit.matched_by,
                            hit.found_by, whole=whole) + unavailable
    numbers = (match_numbers(hit, sims.shape, whole, result.sentence_query, result.query)
               + vocabulary_note(result.words, result.words_known, vocabulary) + found_first_note(hit.found_by))
    ties = pair_note(sims, (q_head, g_head), gif_heads) if sims.size else ""
    payload = _payload(result, hit, link, shown, shown_att, frame_att, sims, frames_note, whole)
    return Explanation(summary, strip, words, labels, heatmap, payload, ok=True, frames_compact=compact,
                       frames_note=frames_note, title=hit.display_name, path=str(hit.path), link=link,
                       numbers=" ".join(x for x in (numbers, ties, frames_note) if x),
                       text_frame=_text_frame(hit, read_frame),
                       frames_caption=frames_caption(g_head if gif_match else None, hit.matched_by))


def _query_words(result: SearchResult) -> tuple[list[str], np.ndarray]:
    """The query's words and each reading's attention over them (K, W): its words as typed when the search split
    it into words, else its tokens."""
    if result.words and result.words_attention is not None:
        return [str(w) for w in result.words], np.asarray(result.words_attention, dtype=np.float64)
    return [str(t) for t in result.tokens], np.asarray(result.word_attention, dtype=np.float64)


def _frame_strips(frames: FrameSource, row: int, frame_att: np.ndarray,
                  marked: int | None) -> tuple[Image.Image | None, Image.Image | None, str]:
    """(the frame strip in one row, the same 4 frames a row, "" or why the frames are missing) for clip `row`;
    marked: the GIF head that matched, outlined (None: a text of the clip matched)."""
    if not frame_att.shape[0]:
        return None, None, ""
    try:
        sampled = frames(row)
    except PVSEError as exc:
        return None, None, f" (frames unavailable: {escape_markdown(str(exc))})"
    return (drawing.frame_strip(sampled, frame_att, matched_head=marked),
            drawing.frame_strip(sampled, frame_att, matched_head=marked, columns=4), "")


def _readings(result: SearchResult, shown: list[str], shown_att: np.ndarray,
              matched: int) -> tuple[list[list[tuple[str, float | None]]], list[str]]:
    """Each reading's words with its weights, and their labels (the `matched` reading starred); the sentence
    reading, in an index with text heads, shows the words as the sentence model read them."""
    words, labels = [], []
    if shown_att.ndim == 2 and shown_att.shape[0] and shown_att.shape[1] == len(shown):
        words = drawing.token_weights(shown, shown_att)
        labels = [f"Reading {k + 1}" for k in range(len(words))]
    if result.sentence_reading is not None and result.sentence_query is not None:
        words.append([(result.sentence_query, None)])
        labels.append(sentence_label(result.sentence_reading, result.query))
    return words, [label + (" ★ matched" if k == matched else "") for k, label in enumerate(labels)]


def _payload(result: SearchResult, hit: SearchHit, link: str, shown: list[str], shown_att: np.ndarray,
             frame_att: np.ndarray, sims: np.ndarray, frames_note: str, whole: bool) -> dict[str, Any]:
    """The numbers behind an explanation, as plain JSON values (the `/explain` API's answer)."""
    payload = {
        "rank": int(hit.rank), "name": hit.display_name, "file": str(hit.path), "score": float(hit.score),
        "reading": int(hit.query_head) + 1, "clip_head": int(hit.clip_head) + 1, "matched_by": hit.matched_by,
        "matched_text": hit.matched_text,
        "found_by": [w for w, _ in hit.found_by], "link": link,
        "frame_indices": [int(i) for i in hit.frame_indices],
        "frame_attention": frame_att.round(5).tolist(),
        "tokens": [str(t) for t in result.tokens],
        "word_attention": np.asarray(result.word_attention, dtype=np.float64).round(5).tolist(),
        "words": shown,
        "words_attention": shown_att.round(5).tolist(),
        "head_similarities": [[None if np.isnan(v) else v for v in row] for row in sims.round(5).tolist()],
        "frames_note": frames_note,
    }
    if whole:
        payload["sentence_query"] = result.sentence_query
    if hit.read_text is not None and hit.read_text.lines:
        payload["read_text"] = [line.to_dict() for line in hit.read_text.lines]
    return payload


def _text_frame(hit: SearchHit, read_frame: TextFrameSource) -> Image.Image | None:
    """The frame the clip's words were read in, each read line boxed (None: no text read, or not decodable)."""
    if hit.read_text is None or not hit.read_text.lines:
        return None
    try:
        frame, lines = read_frame(hit.row)
    except PVSEError:
        return None
    return drawing.text_boxes(frame, [line.box for line in lines])
