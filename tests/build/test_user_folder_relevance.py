"""A user's own folder searched as its owner would: the names they gave their GIFs count by default, and text read
in the frames that means nothing (a GIF channel's mark, a blog's name cut by the frame's edge, a sign word) does
not win over a GIF whose name says what the query says. GIFs the test makes (words drawn on a moving scene), the
bundled model, the real reader and sentence model, `pvse index` with its defaults."""
from __future__ import annotations

import pytest

from pvse.cli import main
from pvse.index import read_index
from pvse.search import Searcher
from tests.media.gif_writer import Frame, gif_bytes
from tests.reading.text_gifs import HEIGHT, PALETTE, WIDTH, scene, with_caption, write_gif

SCENE_ONLY = [None] * 4


def corner_mark(path, text: str) -> None:
    """A clip whose only words are a small mark in the frame's bottom-left corner (a blog's name, cut off)."""
    frames = [Frame(with_caption(scene(i), text, size=12, top=HEIGHT - 13, x=0)) for i in range(4)]
    path.write_bytes(gif_bytes(WIDTH, HEIGHT, frames, PALETTE))


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    root = tmp_path_factory.mktemp("user-folder")
    gallery = root / "my-gifs"
    gallery.mkdir()
    write_gif(gallery / "awkward.gif", SCENE_ONLY)
    write_gif(gallery / "thumbs-up.gif", SCENE_ONLY)
    write_gif(gallery / "crying.gif", SCENE_ONLY)
    write_gif(gallery / "nope-frank.gif", SCENE_ONLY)
    write_gif(gallery / "yeet.gif", ["YEET GIFS"] * 4)  # a channel's mark
    write_gif(gallery / "squircle.gif", ["Square"] * 4)  # a sign word
    corner_mark(gallery / "calvin-faces.gif", "calvin and")  # a blog's name, cut by the frame's edge
    write_gif(gallery / "IMG_0042.gif", SCENE_ONLY)  # a camera's name: no words
    out = root / "my-gifs.index"
    assert main(["index", str(gallery), "--out", str(out), "--quiet", "--device", "cpu"]) == 0
    return Searcher.load(out, device="cpu")


def test_names_are_matched_by_default_and_empty_names_give_no_head(searcher):
    clips = {c.path: c for c in searcher.index.clips}
    assert clips["nope-frank.gif"].name == "nope frank" and clips["IMG_0042.gif"].name is None
    assert "name" in searcher.meta.layout.sources and searcher.meta.matched == ["read text", "name", "caption"]


def test_junk_read_text_is_dropped_when_read(searcher):
    clips = {c.path: c for c in searcher.index.clips}
    assert clips["yeet.gif"].read_text is None  # "YEET GIFS": a GIF channel's mark
    assert clips["calvin-faces.gif"].read_text is None  # a small cut-off line at the frame's edge
    assert clips["squircle.gif"].read_text is not None  # a sign word is read; it must not win on its own


@pytest.mark.parametrize("query, clip", [("so awkward", "awkward.gif"), ("thumbs up", "thumbs-up.gif"),
                                         ("crying", "crying.gif"), ("nope", "nope-frank.gif"),
                                         ("my reaction when I just want to cry", "crying.gif")])
def test_the_clip_named_for_the_query_comes_first(searcher, query, clip):
    hits = searcher.search(query, top_k=3).hits
    assert hits[0].path == clip and hits[0].matched_by == "its name", [(h.path, h.matched_by) for h in hits]


def test_a_sign_word_does_not_outrank_names_that_mean_something(searcher):
    """"Square" (a sign in the scene) is short and generic: for a query about crying the named clips come first."""
    hits = [h.path for h in searcher.search("crying my eyes out", top_k=8).hits]
    assert hits.index("crying.gif") < hits.index("squircle.gif")


def test_with_no_names_the_names_are_kept_for_display_only(tmp_path):
    gallery = tmp_path / "g"
    gallery.mkdir()
    write_gif(gallery / "awkward.gif", SCENE_ONLY)
    write_gif(gallery / "crying.gif", SCENE_ONLY)
    out = tmp_path / "g.index"
    assert main(["index", str(gallery), "--out", str(out), "--quiet", "--device", "cpu", "--no-names"]) == 0
    index = read_index(out)
    assert index.meta.layout is None and index.meta.matched == ["read text", "caption"]
    assert index.text_heads == 0


def test_an_index_that_reads_nothing_says_it_matches_no_read_text(tmp_path):
    gallery = tmp_path / "g"
    gallery.mkdir()
    write_gif(gallery / "awkward.gif", ["SO AWKWARD"] * 4)
    out = tmp_path / "g.index"
    assert main(["index", str(gallery), "--out", str(out), "--quiet", "--device", "cpu", "--no-read-text"]) == 0
    index = read_index(out)
    assert index.meta.matched == ["name", "caption"] and index.meta.layout.sources == ("name",)
    assert index.clips[0].read_text is None
