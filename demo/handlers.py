"""What the app does per request, as plain functions over a loaded `Searcher` (no Gradio objects here).

Every value from the browser is untrusted: queries are cleaned and truncated, top-k is clamped, a
selected index is checked against the results the same session received, and only files on the
allow-list (`demo.serving.served_files`: the index's media files inside the gallery) are ever returned.
Errors become a message for the page, never a traceback.
"""
from __future__ import annotations

import dataclasses
import html
import logging
import math
import os
import re
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock
from typing import Any

import numpy as np
import spaces
from PIL import Image

from pvse.errors import PVSEError, QueryError
from pvse.index.trust import read_gallery_text
from pvse.limits import MAX_TOP_K
from pvse.search.readings import WHOLE, cut, found_by_phrase, heads_summary, opener_note, reading_label

from . import drawing
from .previews import Previews
from .serving import gif_link, served_files

log = logging.getLogger("demo")


@dataclass(frozen=True)
class DemoLimits:
    """Bounds on what one request may ask for."""

    max_query_chars: int = 300
    max_top_k: int = MAX_TOP_K
    default_top_k: int = 12
    per_head_k: int = 4  # each query head's own best GIFs shown in its row
    frame_cache_size: int = 64  # decoded frame strips kept in memory (clips, not frames)


@dataclass
class SearchView:
    """One search, ready for the page: gallery items (file, caption), a status line, the raw result."""

    gallery: list[tuple[str, str]]
    status: str
    result: Any = None  # pvse.search.SearchResult, kept per session to explain a selection
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


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~])")


def clean_query(text: object, max_chars: int) -> str:
    """Any value -> a single-line, normalised, stripped query of at most `max_chars` characters."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = unicodedata.normalize("NFKC", text[: max_chars * 4])
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text[:max_chars].strip()


def clamp_top_k(value: object, num_clips: int, limits: DemoLimits) -> int:
    """Any value -> an int in [1, min(max_top_k, num_clips)]; unreadable values give the default."""
    try:
        k = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        k = float(limits.default_top_k)
    if not math.isfinite(k):
        k = float(limits.default_top_k)
    return int(min(max(int(k), 1), limits.max_top_k, max(num_clips, 1)))


def escape_markdown(text: str) -> str:
    """User text shown inside Markdown without turning into links, HTML or formatting."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def caption_for(hit) -> str:
    """What a person calls the clip (its name, caption or file name): the caption and alt text of its thumbnail."""
    return str(getattr(hit, "display_name", "") or hit.name or Path(str(hit.path)).stem)


