"""Example queries for the gallery being served: the bundled set for the bundled emoji gallery; for a person's
own gallery, its own clips' names or read text (those the model can read), else generic reaction sentences."""
from __future__ import annotations

import os
from pathlib import Path

from pvse.index.clip_words import words_of

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


def examples_from_texts(texts: list[str], knows, how_many: int = HOW_MANY) -> tuple[str, ...]:
    """Up to `how_many` of a gallery's clip texts that read as a query: 1 to 8 words once numbers are dropped, every
    word one the model knows (`knows(word)`), no repeats; picked evenly over the sorted list so they differ."""
    fitting = set()
    for text in texts:
        words = [w for w in words_of(text) if w.isalpha() or "'" in w]
        phrase = " ".join(words)
        if 1 <= len(words) <= 8 and len(phrase) <= 60 and all(knows(w) for w in words):
            fitting.add(phrase)
    ordered = sorted(fitting)
    if len(ordered) <= how_many:
        return tuple(ordered)
    step = len(ordered) / how_many
    return tuple(ordered[int(i * step)] for i in range(how_many))


def examples_for(searcher) -> tuple[str, ...]:
    """The example queries for the gallery `searcher` serves (see the module doc)."""
    if is_bundled_gallery(searcher.gallery_root):
        return EMOJI_QUERIES
    knows = getattr(searcher.pipeline.word_features, "knows", None) or (lambda word: True)
    texts = [text for row_texts in searcher.clip_words.texts.values() for text in row_texts]
    own = examples_from_texts(texts, knows)
    return own if len(own) >= 3 else GENERIC_QUERIES
