"""Turn what an OCR recogniser returns for a clip's frames into the words the clip says.

Pure functions, no model: what real reaction GIFs showed the recogniser does wrong is undone here.
- Spaces are often lost ("Ain'tnobodygottimeforthat", "Idon'tknowwhatIexpected."): words that are not English words
  are split into the most likely words (`wordninja`, a unigram model of English Wikipedia shipped in its wheel).
- Watermarks, web addresses and channel logos ("MAKE GIFS AT GIFSOUP.COM", "4GIFs.com", "[adult swim]", "FOX",
  "YEET GIFS") say nothing about the reaction: such lines are dropped, and so is a small line cut by the frame's
  edge (a corner watermark such as a blog's name, "calvin and") and a short fragment that ends on a word that
  cannot end a sentence ("calvin and", "one of the"): it is part of something the frame does not show.
- Stray glyphs (a lone "M", "30", a CJK character read into a face, crying eyes read as "T-T"): characters outside
  the Latin script are removed, and lines without two letters in a row or with a low recogniser score are dropped.
- A caption shown for several frames is read several times with small differences: near-equal lines are merged,
  keeping the best-read one, in order of first appearance.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from .types import MAX_LINES, TextLine

MIN_SCORE = 0.6  # recogniser confidence below which a line is noise (faces, textures read as letters)
SHORT_LETTERS = 3  # a line with at most this many letters ("XX" of x-eyes, "BS" of a monkey's face) ...
SHORT_SCORE = 0.85  # ... needs this confidence: real short captions ("ME", "GOD", "Hey!") read at 0.89 or more
MIN_LETTERS = 2  # a line must hold this many letters in a row ("OK" is a word, "T-T" is a face)
SAME_LINE_RATIO = 0.8  # difflib ratio of two lines' letters above which they are one caption read twice
MIN_SEGMENT_LENGTH = 6  # shorter unknown words are left as read ("Ain't", "BRB")
COMMON_WORDS = 20_000  # a split of a run-together word may only use words of this frequency rank or better

# Watermark words: sites that make or host GIFs, and channel logos. Compared on lower-case letters and digits,
# a line holding one of them (as a whole word, or as the whole line for the logos) is dropped.
WATERMARK_WORDS = frozenset("""gifsoup giphy gifbin makeagif imgur tumblr reddit 4gifs awesomegifs auesomegifs
reactiongifs gifsforum gifrific tenor gfycat imgflip memegenerator youtube tiktok instagram twitter gif gifs
gifak""".split())
# Words a caption does not end on: a short line ending on one was cut off (by the frame, or by the detector).
DANGLING_WORDS = frozenset("""and or but nor of the a an to for with from at by in on into onto as than""".split())
FRAGMENT_WORDS = 3  # a line of at most this many words that ends on a dangling word is a fragment
EDGE_PX = 3  # a box this close to the frame's border touches it
EDGE_HEIGHT = 0.06  # ... and a line at most this share of the frame's height is a watermark in its corner
CHANNEL_LOGOS = frozenset("""fox amc hbo nbc cbs abc bbc mtv tbs tnt cnn espn pbs cw vh1 bravo syfy adultswim
comedycentral nickelodeon disney netflix hulu fx e com net org www""".split())
_URL = re.compile(r"(https?://|www\.|\b[\w-]+\.(com|net|org|tv|co|io|me|ly|gif|us|uk)\b)", re.IGNORECASE)
_LETTER_RUN = re.compile(rf"[^\W\d_]{{{MIN_LETTERS}}}")
_TOKEN = re.compile(r"^(\W*)([\w']+?)(\W*)$")


CONTRACTIONS = ("ain't", "y'all", "ma'am", "c'mon", "'cause")  # spoken words Wikipedia's unigrams lack


@lru_cache(maxsize=1)
def _segmenter():
    """wordninja's English model with a few spoken contractions added (at the cost of "don't")."""
    import copy

    import wordninja
    model = copy.copy(wordninja.DEFAULT_LANGUAGE_MODEL)
    model._wordcost = dict(model._wordcost)
    cost = model._wordcost.get("don't", 14.0)
    model._wordcost.update({word: cost for word in CONTRACTIONS})
    model._maxword = max(model._maxword, *(len(w) for w in CONTRACTIONS))
    return model


def latin_only(text: str) -> str:
    """`text` in NFKC with characters of other scripts (CJK, symbols read into pictures) removed, spaces squeezed."""
    text = unicodedata.normalize("NFKC", text)
    kept = [ch for ch in text if ch.isascii() or unicodedata.category(ch)[0] in "LNPZ" and _is_latin(ch)]
    return " ".join("".join(kept).split())


def _is_latin(ch: str) -> bool:
    return not ch.isalpha() or "LATIN" in unicodedata.name(ch, "")