def shorten(text: str, max_chars: int = 60) -> str:
    """`text` cut to about `max_chars` at a word boundary, with an ellipsis when cut."""
    if len(text) <= max_chars:
        return text
    cut = text.rfind(" ", 0, max_chars)
    return text[: cut if cut > max_chars // 2 else max_chars].rstrip() + "…"


head_label = reading_label  # 'Reading 2: mostly “laughing”, then “stop”' (`pvse.search.readings.reading_label`)


def heads_note(result) -> str:
    """One line on the query's readings (each alone): that they agree on the best GIF, or what each reads and finds
    when they do not, and why the first result is first (`pvse.search.readings.heads_summary`)."""
    return heads_summary(getattr(result, "per_head", None) or [], getattr(result, "hits", None) or [])


def frames_caption(matched_gif_head: int | None, matched_by: str) -> str:
    """The caption of the frame strip: the outlined red row is named only when a GIF head matched (and is drawn)."""
    head = ("The frames the model looked at. Under each frame, one bar per GIF head (h1, h2, …; a way of looking at "
            "the GIF): darker = weighed more")
    if matched_gif_head is not None:
        return f"{head}; the row outlined in red, h{matched_gif_head + 1}\\*, is the GIF head that matched."
    return f"{head}. No GIF head matched: this GIF was found by {escape_markdown(cut(matched_by, 80))}."


def pair_note(similarities: np.ndarray, best: tuple[int, int], gif_heads: int | None = None, decimals: int = 3) -> str:
    """Whether the matched pair stands out in the K x K map as printed (`decimals`): ties said as ties, cells that
    only look equal at that precision told apart, and a flat map (every pair within 0.01) said to be flat."""
    sims = np.asarray(similarities, dtype=np.float64)
    if sims.ndim != 2 or not sims.size:
        return ""
    i, j = best

    def name(r: int, c: int) -> str:
        column = f"g{c + 1}" if gif_heads is None or c < gif_heads else f"t{c - gif_heads + 1}"
        return f"q{r + 1}×{column}"

    top = sims[i, j]
    shown = np.round(sims, decimals)
    same = [(r, c) for r, c in zip(*np.nonzero(shown == shown[i, j])) if (r, c) != (i, j)]
    exact = [(r, c) for r, c in same if abs(sims[r, c] - top) <= 1e-7]
    parts = []
    if exact:
        parts.append(f"A tie: {', '.join(name(r, c) for r, c in exact)} score{'s' if len(exact) == 1 else ''} the "
                     f"same as {name(i, j)} ({top:.{decimals}f}); the first pair counts.")
    close = [rc for rc in same if rc not in exact]
    if close:
        r, c = max(close, key=lambda rc: sims[rc])
        parts.append(f"{name(r, c)} also shows {top:.{decimals}f}, but {name(i, j)} is higher by "
                     f"{top - sims[r, c]:.5f} ({top:.5f} vs {sims[r, c]:.5f}).")
    spread = float(sims.max() - sims.min())
    if sims.size > 1 and spread < 0.01:
        parts.append(f"All {sims.size} pairs lie within {spread:.3f} of each other: the heads are near copies here, "
                     "so which pair wins matters little.")
    return " ".join(parts)


def plain_summary(words: list[str], word_weights: np.ndarray, frame_weights: np.ndarray | None, matched_by: str,
                  found_by: list[tuple[str, str]], whole: bool = False) -> str:
    """One plain sentence on a match: 'Matched mostly on “laughing”; frames 2 and 5 weigh most.'

    words / word_weights: the query's words and the matching query head's attention over them; frame_weights: the
    matching GIF head's attention over the sampled frames (None when a text head matched); found_by: the (word,
    where) pairs of its own text that put the clip first; whole: the sentence reading matched (the query as a whole
    against the clip's words, `matched_by` saying which)."""
    weights = np.nan_to_num(np.asarray(word_weights, dtype=np.float64))
    order = [i for i in np.argsort(-weights, kind="stable") if i < len(words) and any(c.isalnum() for c in words[i])]
    top = [words[i] for i in order[:2] if weights[i] >= 0.5 * weights[order[0]]] if order else []
    quoted = " and ".join(f"“{escape_markdown(w)}”" for w in top)
    parts = []
    if found_by:
        word, where = found_by[0]
        parts.append(f"Shown first because its {where} has “{escape_markdown(word)}”, a word the model does not know")
    how = f"matched mostly on {quoted}" if quoted else "matched"
    if whole:
        parts.append(f"matched by {escape_markdown(cut(matched_by, 120))}, close in meaning to {WHOLE}")
    elif not matched_by.startswith("GIF head"):
        parts.append(f"{how}, through {escape_markdown(matched_by)} rather than its frames")
    else:
        parts.append(how + _frames_phrase(frame_weights))
    sentence = "; ".join(parts) + "."
    return sentence[0].upper() + sentence[1:]


def match_numbers(hit, shape: tuple[int, ...], whole: bool, sentence_query: str | None, query: str) -> str:
    """The Details' first sentence (Markdown): the score and what was compared, by the numbers every surface uses
    (reading r, "GIF head j" or the clip's text). shape: the (readings, clip heads) map of `hit.head_similarities`."""
    reading, matched = int(hit.query_head) + 1, str(getattr(hit, "matched_by", ""))
    score = f"Score **{hit.score:.3f}**"
    pairs = f"the best of the pairs in the {shape[0]}×{shape[1]} map" if len(shape) == 2 else "the best pair"
    if whole:
        text = getattr(hit, "matched_text", None) or ""
        source = str(getattr(hit, "matched_source", None) or "text")
        said = "the words it shows" if source == "read text" else f"its {source}"
        return (f"{score}: reading **{reading}** ({WHOLE}) against **{escape_markdown(said)}**, {pairs}. The sentence "
                f"model read your words as “{escape_markdown(sentence_query or '')}”{escape_markdown(opener_note(query))} "
                f"and {escape_markdown(said)} as “{escape_markdown(cut(text, 300))}”; their similarity, put on the GIF "
                "heads' scale, is the score.")
    if not matched.startswith("GIF head"):
        return (f"{score}: reading **{reading}** with **{escape_markdown(cut(matched, 120))}** (its words, not its "
                f"frames), {pairs}.")
    return (f"{score}: the cosine similarity of reading **{reading}** with **{escape_markdown(matched)}**, {pairs}. "
            "Stronger bars and highlights = more attention; each head is rescaled to its own maximum.")


def _frames_phrase(frame_weights: np.ndarray | None) -> str:
    """'; frames 2 and 5 weigh most' / '; frame 3 weighs most' / '; all frames count about the same'."""
    if frame_weights is None:
        return ""
    att = np.nan_to_num(np.asarray(frame_weights, dtype=np.float64)).clip(min=0.0)
    if att.size < 2 or att.sum() <= 0:
        return ""
    share = att / att.sum()
    strong = [int(t) for t in np.argsort(-share, kind="stable")[:2] if share[t] >= 1.5 / att.size]
    if not strong:
        return "; all frames count about the same"
    if len(strong) == 2 and share[strong[1]] < 0.5 * share[strong[0]]:
        strong = strong[:1]
    if len(strong) == 1:
        return f"; frame {strong[0] + 1} weighs most"
    first, second = sorted(strong)
    return f"; frames {first + 1} and {second + 1} weigh most"


SPIKE = 0.9  # a head that puts at least this share of its attention on one frame "looks at" that frame


def frame_attention_note(attention: np.ndarray) -> str:
    """What the GIF heads' frame attention (K, T) does, in plain words: one frame for all, or which frame each.

    Frames are numbered 1..T as in the strip. Says when the heads agree (the same most-attended frame), when a
    head's attention is a spike (>= SPIKE on one frame) and when it is spread out, so a one-hot strip is explained
    rather than left looking like a glitch.
    """
    att = np.nan_to_num(np.asarray(attention, dtype=np.float64)).clip(min=0.0)
    if att.ndim != 2 or not att.shape[0] or not att.shape[1]:
        return ""
    heads, frames = att.shape
    if frames == 1:
        return "The GIF has one sampled frame, so every GIF head looks at it."
    share = att / np.maximum(att.sum(axis=1, keepdims=True), 1e-12)
    best, peak = share.argmax(axis=1), share.max(axis=1)
    flat = peak < 1.5 / frames  # under 1.5 times an even share: no frame stands out
    summary = f"the rest of each GIF embedding is the GRU's summary of all {frames} frames, the same for every head"

    def pct(x: float) -> str:
        return f"{100 * x:.0f} %"

    span = pct(peak.min()) if pct(peak.min()) == pct(peak.max()) else f"{pct(peak.min())}–{pct(peak.max())}"
    if heads > 1 and flat.all():
        return f"All {heads} GIF heads spread their attention over the frames (at most {pct(peak.max())} on one)."
    if heads > 1 and len(set(best.tolist())) == 1 and not flat.any():
        if peak.min() >= SPIKE:
            return (f"All {heads} GIF heads look at frame {best[0] + 1} ({span} of their attention each), so they agree "
                    f"and the bars are one spike; {summary}.")
        return f"All {heads} GIF heads weigh frame {best[0] + 1} most ({span} of their attention each): they agree."

    def one(k: int) -> str:
        if flat[k]:
            return f"h{k + 1} spreads its attention (at most {pct(peak[k])} on one frame)"
        if peak[k] >= SPIKE:
            return f"h{k + 1} looks at frame {best[k] + 1} ({pct(peak[k])})"
        return f"h{k + 1} weighs frame {best[k] + 1} most ({pct(peak[k])})"

    if heads == 1:
        return "The GIF head" + one(0)[2:] + "."
    differ = "look at different frames" if len(set(best[~flat].tolist())) > 1 else "differ"
    return f"The {heads} GIF heads {differ}: " + "; ".join(one(k) for k in range(heads)) + "."


CREDITS_FILES = ("CREDITS.md", "CREDITS", "CREDITS.txt")
CREDITS_MAX_BYTES = 64 * 1024


def gallery_credits(root: Path, max_chars: int = 1500) -> str | None:
    """The gallery's CREDITS file as text for the page (its title dropped, cut at a paragraph), or None without one.

    Read with `read_gallery_text`: a regular file inside the gallery, not a link, at most 64 KiB; HTML in it is
    shown as text, not rendered."""
    for name in CREDITS_FILES:
        text = read_gallery_text(root, name, CREDITS_MAX_BYTES)
        if text is None:
            if os.path.lexists(os.path.join(root, name)):
                log.warning("not showing %s: only a regular file of at most %d bytes inside the gallery, not a link, "
                            "is shown", os.path.join(root, name), CREDITS_MAX_BYTES)
            continue
        lines = text.strip().splitlines()
        while lines and (lines[0].startswith("#") or not lines[0].strip()):
            lines.pop(0)
        text = "\n".join(lines).strip()
        if len(text) > max_chars:
            text = text[:max_chars].rsplit("\n\n", 1)[0] + "\n\n…"
        return html.escape(text, quote=False) or None
    return None


class DemoHandlers:
    """The app's logic on one loaded searcher, shared by all sessions (thread-safe)."""

    def __init__(self, searcher, limits: DemoLimits = DemoLimits()) -> None:
        self.searcher = searcher
        self.limits = limits
        self.gallery_root = Path(searcher.gallery_root)
        self.served = served_files(searcher)  # row -> real path: the only files a result may show
        # what a results page shows for each of them: a small preview, made on first view (`demo.previews`)
        self.previews = Previews(self.served, getattr(searcher.index, "directory", None),
                                 keep=(record.content_hash for _, record in searcher.index.records()))
        # On a ZeroGPU Space this borrows a GPU for the sentence encoder; elsewhere spaces.GPU returns it as is.
        self._run_search = spaces.GPU(duration=30)(searcher.search)
        self._frames: OrderedDict[int, list[np.ndarray]] = OrderedDict()
        self._frames_lock = Lock()

    @property
    def num_heads(self) -> int:
        return self.searcher.meta.heads

    @property
    def num_readings(self) -> int:
        """How many readings a query has: its K heads, and the sentence head in an index with text heads."""
        return self.num_heads + (getattr(self.searcher, "layout", None) is not None)

    def ready_message(self) -> str:
        device = str(self.searcher.device)
        kind = "GPU (CUDA)" if device.startswith("cuda") else "CPU"
        return (f"**Ready.** {self.searcher.num_clips} GIFs indexed · PVSE with {self.num_heads} heads · "
                f"running on **{kind}**. Type what you would say, or click an example.")

    def search(self, query: object, top_k: object) -> SearchView:
        text = clean_query(query, self.limits.max_query_chars)
        if not text:
            return SearchView([], "Type a few words first, for example *my reaction when the build passes*.")
        k = clamp_top_k(top_k, self.searcher.num_clips, self.limits)
        try:
            result = self._run_search(text, top_k=k, per_head_k=self.limits.per_head_k)
        except QueryError as exc:
            return SearchView([], escape_markdown(str(exc)))
        except PVSEError as exc:
            log.warning("search failed for %r: %s", text, exc)
            return SearchView([], f"The search failed: {escape_markdown(str(exc))}")
        except Exception:  # noqa: BLE001 - the page gets a message, the log gets the traceback
            log.exception("unexpected error while searching %r", text)
            return SearchView([], "Something went wrong while searching. Please try again; "
                                  "the details are in the server log.")
        served = self._servable(result.hits)
        per_head = [dataclasses.replace(h, hits=self._servable(h.hits, quiet=True))
                    for h in getattr(result, "per_head", None) or []]
        result = dataclasses.replace(result, hits=served, per_head=per_head)  # a selection counts the GIFs shown
        gallery = [(str(self.served[hit.row]), caption_for(hit)) for hit in served]
        note = f" {escape_markdown(result.message)}" if result.message else ""
        quoted = f"*{escape_markdown(shorten(text))}*"
        if not gallery:
            return SearchView([], f"No GIFs found for {quoted}.{note or ' Try other words.'}", result)
        truncated = " (query shortened)" if len(" ".join(str(query).split())) > self.limits.max_query_chars else ""
        status = (f"**{len(gallery)}** GIFs for {quoted}{truncated} in {result.elapsed_ms:.0f} ms. "
                  f"Click one to see why it matched.{note}")
        note, per_head = self.heads_view(result)
        return SearchView(gallery, status, result, ok=True, per_head=per_head, heads_note=note)

    def _servable(self, hits, quiet: bool = False) -> list:
        """The hits whose file is on the allow-list and still there (the only ones a page may show)."""
        out = []
        for hit in hits:
            if self.served.servable(hit.row):
                out.append(hit)
            elif not quiet:
                log.warning("index row %s (%s) is not a media file in the gallery: not served", hit.row, hit.path)
        return out

    def heads_view(self, result) -> tuple[str, list[tuple[str, list[tuple[str, str]]]]]:
        """Each query head's own best GIFs as (label, gallery items), and whether the heads agree."""
        rows = []
        for head in getattr(result, "per_head", None) or []:
            hits = self._servable(head.hits, quiet=True)
            rows.append((head_label(head), [(str(self.served[x.row]), caption_for(x)) for x in hits]))
        return heads_note(result), rows

    def sampled_frames(self, row: int) -> list[np.ndarray]:
        """The T frames the index sampled for `row`, decoded once and kept in a small LRU cache."""
        with self._frames_lock:
            if row in self._frames:
                self._frames.move_to_end(row)
                return self._frames[row]
        frames = list(self.searcher.sampled_frames(row))
        with self._frames_lock:
            self._frames[row] = frames
            while len(self._frames) > self.limits.frame_cache_size:
                self._frames.popitem(last=False)
        return frames

    def explain(self, result, index: object, head: int | None = None) -> Explanation:
        """The explanation of the `index`-th hit of `result` (the results this session was shown), or of the
        `index`-th GIF in the row of query head `head` alone."""
        hits = list(getattr(result, "hits", None) or [])
        if head is not None:
            rows = getattr(result, "per_head", None) or []
            hits = list(rows[head].hits) if isinstance(head, int) and 0 <= head < len(rows) else []
        if not hits:
            return Explanation("Search first, then click a GIF to see why it matched.")
        if isinstance(index, (list, tuple)) and index:  # gr.SelectData may carry (row, col)
            index = index[0]
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= int(index) < len(hits):
            return Explanation(f"Pick one of the {len(hits)} results to see why it matched.")
        hit = hits[int(index)]
        try:
            return self._explain_hit(result, hit)
        except Exception:  # noqa: BLE001
            log.exception("could not explain hit %s of %r", index, getattr(result, "query", ""))
            return Explanation("Could not draw the explanation for this GIF; the details are in the server log.")

    def explain_query(self, query: object, top_k: object, index: object) -> Explanation:
        """Search then explain the `index`-th hit: the stateless form the API exposes."""
        view = self.search(query, top_k)
        if not view.ok:
            return Explanation(view.status)
        try:
            index = int(index)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return Explanation(f"Pick one of the {len(view.result.hits)} results to see why it matched.")
        return self.explain(view.result, index)

    def link(self, hit) -> str:
        """The app's own link to the clip's original file (`demo.serving.GIF_ROUTE`), only for allow-listed clips."""
        path = self.served.get(hit.row)
        return gif_link(hit.row, path) if path is not None else ""

    def _explain_hit(self, result, hit) -> Explanation:
        q_head, g_head = int(hit.query_head), int(hit.clip_head)
        sims = np.asarray(hit.head_similarities, dtype=np.float64)
        frame_att = np.asarray(hit.frame_attention, dtype=np.float64)
        word_att = np.asarray(result.word_attention, dtype=np.float64)
        tokens = [str(t) for t in result.tokens]
        words_of_query = [str(w) for w in (getattr(result, "words", None) or [])]
        if words_of_query and getattr(result, "words_attention", None) is not None:
            shown, shown_att = words_of_query, np.asarray(result.words_attention, dtype=np.float64)
        else:
            shown, shown_att = tokens, word_att
        gif_match = g_head < len(frame_att)  # a GIF head matched (else one of the clip's texts)
        frames_img = compact = None
        frame_note = ""
        if frame_att.shape[0]:
            try:
                frames = self.sampled_frames(hit.row)
                marked = g_head if gif_match else None
                frames_img = drawing.frame_strip(frames, frame_att, matched_head=marked)
                compact = drawing.frame_strip(frames, frame_att, matched_head=marked, columns=4)
            except PVSEError as exc:
                frame_note = f" (frames unavailable: {escape_markdown(str(exc))})"
        sentence_reading = getattr(result, "sentence_reading", None)
        sentence_query = getattr(result, "sentence_query", None)
        whole = sentence_reading is not None and q_head + 1 == sentence_reading
        words, labels = [], []
        if shown_att.ndim == 2 and shown_att.shape[0] and shown_att.shape[1] == len(shown):
            words = drawing.token_weights(shown, shown_att)
            labels = [f"Reading {k + 1}" for k in range(len(words))]
        if sentence_reading is not None and sentence_query is not None:
            words.append([(sentence_query, None)])
            labels.append(f"Reading {sentence_reading}: {WHOLE}, as the sentence model reads it"
                          f"{opener_note(result.query)}")
        labels = [label + (" ★ matched" if k == q_head else "") for k, label in enumerate(labels)]
        gif_heads = len(frame_att) if frame_att.ndim == 2 and frame_att.shape[0] else None
        heatmap = (drawing.similarity_heatmap(sims, best=(q_head, g_head), gif_heads=gif_heads)
                   if sims.size else None)
        frames_note = frame_attention_note(frame_att) if frame_att.ndim == 2 else ""
        matched = getattr(hit, "matched_by", f"GIF head {g_head + 1}")
        found_by = list(getattr(hit, "found_by", []) or [])
        head_words = shown_att[q_head] if shown_att.ndim == 2 and q_head < shown_att.shape[0] else np.zeros(0)
        summary = plain_summary(shown, head_words, frame_att[g_head] if gif_match else None,
                                matched, found_by, whole=whole) + frame_note
        numbers = match_numbers(hit, sims.shape, whole, sentence_query, result.query)
        ties = pair_note(sims, (q_head, g_head), gif_heads) if sims.size else ""
        unknown = [w for w, k in zip(words_of_query, getattr(result, "words_known", []) or []) if not k]
        vocabulary = getattr(getattr(self.searcher, "pipeline", None), "config", None)
        if unknown and vocabulary is not None:
            numbers += (f" Not in the model's vocabulary ({escape_markdown(str(vocabulary.word_features))}): "
                        + ", ".join(f"“{escape_markdown(w)}”" for w in dict.fromkeys(unknown)) + ".")
        if found_by:
            numbers += f" Shown first because {escape_markdown(found_by_phrase(found_by))}."
        name = caption_for(hit)
        payload = {
            "rank": int(hit.rank), "name": name, "file": str(hit.path), "score": float(hit.score),
            "reading": q_head + 1, "clip_head": g_head + 1, "matched_by": matched,
            "matched_text": getattr(hit, "matched_text", None),
            "found_by": [w for w, _ in found_by], "link": self.link(hit),
            "frame_indices": [int(i) for i in hit.frame_indices],
            "frame_attention": frame_att.round(5).tolist(),
            "tokens": tokens,
            "word_attention": word_att.round(5).tolist(),
            "words": shown,
            "words_attention": shown_att.round(5).tolist(),
            "head_similarities": [[None if np.isnan(v) else v for v in row] for row in sims.round(5).tolist()],
            "frames_note": frames_note,
        }
        if whole:
            payload["sentence_query"] = sentence_query
        read = getattr(hit, "read_text", None)
        if read is not None and read.lines:
            payload["read_text"] = [line.to_dict() for line in read.lines]
        return Explanation(summary, frames_img, words, labels, heatmap, payload, ok=True, frames_compact=compact,
                           frames_note=frames_note, title=name, path=str(hit.path), link=payload["link"],
                           numbers=" ".join(x for x in (numbers, ties, frames_note) if x),
                           text_frame=self._text_frame(hit),
                           frames_caption=frames_caption(g_head if gif_match else None, matched))

    def _text_frame(self, hit) -> Image.Image | None:
        """The frame the clip's words were read in, each read line boxed (None: no text, or not decodable)."""
        read = getattr(hit, "read_text", None)
        reader = getattr(self.searcher, "read_text_frame", None)
        if read is None or not read.lines or reader is None:
            return None
        try:
            frame, lines = reader(hit.row)
        except PVSEError:
            return None
        return drawing.text_boxes(frame, [line.box for line in lines])
