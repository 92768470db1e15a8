"""demo.drawing: the pictures are checked pixel by pixel against the numbers they draw."""
import numpy as np
import pytest

from demo import drawing

GAP = 4


def _frames(t=5, h=40, w=30, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(t)]


def _luminance(rgb):
    rgb = np.asarray(rgb, dtype=float)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def test_rescale_per_head_makes_each_rows_max_one_and_keeps_zero_rows():
    att = np.array([[0.1, 0.3, 0.6], [0.0, 0.0, 0.0], [0.5, 0.25, 0.25]])
    out = drawing.rescale_per_head(att)
    np.testing.assert_allclose(out[0], [1 / 6, 0.5, 1.0])
    np.testing.assert_array_equal(out[1], 0.0)
    np.testing.assert_allclose(out[2], [1.0, 0.5, 0.5])
    assert drawing.rescale_per_head(np.zeros((2, 0))).shape == (2, 0)
    with pytest.raises(ValueError):
        drawing.rescale_per_head(np.ones(3))


def test_heat_colours_follow_the_colormap_and_clip():
    colors = drawing.heat_rgb(np.linspace(0, 1, 6))
    assert colors.dtype == np.uint8 and colors.shape == (6, 3)
    assert np.all(np.diff(_luminance(colors)) > 0)  # viridis: dark purple (low) to yellow (high)
    np.testing.assert_array_equal(drawing.heat_rgb(np.array([-3.0, 7.0, np.nan])),
                                  drawing.heat_rgb(np.array([0.0, 1.0, 0.0])))


def _bar_centre(layout, k, t, frame_px, bar_px):
    row, col = divmod(t, layout["columns"])
    y = GAP + row * layout["block"] + layout["number_px"] + frame_px + GAP + k * (bar_px + GAP) + bar_px // 2
    return y, layout["label_px"] + GAP + col * layout["cell"] + frame_px // 2


@pytest.mark.parametrize("columns", [None, 2])
def test_frame_strip_draws_each_heads_weights_under_the_right_frame(columns):
    frames, frame_px, bar_px = _frames(5), 48, 12
    att = np.random.default_rng(1).dirichlet(np.ones(5), size=3)
    img = np.asarray(drawing.frame_strip(frames, att, columns=columns, frame_px=frame_px, bar_px=bar_px))
    layout = drawing.strip_layout(5, 3, columns=columns, frame_px=frame_px, bar_px=bar_px)
    assert img.shape == (layout["height"], layout["width"], 4)
    assert layout["rows"] == (1 if columns is None else 3)
    weights = drawing.rescale_per_head(att)
    for k in range(3):
        for t in range(5):
            y, x = _bar_centre(layout, k, t, frame_px, bar_px)
            assert tuple(img[y, x][:3]) == drawing.ATTENTION_COLOR or weights[k, t] < 0.01
            assert abs(int(img[y, x][3]) - 255 * weights[k, t]) <= 1, f"head {k} frame {t}"  # opacity = weight


def test_frame_strip_is_transparent_so_it_reads_on_light_and_dark_pages():
    img = np.asarray(drawing.frame_strip(_frames(3), np.array([[0.1, 0.8, 0.1]]), matched_head=0, frame_px=32))
    assert img[0, 0, 3] == 0 and img[-1, -1, 3] == 0  # no white box around the figure
    on_white, on_dark = (_composite(img, background) for background in ((255, 255, 255), (11, 15, 25)))
    label = img[..., 3] > 0
    label[:, drawing.LABEL_PX:] = False  # the h1 label left of the bars
    for page, background in ((on_white, 255), (on_dark, 15)):
        assert np.abs(_luminance(page[label]) - background).max() > 80  # the label stands out on both


def _composite(rgba, background):
    alpha = rgba[..., 3:4] / 255.0
    return rgba[..., :3] * alpha + np.asarray(background, float) * (1 - alpha)


