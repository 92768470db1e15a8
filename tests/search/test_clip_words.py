"""The words of a gallery's own texts: what makes a word the model does not know still findable."""
from pvse.index.records import ClipRecord
from pvse.reading.types import ReadText, TextLine
from pvse.search.clip_words import CLIP_TEXTS, ClipWords, display_name, words_of


def record(path, name=None, caption=None, read_text=()):
    read = ReadText("ppocr-v4@3", tuple(TextLine(line, 0, (0, 0, 10, 10), 0.9) for line in read_text)) \
        if read_text else None
    return ClipRecord(path, "hash", 4, name, caption, read_text=read)


CLIPS = [record("reactions/multi-facepalm.gif"), record("a.gif", name="Yeet!"),
         record("b.gif", caption="when the build is green"), record("c.gif", read_text=["NOT REALLY,", "BUT OKAY"]),
         record("IMG_0001.gif")]


def test_words_come_from_names_captions_file_names_and_read_text():
    words = ClipWords.from_records(enumerate(CLIPS))
    assert words.matches(["facepalm"]) == {0: [("facepalm", "file name")]}
    assert words.matches(["yeet"]) == {1: [("yeet", "name")]}
    assert words.matches(["Green"]) == {2: [("Green", "caption")]}
    assert words.matches(["okay"]) == {3: [("okay", "text")]}
    assert words.knows("FacePalm") and words.knows("multi-facepalm") and not words.knows("facepalms")
    assert not words.knows("xqzv") and not words.knows("") and words.matches(["xqzv", "!!"]) == {}
    assert [row for row, _ in words.matches(["build", "green", "yeet"]).items()] == [2, 1]  # most words first
    assert [source for source, _ in CLIP_TEXTS] == ["name", "caption", "file name", "text"]


def test_display_name_is_the_name_else_caption_else_file_name():
    assert [display_name(c) for c in CLIPS] == ["multi-facepalm", "Yeet!", "when the build is green", "c", "IMG_0001"]
    assert words_of("Ｎｇｌ, bruh") == ["ngl", "bruh"]