def is_watermark(text: str) -> bool:
    """A web address, a GIF site's name or a channel logo ("MAKE GIFS AT GIFSOUP.COM", "4GIFs.com", "FOX")."""
    if _URL.search(text):
        return True
    words = re.findall(r"[a-z0-9]+", text.lower())
    if any(w in WATERMARK_WORDS or any(w.startswith(s) for s in ("gifsoup", "giphy", "tumblr")) for w in words):
        return True
    return "".join(words) in CHANNEL_LOGOS


def segment_word(token: str) -> str:
    """Split a word that lost its spaces into words ("forthat" -> "for that"); known words stay as they are.

    Punctuation around the word is kept; a split is used only when most of its characters fall in pieces of
    two or more letters (or "a" / "i"), so a name the model does not know is not chopped into letters."""
    match = _TOKEN.match(token)
    if not match:
        return token
    lead, core, tail = match.groups()
    model = _segmenter()
    if len(core) < MIN_SEGMENT_LENGTH or core.lower() in model._wordcost:
        return token
    pieces = [p for p in model.split(core) if p.strip("'")]
    good = sum(len(p) for p in pieces if _common(p, model))
    if len(pieces) < 2 or good < 0.8 * len(core):
        return token
    pieces = [p for p in pieces if len(p) >= 2 or p.lower() in ("a", "i")]
    return lead + " ".join(pieces) + tail


def _common(piece: str, model) -> bool:
    """A piece a split may keep: "a", "i", or a word among the COMMON_WORDS most frequent (wordninja ranks its words
    by frequency; rare ones such as "civ" or "oom" are what a split of a logo or a misread produces)."""
    word = piece.lower()
    if word in ("a", "i"):
        return True
    cost = model._wordcost.get(word)
    return len(word) >= 2 and cost is not None and ("'" in word or cost <= _rank_cost(model))


@lru_cache(maxsize=1)
def _rank_cost(model) -> float:
    import math
    return math.log(COMMON_WORDS * math.log(len(model._wordcost)))


def clean_line(text: str, score: float = 1.0) -> str | None:
    """One recognised line as words, or None when it is noise, a watermark or a fragment."""
    if score < MIN_SCORE:
        return None
    text = latin_only(text)
    if sum(ch.isalpha() for ch in text) <= SHORT_LETTERS and score < SHORT_SCORE:
        return None
    if not _LETTER_RUN.search(text) or is_watermark(text) or is_fragment(text):
        return None
    return " ".join(segment_word(token) for token in text.split())


def is_fragment(text: str) -> bool:
    """A short line that ends on a word no caption ends on ("calvin and"): the rest of it is not in the frame."""
    words = re.findall(r"[a-z']+", text.lower())
    return 1 < len(words) <= FRAGMENT_WORDS and words[-1] in DANGLING_WORDS and not text.rstrip().endswith(
        ("?", "!", "."))


def at_frame_edge(box: tuple[int, int, int, int], frame_size: tuple[int, int]) -> bool:
    """A small line touching the frame's border: a corner watermark, not a caption (`frame_size` is (width, height))."""
    width, height = frame_size
    x0, y0, x1, y1 = box
    touches = x0 <= EDGE_PX or y0 <= EDGE_PX or x1 >= width - EDGE_PX or y1 >= height - EDGE_PX
    return touches and (y1 - y0) <= EDGE_HEIGHT * height


def _letters(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def merge_lines(lines: Iterable[TextLine]) -> tuple[TextLine, ...]:
    """Lines already cleaned, from every frame read, as one list: a caption read in several frames kept once (its
    best-read version, at its first frame and box), at most MAX_LINES (the tallest), in reading order (frame,
    then top to bottom, left to right)."""
    kept: list[TextLine] = []
    for line in sorted(lines, key=lambda li: (li.frame, li.box[1], li.box[0])):
        key = _letters(line.text)
        for i, old in enumerate(kept):
            if difflib.SequenceMatcher(None, key, _letters(old.text), autojunk=False).ratio() >= SAME_LINE_RATIO:
                if line.score > old.score:
                    kept[i] = TextLine(line.text, old.frame, old.box, line.score)
                break
        else:
            kept.append(line)
    if len(kept) > MAX_LINES:
        tallest = sorted(kept, key=lambda li: li.box[3] - li.box[1], reverse=True)[:MAX_LINES]
        kept = [li for li in kept if li in tallest]
    return tuple(kept)


def clean_lines(raw: Iterable[TextLine], frame_sizes: dict[int, tuple[int, int]] | None = None
                ) -> tuple[TextLine, ...]:
    """`clean_line` on every recognised line, then `merge_lines`; frame_sizes (frame -> (width, height)) also
    drops the small lines at a frame's edge (`at_frame_edge`)."""
    cleaned = []
    for line in raw:
        size = (frame_sizes or {}).get(line.frame)
        if size is not None and at_frame_edge(line.box, size):
            continue
        text = clean_line(line.text, line.score)
        if text:
            cleaned.append(TextLine(text, line.frame, line.box, line.score))
    return merge_lines(cleaned)
