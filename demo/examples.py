"""Example queries for the gallery being served: the bundled set for the bundled emoji gallery; for a person's
own gallery, its own clips' names, captions or read text as written (apostrophes kept, those the model can read,
none with a word of `PROFANE_WORDS`), else generic reaction sentences."""
from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

import regex

from pvse.index.captions import DEVICE_WORDS

if TYPE_CHECKING:
    from pvse.search.searcher import Searcher

EMOJI_QUERIES = (
    "my reaction when my code compiles on the first try",
    "me pretending everything is fine",
    "when the meeting could have been an email",
    "I can't stop laughing",
    "so proud of you",
    "nervous sweating before the exam",
    "sending you a big hug",
    "good night, sleep well",
)
GENERIC_QUERIES = (
    "I can't stop laughing",
    "when the meeting could have been an email",
    "me pretending everything is fine",
    "so proud of you",
    "that awkward moment",
    "mind blown",
)
HOW_MANY = 8


def is_bundled_gallery(gallery_root: Path) -> bool:
    """Whether `gallery_root` is the bundled emoji gallery (a checkout's copy or the downloaded one; no network)."""
    from pvse.defaults import DEFAULT_GALLERY, GALLERY_FOLDER, checkout_dir, download_dir

    here = os.path.realpath(gallery_root)
    homes = [checkout_dir(DEFAULT_GALLERY), download_dir(DEFAULT_GALLERY)]
    return any(home is not None and os.path.realpath(Path(home) / GALLERY_FOLDER) == here for home in homes)


# Words no example query offered to everyone should carry (an example is shown before anyone typed anything); a
# clip so named is still found when someone types the word. Matched whole, once cased down and the apostrophes left out.
PROFANE_WORDS = frozenset("""
fuck fucks fucked fucker fuckers fucking fuckin motherfucker motherfucking wtf stfu shit shits shitty shitting
bullshit bitch bitches bitching ass asses asshole assholes arse arsehole dick dicks dickhead cock cocks cunt cunts
pussy piss pissed pissing bastard bastards damn dammit goddamn slut sluts whore whores twat wanker bollocks prick
douche douchebag tits titties boobs crap porn horny nsfw fag faggot retard retarded nigga nigger
""".split())
# A word as written: letters, with an apostrophe inside ("ain't", "don’t") kept.
_WORD = regex.compile(r"\p{L}+(?:['’]\p{L}+)*")


def is_profane(text: str) -> bool:
    """Whether any word of `text` is one of PROFANE_WORDS (case and apostrophes ignored: "F*ck" is not caught,
    "FUCK" and "fuckin'" are)."""
    return any(word.replace("'", "").replace("’", "") in PROFANE_WORDS
               for word in _WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def examples_from_texts(texts: list[str], knows, how_many: int = HOW_MANY) -> tuple[str, ...]:
    """Up to `how_many` of a gallery's clip texts that read as a query: 1 to 8 words once numbers and punctuation
    are dropped, words kept as written ("ain't" stays "ain't"; lower case), every word one the model knows
    (`knows(word)`), none profane (`is_profane`) nor only a camera's words ("img"), no repeats (of two spellings
    that differ only by apostrophes the one with them is kept: the name "aint nobody" and the words shown "AIN'T
    NOBODY" give "ain't nobody"); picked evenly over the sorted list so they differ."""
    fitting: dict[str, str] = {}
    for text in texts:
        words = [w.replace("’", "'") for w in _WORD.findall(unicodedata.normalize("NFKC", text).casefold())]
        phrase = " ".join(words)
        if not 1 <= len(words) <= 8 or len(phrase) > 60 or is_profane(phrase) or not all(knows(w) for w in words):
            continue
        if all(w in DEVICE_WORDS for w in words):  # "IMG_0042", "Screenshot (3)": a camera's name, not a query
            continue
        key = phrase.replace("'", "")
        if phrase.count("'") > fitting.get(key, "").count("'") or key not in fitting:
            fitting[key] = phrase
    ordered = sorted(fitting.values())
    if len(ordered) <= how_many:
        return tuple(ordered)
    step = len(ordered) / how_many
    return tuple(ordered[int(i * step)] for i in range(how_many))


def examples_for(searcher: Searcher) -> tuple[str, ...]:
    """The example queries for the gallery `searcher` serves (see the module doc)."""
    if is_bundled_gallery(searcher.gallery_root):
        return EMOJI_QUERIES
    knows = searcher.pipeline.knows  # whether the model reads a word as such (any word, for a learned vocabulary)
    texts = [text for row_texts in searcher.clip_words.texts.values() for text in row_texts]
    own = examples_from_texts(texts, knows)
    return own if len(own) >= 3 else GENERIC_QUERIES
