"""GIFs that browsers show and strict decoders refuse, written byte by byte (gif_writer): each decodes to
what a browser shows, and the whole corpus indexes through build_index; broken files are skipped with a reason."""
from __future__ import annotations

import struct

import numpy as np
import pytest
from gif_writer import (
    Frame,
    application,
    comment,
    gif_bytes,
    graphic_control,
    lzw_encode,
    netscape_loop,
    sub_blocks,
)

from pvse.build import build_index
from pvse.errors import MediaError
from pvse.index import read_index
from pvse.media import decode_all_frames, decode_clip
from tests.helpers.models import tiny_pipeline

WHITE = (255, 255, 255)
PALETTE = [(0, 0, 0), (220, 30, 30), (30, 200, 40), (30, 40, 220), (240, 220, 30), (200, 30, 200), (30, 210, 210),
           (128, 128, 128)]
BLACK, RED, GREEN, BLUE, YELLOW, MAGENTA, CYAN, GREY = range(8)


def fill(h: int, w: int, index: int) -> np.ndarray:
    return np.full((h, w), index, np.uint8)


def rgb(index: int, palette=PALETTE) -> np.ndarray:
    return np.array(palette[index], np.uint8)


def three_frames(**kwargs) -> list[Frame]:
    """16x16 frames of red, green, blue (distinct, so frame counts and order are visible)."""
    return [Frame(fill(16, 16, c), **kwargs) for c in (RED, GREEN, BLUE)]


def frame_colours(frames) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in f.reshape(-1, 3).mean(0).round()) for f in frames]


# --------------------------------------------------------------------------------------------
# the corpus: name -> bytes, (expected frame count, expected colours of every frame or None)

def _disposal_case(disposal: int) -> bytes:
    """Grey canvas, then a 4x4 red square at (2, 3) with `disposal`, then one blue pixel at (15, 15)."""
    frames = [Frame(fill(16, 16, GREY), disposal=1), Frame(fill(4, 4, RED), left=2, top=3, disposal=disposal),
              Frame(fill(1, 1, BLUE), left=15, top=15)]
    return gif_bytes(16, 16, frames, PALETTE)


CORPUS: dict[str, bytes] = {
    "latin1-comment.gif": gif_bytes(16, 16, [Frame(fill(16, 16, c), before=comment("PolyView® ½".encode("latin-1")))
                                             for c in (RED, GREEN, BLUE)], PALETTE,
                                    header_blocks=comment(b"\xff\xfe\xae caf\xe9") + netscape_loop(0)),
    "comment-after-last-frame.gif": gif_bytes(16, 16, three_frames(), PALETTE, trailer=comment(b"made by X") + b";"),
    "empty-comment-no-trailer.gif": gif_bytes(16, 16, three_frames(), PALETTE, trailer=b"\x21\xfe\x00"),
    "no-trailer.gif": gif_bytes(16, 16, three_frames(), PALETTE, trailer=b""),
    "junk-after-trailer.gif": gif_bytes(16, 16, three_frames(), PALETTE, trailer=b";\x00garbage\x2c\x01"),
    "junk-instead-of-trailer.gif": gif_bytes(16, 16, three_frames(), PALETTE, trailer=b"\x00\x00junk"),
    "application-blocks.gif": gif_bytes(
        16, 16, [Frame(fill(16, 16, RED), before=application(b"XMP DataXMP", bytes(range(256)) * 3)),
                 Frame(fill(16, 16, GREEN), before=netscape_loop(7)),
                 Frame(fill(16, 16, BLUE), before=application(b"ImageMagick", b"gamma=0.45"))], PALETTE,
        header_blocks=netscape_loop(0) + netscape_loop(3)),
    "no-loop-extension.gif": gif_bytes(16, 16, three_frames(), PALETTE, header_blocks=b""),
    "odd-loop-extension.gif": gif_bytes(16, 16, three_frames(), PALETTE,
                                        header_blocks=application(b"NETSCAPE2.0", b"\x01\x00")
                                        + application(b"NETSCAPE2.0", b"\x01\x05\x00\x99\x99")
                                        + application(b"ANIMEXTS1.0", b"\x01\x00\x00")),
    "zero-delay.gif": gif_bytes(16, 16, three_frames(delay_cs=0), PALETTE),
    "no-graphic-control-gif87a.gif": gif_bytes(16, 16, three_frames(control=False), PALETTE, version=b"87a",
                                               header_blocks=b""),
    "local-palettes.gif": gif_bytes(16, 16, [Frame(fill(16, 16, 1), palette=[(0, 0, 0), (250, 10, 10)]),
                                             Frame(fill(16, 16, 1), palette=[(0, 0, 0), (10, 250, 10)]),
                                             Frame(fill(16, 16, 1))], PALETTE),
    "local-palettes-no-global.gif": gif_bytes(16, 16, [Frame(fill(16, 16, 0), palette=[(250, 10, 10)]),
                                                       Frame(fill(16, 16, 0), palette=[(10, 10, 250)])], None),
    "interlaced.gif": gif_bytes(16, 19, [Frame(np.arange(19 * 16, dtype=np.uint8).reshape(19, 16) % 8,
                                               interlaced=True)] * 2, PALETTE),
    "offset-small-frames.gif": gif_bytes(32, 32, [Frame(fill(8, 8, RED), left=10, top=12),
                                                  Frame(fill(8, 8, GREEN), left=20, top=2)], PALETTE),
    "first-frame-larger-than-screen.gif": gif_bytes(16, 16, [Frame(fill(24, 32, RED), left=5, top=5),
                                                             Frame(fill(24, 32, GREEN))], PALETTE),
    "later-frame-larger-than-canvas.gif": gif_bytes(16, 16, [Frame(fill(16, 16, RED)),
                                                             Frame(fill(40, 30, GREEN), left=8, top=4),
                                                             Frame(fill(4, 4, BLUE), left=100, top=100)], PALETTE),
    "transparency.gif": gif_bytes(16, 16, [Frame(fill(16, 16, RED)),
                                           Frame(np.where(np.arange(16)[None, :] < 8, BLACK, GREEN)
                                                 .repeat(16, 0).astype(np.uint8), transparency=BLACK)], PALETTE),
    "transparent-first-frame.gif": gif_bytes(16, 16, [Frame(fill(16, 16, BLACK), transparency=BLACK),
                                                      Frame(fill(16, 16, RED))], PALETTE),
    "dispose-none.gif": _disposal_case(1),
    "dispose-background.gif": _disposal_case(2),
    "dispose-previous.gif": _disposal_case(3),
    "dispose-previous-as-4.gif": _disposal_case(4),
}


