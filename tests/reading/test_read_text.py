"""Reading the words in a clip's frames: real PP-OCRv4 on GIFs written by the test, then the cleaning step."""
from __future__ import annotations

import pytest

from pvse.reading import ReadText, TextLine, clean_line, clean_lines, default_reader, read_clip_text
from pvse.reading.ppocr import merge_into_lines

from .text_gifs import HEIGHT, WIDTH, write_gif


@pytest.fixture(scope="module")
def reader():
    return default_reader()


def words(text: str) -> list[str]:
    return "".join(ch.lower() if ch.isalnum() or ch == "'" else " " for ch in text).split()


def test_a_subtitle_is_read_with_its_frame_and_box(reader, tmp_path):
    path = write_gif(tmp_path / "concentration.gif", ["DID I BREAK YOUR CONCENTRATION"] * 8)
    read = read_clip_text(path, *reader)
    assert words(read.text) == ["did", "i", "break", "your", "concentration"]
    assert len(read.lines) == 1, "the same caption in four frames is one line"
    line = read.lines[0]
    x0, y0, x1, y1 = line.box
    assert 0 <= x0 < x1 <= WIDTH and 150 <= y0 < y1 <= HEIGHT and line.frame in range(8)
    assert read.reader == reader[0].ref == "ppocr-v4@3"


def test_captions_that_change_are_both_caught_in_order(reader, tmp_path):
    path = write_gif(tmp_path / "two.gif", ["NOT REALLY"] * 4 + ["BUT OKAY"] * 4)
    read = read_clip_text(path, *reader)
    assert [words(line.text) for line in read.lines] == [["not", "really"], ["but", "okay"]]
    assert read.lines[0].frame < read.lines[1].frame


def test_a_clip_without_text_reads_nothing(reader, tmp_path):
    path = write_gif(tmp_path / "plain.gif", [None] * 8)
    read = read_clip_text(path, *reader)
    assert read.lines == () and read.text == ""


def test_a_watermark_is_read_and_dropped(reader, tmp_path):
    path = write_gif(tmp_path / "mark.gif", ["GIFSOUP.COM"] * 8)
    assert read_clip_text(path, *reader).lines == ()


def test_bundled_emoji_read_no_words(reader):
    from pathlib import Path
    gallery = Path(__file__).resolve().parents[2] / "gallery" / "noto-emoji"
    for name in ("005-laughing.gif", "009-loudly-crying.gif", "086-x-eyes.gif", "539-monkey.gif", "118-alien-monster.gif"):
        assert read_clip_text(gallery / name, *reader).lines == (), name


@pytest.mark.parametrize("raw, clean", [
    ("Ain'tnobody got time forthat", "Ain't nobody got time for that"),
    ("Idon'tknowwhatIexpected.", "I don't know what I expected."),
    ("THEBUILDISGREEN AGAIN", "THE BUILD IS GREEN AGAIN"),
    ("Did I break your concentration?", "Did I break your concentration?"),
    ("BRB", "BRB"),  # short unknown words stay as read
    ("xQZwqvoomzk", "xQZwqvoomzk"),  # a split into rare pieces is not taken
])
def test_words_that_lost_their_spaces_are_split(raw, clean):
    assert clean_line(raw) == clean


@pytest.mark.parametrize("noise", ["MAKE GIFS AT GIFSOUP.COM", "4GIFs.com", "[adult swim]", "FOX", "aMC",
                                   "www.example.org", "M", "30", "双", "中", "T-T"])
def test_watermarks_logos_and_stray_glyphs_are_dropped(noise):
    assert clean_line(noise) is None


@pytest.mark.parametrize("junk", ["PUPPY GIFS", "gifs", "tacos and", "one of the", "me and"])
def test_gif_channel_marks_and_cut_off_fragments_are_dropped(junk):
    assert clean_line(junk) is None


@pytest.mark.parametrize("caption", ["me and you", "Not really, but okay.", "Who did this?", "and", "so it begins"])
def test_short_captions_that_end_well_are_kept(caption):
    assert clean_line(caption) == caption


def test_a_small_line_at_the_frame_edge_is_a_watermark_but_a_subtitle_is_not():
    corner = TextLine("bobs blog", 1, (2, 400, 67, 420), 0.99)  # 20 px high, touching the left edge of 480 x 420
    subtitle = TextLine("I am not crying", 1, (60, 360, 420, 400), 0.99)  # near the bottom, not touching it
    sign = TextLine("Open late", 1, (150, 100, 330, 160), 0.99)
    kept = clean_lines([corner, subtitle, sign], {1: (480, 420)})
    assert [line.text for line in kept] == ["Open late", "I am not crying"]
    assert [line.text for line in clean_lines([corner])] == ["bobs blog"]  # without the frame's size: kept


def test_low_confidence_lines_are_dropped():
    assert clean_line("hello there", score=0.3) is None and clean_line("hello there", score=0.9) == "hello there"
    # a short line is a face or a texture more often than a word: it needs more confidence
    assert clean_line("XX", score=0.77) is None and clean_line("BS", score=0.64) is None
    assert clean_line("ME", score=0.99) == "ME" and clean_line("com", score=0.99) is None