def test_frame_strip_marks_the_matched_head_and_fades_frames_it_ignores():
    frames = [np.full((20, 20, 3), 0, dtype=np.uint8) for _ in range(4)]  # black frames show the fading
    att = np.array([[0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1]])
    frame_px, bar_px = 32, 10
    plain = np.asarray(drawing.frame_strip(frames, att, frame_px=frame_px, bar_px=bar_px))
    marked = np.asarray(drawing.frame_strip(frames, att, matched_head=1, frame_px=frame_px, bar_px=bar_px))
    layout = drawing.strip_layout(4, 2, frame_px=frame_px, bar_px=bar_px)
    red = np.all(marked == drawing.MARK_COLOR, axis=-1)
    row_top = GAP + layout["number_px"] + frame_px + GAP + (bar_px + GAP)  # head 1's bar row
    assert red[row_top - 2: row_top + bar_px + 2, drawing.LABEL_PX:].any()
    assert not red[: row_top - 2, drawing.LABEL_PX:].any()  # nothing else is outlined
    assert not np.all(plain == drawing.MARK_COLOR, axis=-1).any()
    centre = GAP + layout["number_px"] + frame_px // 2
    xs = [drawing.LABEL_PX + GAP + t * (frame_px + GAP) + frame_px // 2 for t in range(4)]
    assert [tuple(plain[centre, x]) for x in xs] == [(0, 0, 0, 255)] * 4
    alpha = [int(marked[centre, x][3]) for x in xs]
    assert alpha[0] == 255 and all(a < 160 for a in alpha[1:])  # attended frame intact, the others faded


def test_frame_strip_without_heads_and_bad_input():
    img = drawing.frame_strip(_frames(3), np.zeros((0, 3)), frame_px=32)
    assert img.size == (3 * 36 + GAP, 32 + 2 * GAP + GAP)
    with pytest.raises(ValueError, match="T=3"):
        drawing.frame_strip(_frames(3), np.ones((2, 4)))
    with pytest.raises(ValueError, match="heads"):
        drawing.frame_strip(_frames(3), np.ones((2, 3)), matched_head=2)
    with pytest.raises(ValueError, match="uint8"):
        drawing.frame_strip([np.zeros((8, 8, 3), dtype=np.float32)], np.ones((1, 1)))
    wide = drawing.frame_strip([np.zeros((10, 200, 3), dtype=np.uint8)], np.ones((1, 1)), frame_px=40)
    assert wide.height == drawing.strip_layout(1, 1, frame_px=40)["height"]  # aspect kept inside the tile


def test_wide_frames_get_wide_tiles_and_fewer_a_row():
    film = [np.full((100, 240, 3), 200, dtype=np.uint8)] * 8  # a 2.4:1 film clip
    strip = drawing.frame_strip(film, np.full((2, 8), 1 / 8), frame_px=40, bar_px=8)
    layout = drawing.strip_layout(8, 2, frame_px=40, bar_px=8, frame_w=96)
    assert drawing.tile_width(film, 40) == 96 and layout["columns"] == 3 and strip.size == (layout["width"],
                                                                                                layout["height"])
    tile = np.asarray(strip)[layout["number_px"] + 4: layout["number_px"] + 4 + 40, layout["label_px"] + 4:]
    opaque_cols = np.flatnonzero(tile[:, :96, 3].max(axis=0) > 0)
    assert len(opaque_cols) >= 90  # the frame fills its tile's width, not a 40 px square
    assert drawing.tile_width([np.zeros((200, 100, 3), dtype=np.uint8)], 40) == 40  # tall frames: square tiles


def test_token_weights_rescale_per_head_and_keep_token_order():
    tokens = ["my", "reaction", "when", "<unk>"]
    att = np.array([[0.1, 0.2, 0.6, 0.1], [0.4, 0.4, 0.1, 0.1]])
    rows = drawing.token_weights(tokens, att)
    assert len(rows) == 2
    for row, head in zip(rows, att):
        words = row[::2]
        assert [w for w, _ in words] == tokens
        assert all(sep == (" ", None) for sep in row[1::2])
        np.testing.assert_allclose([s for _, s in words], head / head.max(), atol=1e-3)
    assert drawing.token_weights([], np.zeros((3, 0))) == [[], [], []]
    with pytest.raises(ValueError):
        drawing.token_weights(tokens, np.ones((2, 3)))


def test_similarity_heatmap_colours_cells_by_value_and_outlines_the_max():
    sims = np.array([[0.1, 0.5, -0.2], [0.9, 0.3, 0.0]])
    cell = 40
    img = np.asarray(drawing.similarity_heatmap(sims, cell_px=cell))
    margin = drawing.heatmap_margin(cell)
    corner = lambda i, j: img[margin + i * cell + 6, margin + j * cell + 6][:3]  # noqa: E731 - off the printed value
    np.testing.assert_array_equal(corner(1, 0), drawing.heat_rgb(np.array(1.0), drawing.SIM_CMAP))
    np.testing.assert_array_equal(corner(0, 2), drawing.heat_rgb(np.array(0.0), drawing.SIM_CMAP))
    assert img[0, 0, 3] == 0  # transparent around the cells
    red = np.all(img == drawing.MARK_COLOR, axis=-1)
    ys, xs = np.nonzero(red)
    assert margin - 2 <= xs.min() and xs.max() <= margin + cell + 1  # around column 0 ...
    assert margin + cell - 2 <= ys.min() and ys.max() <= margin + 2 * cell + 1  # ... of row 1: the argmax
    chosen = np.asarray(drawing.similarity_heatmap(sims, best=(0, 2), cell_px=cell))
    ys, xs = np.nonzero(np.all(chosen == drawing.MARK_COLOR, axis=-1))
    assert ys.min() >= margin - 2 and xs.min() >= margin + 2 * cell - 2


def test_similarity_heatmap_edge_cases():
    flat = drawing.similarity_heatmap(np.full((1, 1), 0.3))
    assert flat.size[0] > 44
    with pytest.raises(ValueError):
        drawing.similarity_heatmap(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="outside"):
        drawing.similarity_heatmap(np.eye(2), best=(2, 0))


def test_blank_pairs_are_drawn_with_a_glyph_the_built_in_font_has():
    """A missing glyph would draw as an empty box ("tofu") in the cell of a pair that has no score."""
    font = drawing._font(14)
    tofu = bytes(font.getmask("\U000E0FFF"))  # what the font draws for a character it lacks
    assert bytes(font.getmask("-")) != tofu and bytes(font.getmask("–")) == tofu  # the en dash would be a box
    sims = np.array([[0.2, 0.3], [np.nan, np.nan]])
    assert drawing.similarity_heatmap(sims, best=(0, 1)).size[0] > 0