# --------------------------------------------------------------------------------------------
# each quirk decodes as a browser shows it


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gif-quirks")
    for name, data in CORPUS.items():
        (folder / name).write_bytes(data)
    return folder


def _frames(corpus_dir, name):
    return decode_all_frames(corpus_dir / name)


@pytest.mark.parametrize("name", [n for n in CORPUS if n.endswith(("comment.gif", "trailer.gif", "blocks.gif",
                                                                    "extension.gif", "delay.gif", "gif87a.gif"))])
def test_blocks_anywhere_do_not_change_the_frames(corpus_dir, name):
    frames = _frames(corpus_dir, name)
    assert frame_colours(frames) == [tuple(PALETTE[c]) for c in (RED, GREEN, BLUE)]
    clip = decode_clip(corpus_dir / name, num_frames=8)
    assert clip.num_source_frames == 3  # a comment after the last frame is no frame; the file is whole
    assert clip.frames.shape == (8, 16, 16, 3)


def test_local_palettes(corpus_dir):
    assert frame_colours(_frames(corpus_dir, "local-palettes.gif")) == [(250, 10, 10), (10, 250, 10), PALETTE[1]]
    assert frame_colours(_frames(corpus_dir, "local-palettes-no-global.gif")) == [(250, 10, 10), (10, 10, 250)]


def test_interlaced_rows_come_out_in_order(corpus_dir):
    expected = np.array(PALETTE, np.uint8)[np.arange(19 * 16).reshape(19, 16) % 8]
    for frame in _frames(corpus_dir, "interlaced.gif"):
        np.testing.assert_array_equal(frame, expected)


def test_offset_frames_smaller_than_the_canvas(corpus_dir):
    first, second = _frames(corpus_dir, "offset-small-frames.gif")
    expected = np.full((32, 32, 3), 255, np.uint8)
    expected[12:20, 10:18] = rgb(RED)
    np.testing.assert_array_equal(first, expected)
    expected[2:10, 20:28] = rgb(GREEN)  # no disposal: the red square stays
    np.testing.assert_array_equal(second, expected)


def test_first_frame_larger_than_the_screen_resizes_the_canvas(corpus_dir):
    frames = _frames(corpus_dir, "first-frame-larger-than-screen.gif")
    assert [f.shape for f in frames] == [(24, 32, 3)] * 2  # the browsers' rule: its offset is dropped too
    assert (frames[0] == rgb(RED)).all() and (frames[1] == rgb(GREEN)).all()


def test_later_frames_are_clipped_to_the_canvas(corpus_dir):
    frames = _frames(corpus_dir, "later-frame-larger-than-canvas.gif")
    assert [f.shape for f in frames] == [(16, 16, 3)] * 3
    expected = np.broadcast_to(rgb(RED), (16, 16, 3)).copy()
    expected[4:, 8:] = rgb(GREEN)
    np.testing.assert_array_equal(frames[1], expected)
    np.testing.assert_array_equal(frames[2], expected)  # wholly outside the canvas: nothing drawn


