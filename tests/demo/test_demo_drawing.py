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


def test_heat_colours_get_darker_with_more_attention_and_clip():
    colors = drawing.heat_rgb(np.linspace(0, 1, 6))
    assert colors.dtype == np.uint8 and colors.shape == (6, 3)
    assert np.all(np.diff(_luminance(colors)) < 0)
    np.testing.assert_array_equal(drawing.heat_rgb(np.array([-3.0, 7.0, np.nan])),
                                  drawing.heat_rgb(np.array([0.0, 1.0, 0.0])))


def test_frame_strip_draws_each_heads_weights_under_the_right_frame():
    frames, frame_px, bar_px = _frames(5), 48, 12
    rng = np.random.default_rng(1)
    att = rng.dirichlet(np.ones(5), size=3)
    img = np.asarray(drawing.frame_strip(frames, att, matched_head=None, frame_px=frame_px, bar_px=bar_px))
    cell = frame_px + GAP
    assert img.shape == (GAP + frame_px + GAP + 3 * (bar_px + GAP), drawing.LABEL_PX + 5 * cell + GAP, 3)
    expected = drawing.heat_rgb(drawing.rescale_per_head(att))
    for k in range(3):
        for t in range(5):
            y = 2 * GAP + frame_px + k * (bar_px + GAP) + bar_px // 2
            x = drawing.LABEL_PX + GAP + t * cell + frame_px // 2
            np.testing.assert_array_equal(img[y, x], expected[k, t], err_msg=f"head {k} frame {t}")


def test_frame_strip_marks_the_matched_head_and_fades_frames_it_ignores():
    frames = [np.full((20, 20, 3), 0, dtype=np.uint8) for _ in range(4)]  # black frames show the fading
    att = np.array([[0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1]])
    frame_px, bar_px = 32, 10
    plain = np.asarray(drawing.frame_strip(frames, att, frame_px=frame_px, bar_px=bar_px))
    marked = np.asarray(drawing.frame_strip(frames, att, matched_head=1, frame_px=frame_px, bar_px=bar_px))
    red = np.all(marked == drawing.MARK_COLOR, axis=-1)
    row_top = 2 * GAP + frame_px + (bar_px + GAP)  # head 1's bar row
    assert red[row_top - 2: row_top + bar_px + 2, drawing.LABEL_PX:].any()
    assert not red[: row_top - 2, drawing.LABEL_PX:].any()  # nothing else is outlined
    assert not np.all(plain == drawing.MARK_COLOR, axis=-1).any()
    centre = GAP + frame_px // 2
    xs = [drawing.LABEL_PX + GAP + t * (frame_px + GAP) + frame_px // 2 for t in range(4)]
    assert [tuple(plain[centre, x]) for x in xs] == [(0, 0, 0)] * 4
    lum = [_luminance(marked[centre, x]) for x in xs]
    assert lum[0] < 5 and all(value > 100 for value in lum[1:])  # attended frame intact, the others faded


def test_frame_strip_without_heads_and_bad_input():
    img = drawing.frame_strip(_frames(3), np.zeros((0, 3)), frame_px=32)
    assert img.size == (3 * 36 + GAP, 32 + 2 * GAP)
    with pytest.raises(ValueError, match="T=3"):
        drawing.frame_strip(_frames(3), np.ones((2, 4)))
    with pytest.raises(ValueError, match="heads"):
        drawing.frame_strip(_frames(3), np.ones((2, 3)), matched_head=2)
    with pytest.raises(ValueError, match="uint8"):
        drawing.frame_strip([np.zeros((8, 8, 3), dtype=np.float32)], np.ones((1, 1)))
    wide = drawing.frame_strip([np.zeros((10, 200, 3), dtype=np.uint8)], np.ones((1, 1)), frame_px=40)
    assert wide.height == 40 + 2 * GAP + 16 + GAP  # aspect kept inside the square tile


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
    corner = lambda i, j: img[margin + i * cell + 6, margin + j * cell + 6]  # noqa: E731 - off the printed value
    np.testing.assert_array_equal(corner(1, 0), drawing.heat_rgb(np.array(1.0), drawing.SIM_CMAP))
    np.testing.assert_array_equal(corner(0, 2), drawing.heat_rgb(np.array(0.0), drawing.SIM_CMAP))
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
