"""Sentence -> word tokens the way GloVe 6B's corpus was tokenised (Stanford/PTB style, lowercased).

Words keep inner hyphens and apostrophes ("well-known", "o'clock") except English clitics, which are split
off as GloVe has them ("don't" -> "do", "n't"; "she's" -> "she", "'s"; "can't" -> "ca", "n't"). Numbers keep
their separators ("3.5", "1,000", "10:30"); common emoticons (":)", ";)", ":d") and punctuation runs ("...",
"!!") stay whole; every other visible character cluster (punctuation, an emoji with its modifiers and joiners)
is one token; Chinese and Japanese characters are one token each. The result depends on the text only, not on
any vocabulary, so every word-feature path and learned vocabulary can share it.
"""
from __future__ import annotations

import unicodedata

import regex

DEFAULT_MAX_TOKENS = 64
MAX_TOKEN_CHARS = 100  # longer than any GloVe word (68); keeps a 100 kB "word" from becoming a 100 kB token

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u02bc": "'", "\u2032": "'", "`": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"'})
_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}"
_TOKEN = regex.compile(
    rf"""
    (?P<number>\d+(?:[.,:]\d+)+)
    | (?P<word>[[^\W_]--[{_CJK}]]+(?:['-][[^\W_]--[{_CJK}]]+)*)
    | (?P<cjk>[{_CJK}])
    | (?P<emoticon>[:;=]-?[()]|(?<!\w)[:;=]-?[dpo](?!\w)|<3)
    | (?P<dots>\.{{2,}})
    | (?P<bangs>[!?]{{2,}})
    | (?P<other>(?=[^\p{{C}}\p{{M}}\p{{Z}}\s])\X)
    """,
    regex.VERBOSE | regex.V1,
)
_VISIBLE = regex.compile(r"[^\p{C}\p{M}\p{Z}]")  # \w also matches joiners and marks, which alone show nothing
_CLITIC = regex.compile(r"^(.+?)('s|'m|'re|'ve|'ll|'d)$")


def normalise(text: str) -> str:
    """NFKC, lowercase, typographic quotes and apostrophes made ASCII."""
    return unicodedata.normalize("NFKC", text).lower().translate(_QUOTES)


def tokenize(text: str, max_tokens: int = DEFAULT_MAX_TOKENS) -> list[str]:
    """At most `max_tokens` GloVe-style tokens of `text`; [] when nothing visible is in it.

    Scanning stops once `max_tokens` tokens are found, so a 100 kB string costs little more than its NFKC.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    tokens: list[str] = []
    for match in _TOKEN.finditer(normalise(text)):
        kind, piece = match.lastgroup, match.group()[:MAX_TOKEN_CHARS]
        if not _VISIBLE.search(piece):
            continue
        if kind == "word":
            tokens.extend(_split_clitic(piece))
        elif kind == "dots":
            tokens.append("...")
        elif kind == "bangs":
            tokens.append(piece[:3])
        else:
            tokens.append(piece)
        if len(tokens) >= max_tokens:
            break
    return tokens[:max_tokens]


def _split_clitic(word: str) -> list[str]:
    if "'" not in word:
        return [word]
    if word.endswith("n't") and len(word) > 3:
        return [word[:-3], "n't"]
    match = _CLITIC.match(word)
    return [match[1], match[2]] if match else [word]