def test_transparency_shows_the_canvas_below(corpus_dir):
    _, second = _frames(corpus_dir, "transparency.gif")
    assert (second[:, :8] == rgb(RED)).all() and (second[:, 8:] == rgb(GREEN)).all()
    first, _ = _frames(corpus_dir, "transparent-first-frame.gif")
    assert (first == 255).all()  # nothing drawn yet: white, as on a white page


@pytest.mark.parametrize("name, square", [("dispose-none.gif", RED), ("dispose-background.gif", None),
                                          ("dispose-previous.gif", GREY), ("dispose-previous-as-4.gif", GREY)])
def test_disposal_methods(corpus_dir, name, square):
    frames = _frames(corpus_dir, name)
    shown = np.broadcast_to(rgb(GREY), (16, 16, 3)).copy()
    shown[3:7, 2:6] = rgb(RED)
    np.testing.assert_array_equal(frames[1], shown)
    shown[3:7, 2:6] = WHITE if square is None else rgb(square)  # disposed of before the third frame is drawn
    shown[15, 15] = rgb(BLUE)
    np.testing.assert_array_equal(frames[2], shown)


def test_restore_to_previous_on_the_first_frame_restores_white(tmp_path):
    path = tmp_path / "first-previous.gif"
    path.write_bytes(gif_bytes(8, 8, [Frame(fill(4, 4, RED), disposal=3), Frame(fill(1, 1, BLUE), left=7, top=7)],
                               PALETTE))
    second = decode_all_frames(path)[1]
    assert (second[:7, :7] == 255).all() and (second[7, 7] == rgb(BLUE)).all()


def test_lzw_data_ending_early_leaves_the_rest_transparent(tmp_path):
    """A complete file whose second frame's LZW data stops half way (a buggy encoder): browsers draw the rows
    that decoded and leave the rest of that frame transparent."""
    whole = lzw_encode(fill(16, 16, GREEN).tobytes(), 8)
    second = graphic_control() + b"\x2c" + struct.pack("<4H", 0, 0, 16, 16) + b"\x00" + b"\x08" + sub_blocks(
        whole[:len(whole) // 2])
    path = tmp_path / "short-lzw.gif"
    path.write_bytes(gif_bytes(16, 16, [Frame(fill(16, 16, RED))], PALETTE, trailer=second + b";"))
    frames = decode_all_frames(path)
    assert len(frames) == 2
    assert (frames[1][0] == rgb(GREEN)).all()  # the decoded first row is drawn
    assert (frames[1][-1] == rgb(RED)).all()  # the undecoded last row shows the frame below


# --------------------------------------------------------------------------------------------
# broken files stay errors with a clear reason


@pytest.mark.parametrize("data, words", [
    (gif_bytes(16, 16, three_frames(), PALETTE)[:-40], ("truncated", "frame 3")),
    (gif_bytes(16, 16, [], PALETTE), ("no image",)),
    (b"GIF89a\x10\x00", ("not a GIF", "header")),
    (gif_bytes(16, 16, [Frame(fill(4, 4, 0))], None), ("no colour table",)),
])
def test_broken_gifs_are_clear_errors(tmp_path, data, words):
    path = tmp_path / "broken.gif"
    path.write_bytes(data)
    with pytest.raises(MediaError) as info:
        decode_clip(path)
    for word in words:
        assert word in info.value.reason


def test_max_size_shrinks_while_decoding(corpus_dir):
    clip = decode_clip(corpus_dir / "offset-small-frames.gif", num_frames=2, max_size=(16, 40))
    assert clip.frames.shape == (2, 32, 16, 3)  # only the axis over the bound shrinks


# --------------------------------------------------------------------------------------------
# the whole corpus indexes through the real build path


def test_the_corpus_indexes_completely(corpus_dir, tmp_path):
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    for path in corpus_dir.iterdir():
        (gallery / path.name).write_bytes(path.read_bytes())
    (gallery / "cut-mid-frame.gif").write_bytes(CORPUS["dispose-previous.gif"][:-30])
    (gallery / "not-a-gif.gif").write_text("a shopping list, not a GIF")
    pipeline = tiny_pipeline(tmp_path / "w", num_embeds=2, embed_dim=16, num_frames=2)
    report = build_index(gallery, tmp_path / "gallery.index", pipeline=pipeline, progress=False)
    failed = dict(report.failed)
    assert set(failed) == {"cut-mid-frame.gif", "not-a-gif.gif"}, failed
    assert "truncated" in failed["cut-mid-frame.gif"] and "decode" in failed["not-a-gif.gif"]
    assert report.indexed == len(CORPUS)
    assert {c.path for c in read_index(tmp_path / "gallery.index").clips} == set(CORPUS)
