"""The app's explanations in words: pure functions from a search's numbers to sentences for the page.

Each names readings, heads and frames the way every surface does (readings and heads numbered from 1, frames as in
the strip), says ties and flat maps plainly, and escapes the person's own words for Markdown (`demo.markdown_text`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pvse.search.readings import WHOLE, cut, found_by_phrase, heads_summary, opener_note, reading_label

from .markdown_text import escape_markdown

if TYPE_CHECKING:
    from pvse.search.results import SearchHit, SearchResult

head_label = reading_label  # 'Reading 2: mostly “laughing”, then “stop”' (`pvse.search.readings.reading_label`)


def heads_note(result: SearchResult) -> str:
    """One line on the query's readings (each alone): that they agree on the best GIF, or what each reads and finds
    when they do not, and why the first result is first (`pvse.search.readings.heads_summary`)."""
    return heads_summary(result.per_head, result.hits)


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


def match_numbers(hit: SearchHit, shape: tuple[int, ...], whole: bool, sentence_query: str | None, query: str) -> str:
    """The Details' first sentence (Markdown): the score and what was compared, by the numbers every surface uses
    (reading r, "GIF head j" or the clip's text). shape: the (readings, clip heads) map of `hit.head_similarities`."""
    reading, matched = int(hit.query_head) + 1, hit.matched_by
    score = f"Score **{hit.score:.3f}**"
    pairs = f"the best of the pairs in the {shape[0]}×{shape[1]} map" if len(shape) == 2 else "the best pair"
    if whole:
        text = hit.matched_text or ""
        source = hit.matched_source or "text"  # None only for a GIF head, which the sentence reading never meets
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


def sentence_label(sentence_reading: int, query: str) -> str:
    """The label of the sentence reading's row of words: the query as a whole, as the sentence model reads it."""
    return f"Reading {sentence_reading}: {WHOLE}, as the sentence model reads it{opener_note(query)}"


def vocabulary_note(words: list[str], known: list[bool], vocabulary: str) -> str:
    """' Not in the model's vocabulary (glove-…): “w1”, “w2”.' for the query's words the model does not know, else ""."""
    unknown = [w for w, k in zip(words, known) if not k]
    if not unknown:
        return ""
    return (f" Not in the model's vocabulary ({escape_markdown(vocabulary)}): "
            + ", ".join(f"“{escape_markdown(w)}”" for w in dict.fromkeys(unknown)) + ".")


def found_first_note(found_by: list[tuple[str, str]]) -> str:
    """' Shown first because …' when words of the clip's own text put it first (`SearchHit.found_by`), else ""."""
    return f" Shown first because {escape_markdown(found_by_phrase(found_by))}." if found_by else ""
