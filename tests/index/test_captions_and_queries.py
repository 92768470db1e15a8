"""Captions files (manifest.tsv, CSV, JSON) and query clean-up (empty, long, emoji, non-Latin)."""
import json

import pytest

from pvse.errors import GalleryIndexError, QueryError
from pvse.index.captions import match_captions, read_captions, words_from_path
from pvse.search.query_text import MAX_QUERY_CHARS, prepare_query


def test_reads_the_bundled_manifest_format(shared_dir):
    entries = read_captions(shared_dir / "manifest.tsv")
    smile = entries["001-smile.gif"]
    assert smile.name == "Smile" and smile.caption is None
    assert smile.metadata["cldr_name"] == "grinning face"
    assert "happy" in smile.metadata["keywords"]
    assert "file" not in smile.metadata and "name" not in smile.metadata


def test_csv_json_and_jsonl(tmp_path):
    (tmp_path / "c.csv").write_text("path,caption,mood\n./a/x.gif,when it works,happy\n")
    assert read_captions(tmp_path / "c.csv")["a/x.gif"].caption == "when it works"
    assert read_captions(tmp_path / "c.csv")["a/x.gif"].metadata == {"mood": "happy"}
    (tmp_path / "c.json").write_text(json.dumps({"x.gif": "plain caption", "y.gif": {"name": "Y", "src": "z"}}))
    got = read_captions(tmp_path / "c.json")
    assert got["x.gif"].caption == "plain caption" and got["y.gif"].name == "Y" and got["y.gif"].metadata == {"src": "z"}
    (tmp_path / "c.jsonl").write_text('{"file": "q.gif", "text": "hi"}\n\n')
    assert read_captions(tmp_path / "c.jsonl")["q.gif"].caption == "hi"


def test_bad_captions_files_are_clear_errors(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(GalleryIndexError, match="not valid json"):
        read_captions(tmp_path / "bad.json")
    (tmp_path / "nopath.tsv").write_text("name\tcaption\nA\tb\n")
    with pytest.raises(GalleryIndexError, match="no path column"):
        read_captions(tmp_path / "nopath.tsv")
    with pytest.raises(GalleryIndexError, match="cannot read"):
        read_captions(tmp_path / "missing.tsv")


def test_bare_file_names_match_unique_clips_anywhere():
    entries = read_captions_from_dict({"x.gif": "X", "dup.gif": "D", "sub/y.gif": "Y"})
    matched = match_captions(entries, ["deep/x.gif", "a/dup.gif", "b/dup.gif", "sub/y.gif"])
    assert matched["deep/x.gif"].caption == "X" and matched["sub/y.gif"].caption == "Y"
    assert "a/dup.gif" not in matched and "b/dup.gif" not in matched  # ambiguous: not guessed


def read_captions_from_dict(mapping):
    from pvse.index.captions import CaptionEntry
    return {k: CaptionEntry(caption=v) for k, v in mapping.items()}


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\u200b\u200d", None])
def test_empty_queries_are_friendly_errors(text):
    with pytest.raises(QueryError, match="empty|must be text"):
        prepare_query(text)


def test_long_query_is_cut_on_a_word_boundary():
    prepared = prepare_query("happy dance " * 10_000)  # ~120 kB
    assert len(prepared.text) <= MAX_QUERY_CHARS and prepared.text.endswith(("happy", "dance"))
    assert "very long" in prepared.notes[0]


def test_emoji_become_words_and_modifiers_disappear():
    prepared = prepare_query("😂👍🏽 ❤️")
    assert prepared.text == "face with tears of joy thumbs up sign heavy black heart"
    assert "Emoji were read as words" in prepared.notes[0]
    assert prepare_query("🇫🇷").text == ""  # a flag alone: no words (the searcher says so)


def test_non_latin_and_accented_text_pass_through():
    assert prepare_query("  猫が  好き ").text == "猫が 好き"
    assert prepare_query("café déjà vu").text == "café déjà vu"
    assert prepare_query("e\u0301te\u0301").text == "e\u0301te\u0301"  # combining accents stay


@pytest.mark.parametrize("path, caption", [
    ("reactions/annoyed/eye-roll_2.gif", "eye roll (annoyed)"),
    ("src/assets/gifs/60-percent-of-the-time.gif", "percent of the time"),
    ("slowClap.GIF", "slow clap"),
    ("HTTPServerError.webp", "http server error"),
    ("happy/IMG_1234.gif", "happy"),
    ("2020/IMG_0001.gif", None),
])
def test_words_from_path_split_names_and_drop_numbers_extensions_and_storage_folders(path, caption):
    assert words_from_path(path) == caption


def test_bytes_that_are_not_utf8_are_left_out_with_a_note():
    import os

    prepared = prepare_query(os.fsdecode(b"\xff\xfe laughing") + " so \ud800hard")  # as `pvse search` receives it
    assert prepared.text == "laughing so hard" and prepared.notes == ["Left out 3 byte(s) that are not UTF-8 text."]
    with pytest.raises(QueryError, match="the query is empty"):
        prepare_query(os.fsdecode(b"\xff\xfe\x80"))