def test_repeats_across_frames_merge_into_the_best_read_line():
    raw = [TextLine("Deploy approved!...", 2, (10, 100, 200, 120), 0.91),
           TextLine("Deploy approved!..!", 5, (11, 100, 201, 121), 0.97),
           TextLine("Deploy approved...!", 9, (10, 101, 200, 120), 0.90),
           TextLine("双", 9, (0, 0, 10, 10), 0.99)]
    merged = clean_lines(raw)
    assert [(line.text, line.frame) for line in merged] == [("Deploy approved!..!", 2)]


def test_words_split_by_the_detector_are_one_line():
    boxes = [(10, 100, 60, 130), (75, 102, 200, 131), (10, 140, 90, 170), (300, 100, 340, 130)]
    assert merge_into_lines(boxes) == [(10, 100, 200, 131), (10, 140, 90, 170), (300, 100, 340, 130)]


def test_read_text_round_trips_and_rejects_garbage():
    from pvse.errors import GalleryIndexError
    read = ReadText("ppocr-v4@2", (TextLine("hi there", 3, (1, 2, 30, 40), 0.9),))
    assert ReadText.from_dict(read.to_dict()) == ReadText("ppocr-v4@2", (TextLine("hi there", 3, (1, 2, 30, 40), 0.9),))
    for bad in (None, {"reader": 5}, {"reader": "x", "lines": [{"text": 1, "frame": 0, "box": [0, 0, 1, 1],
                                                                "score": 1}]}, {"reader": "x", "lines": [{}]}):
        with pytest.raises(GalleryIndexError, match="read text"):
            ReadText.from_dict(bad)


def test_a_gif_is_found_by_what_it_says_and_the_hit_says_so(tmp_path):
    """End to end with the bundled model: `pvse index` reads the captions, the query meets them through the text
    head, the hit says what the GIF shows, and the sentence head is the last reading."""
    import shutil
    from pathlib import Path

    from pvse.build import build_index
    from pvse.index import read_index
    from pvse.search import Searcher
    gallery = tmp_path / "gifs"
    gallery.mkdir()
    write_gif(gallery / "a.gif", ["DID I BREAK YOUR CONCENTRATION"] * 8)
    write_gif(gallery / "b.gif", ["NOT REALLY"] * 4 + ["BUT OKAY"] * 4)
    bundled = Path(__file__).resolve().parents[2] / "gallery" / "noto-emoji"
    shutil.copy(bundled / "005-laughing.gif", gallery / "c.gif")
    build_index(gallery, tmp_path / "g.index", progress=False)
    index = read_index(tmp_path / "g.index")
    assert index.meta.reader == "ppocr-v4@3" and index.meta.layout.sources == ("read text",)
    assert [c.read_text is not None for c in index.clips] == [True, True, False]
    searcher = Searcher(index, searcher_pipeline())
    result = searcher.search("my reaction when someone breaks my concentration", top_k=3, per_head_k=1)
    top = result.hits[0]
    assert top.path == "a.gif" and top.matched_by.lower().startswith("the words it shows: “did i break your")
    assert top.query_head == index.gif_heads and top.clip_head == index.gif_heads
    assert top.reading == result.sentence_reading == index.gif_heads + 1 and top.matched_source == "read text"
    assert len(result.per_head) == index.gif_heads + 1 and result.per_head[-1].sentence
    assert result.per_head[-1].hits[0].path == "a.gif" and result.sentence_query == "someone breaks my concentration"
    from demo.clip_frames import read_text_frame
    frame, lines = read_text_frame(searcher, top.row)
    assert frame.ndim == 3 and lines and lines[0].frame == top.read_text.lines[0].frame


def searcher_pipeline():
    from pvse.defaults import default_weights
    from pvse.pipeline import PVSEPipeline
    return PVSEPipeline.from_pretrained(default_weights(), device="cpu")


def test_a_pixels_only_index_rerun_with_reading_reads_its_reused_clips(tmp_path):
    """The clips are reused (no decode for the CNN), and their text is read on the rerun."""
    import shutil
    from pathlib import Path

    from pvse.build import build_index
    from pvse.index import read_index
    gallery = tmp_path / "gifs"
    gallery.mkdir()
    write_gif(gallery / "a.gif", ["HOLD THE DOOR"] * 4)
    shutil.copy(Path(__file__).resolve().parents[2] / "gallery" / "noto-emoji" / "005-laughing.gif", gallery / "c.gif")
    pipeline = searcher_pipeline()
    build_index(gallery, tmp_path / "g.index", pipeline=pipeline, progress=False, read_text=False)
    assert [c.read_text for c in read_index(tmp_path / "g.index").clips] == [None, None]
    report = build_index(gallery, tmp_path / "g.index", pipeline=pipeline, progress=False)
    assert (report.reused, report.added) == (2, 0) and "read text" in report.timings
    clips = read_index(tmp_path / "g.index").clips
    assert "door" in clips[0].read_text.text.lower() and clips[1].read_text is None
