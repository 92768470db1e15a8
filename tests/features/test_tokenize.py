"""GloVe-path tokeniser: PTB-style clitics, punctuation, emoji clusters, non-Latin scripts, caps."""
import time

import pytest

from pvse.features.tokenize import MAX_TOKEN_CHARS, tokenize


@pytest.mark.parametrize("text, expected", [
    ("Hello, world!", ["hello", ",", "world", "!"]),
    ("(Yes); no: \"maybe\"?", ["(", "yes", ")", ";", "no", ":", '"', "maybe", '"', "?"]),
    ("wow...!!!!", ["wow", "...", "!!!"]),
    ("It cost $1,000 at 10:30, 3.5 times more.", ["it", "cost", "$", "1,000", "at", "10:30", ",", "3.5", "times",
                                                  "more", "."]),
    ("well-known x-ray o'clock", ["well-known", "x-ray", "o'clock"]),
    ("lol :) :D ;-) <3", ["lol", ":)", ":d", ";-)", "<3"]),
    ("re:design", ["re", ":", "design"]),
    ("snake_case #tag", ["snake", "_", "case", "#", "tag"]),
    ("Ｆｕｌｌｗｉｄｔｈ ﬁne", ["fullwidth", "fine"]),  # NFKC
])
def test_words_numbers_and_punctuation(text, expected):
    assert tokenize(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("don't", ["do", "n't"]),
    ("Can't", ["ca", "n't"]),
    ("won't", ["wo", "n't"]),
    ("I'm", ["i", "'m"]),
    ("she's", ["she", "'s"]),
    ("they're", ["they", "'re"]),
    ("we've", ["we", "'ve"]),
    ("you'll", ["you", "'ll"]),
    ("he'd", ["he", "'d"]),
    ("don\u2019t", ["do", "n't"]),  # typographic apostrophe
])
def test_contractions_split_as_glove_has_them(text, expected):
    assert tokenize(text) == expected


def test_emoji_are_whole_grapheme_clusters():
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
    thumbs_dark = "\U0001F44D\U0001F3FD"
    flag = "\U0001F1EB\U0001F1F7"
    heart = "\u2764\ufe0f"
    assert tokenize(f"😂😂 {thumbs_dark}{family} {heart} {flag} ok") == \
        ["😂", "😂", thumbs_dark, family, heart, flag, "ok"]


def test_non_latin_scripts():
    assert tokenize("我喜欢猫") == ["我", "喜", "欢", "猫"]
    assert tokenize("ねこ 고양이") == ["ね", "こ", "고양이"]
    assert tokenize("مرحبا بالعالم") == ["مرحبا", "بالعالم"]
    assert tokenize("Café NAÏVE") == ["café", "naïve"]


@pytest.mark.parametrize("text", ["", "   \n\t ", "\u200b\u200d\ufe0f", "\x00\x01"])
def test_nothing_visible_gives_no_tokens(text):
    assert tokenize(text) == []


def test_caps_tokens_and_token_length():
    start = time.perf_counter()
    tokens = tokenize("happy dog, " * 10_000)  # 110 kB
    assert time.perf_counter() - start < 1.0
    assert len(tokens) == 64 and tokens[:3] == ["happy", "dog", ","]
    assert len(tokenize("don't " * 100, max_tokens=5)) == 5  # a clitic split at the cap does not overflow it
    assert tokenize("😀" * 50_000, max_tokens=3) == ["😀"] * 3
    (word,) = tokenize("a" * 100_000)
    assert len(word) == MAX_TOKEN_CHARS


def test_rejects_bad_arguments():
    with pytest.raises(TypeError):
        tokenize(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        tokenize("hi", max_tokens=0)
