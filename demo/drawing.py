"""Pictures that explain one match: pure functions, arrays in, PIL images / lists out.

PVSE scores a (query, GIF) pair by the best of its K x K head pairs (max over K^2 cosine
similarities, paper eq. 6), so an explanation shows three things:
- `frame_strip`: the GIF's T sampled frames with, under each frame, one bar per GIF head
  (that head's attention over the frames, eq. 2), the head that produced the max marked;
- `token_weights`: the query's tokens with each query head's attention over the words, rescaled
  per head so its most-attended word has weight 1 (what `gr.HighlightedText` draws);
- `similarity_heatmap`: the K x K cosine similarities between the query's and the GIF's
  embeddings, the max cell outlined.
Figures are RGBA on a transparent background, readable on light and dark pages. No state, no I/O: the app and
the tests call them directly.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from matplotlib import colormaps
from PIL import Image, ImageDraw, ImageFont

SIM_CMAP = "viridis"
MARK_COLOR = (230, 57, 70, 255)  # the matched head / pair
# Figures have a transparent background, so they sit on the page's own colour in light and dark mode. Text and
# outlines are a mid grey, which reads on both (contrast about 4:1 on white, 5:1 on Gradio's dark background);
# attention is drawn as one violet whose opacity is the weight, so "little attention" is the page colour in both.
TEXT_COLOR = (128, 128, 128, 255)
ATTENTION_COLOR = (124, 58, 237)
BACKGROUND = (0, 0, 0, 0)
LABEL_PX = 48  # width of the h1..hK labels left of the bars
LABEL_FONT_PX = 18
NUMBER_PX = 20  # height of the row of frame numbers above the frames
MAX_ASPECT = 2.5  # wider frames get a tile this many times as wide as it is tall (film stills are ~2.4:1)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def heat_rgb(values: np.ndarray, cmap: str = SIM_CMAP) -> np.ndarray:
    """Map values in [0, 1] (clipped) to uint8 RGB colours of `cmap`; shape (...,) -> (..., 3)."""
    values = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), 0.0, 1.0)
    return (np.asarray(colormaps[cmap](values))[..., :3] * 255).round().astype(np.uint8)


def attention_rgba(weight: float) -> tuple[int, int, int, int]:
    """The bar colour for a rescaled attention weight in [0, 1]: ATTENTION_COLOR with that opacity."""
    alpha = float(np.clip(np.nan_to_num(weight), 0.0, 1.0))
    return (*ATTENTION_COLOR, int(round(255 * alpha)))


def rescale_per_head(attention: np.ndarray) -> np.ndarray:
    """(K, N) non-negative weights -> each row divided by its max, so every head's top item is 1.

    Attention rows sum to 1 over different lengths, so raw weights are not comparable between a
    3-word and a 20-word query; per-head rescaling shows *which* items a head picks. Rows that are
    all zero stay zero.
    """
    attention = np.nan_to_num(np.asarray(attention, dtype=np.float64)).clip(min=0.0)
    if attention.ndim != 2:
        raise ValueError(f"attention must be (K, N), got shape {attention.shape}")
    peak = attention.max(axis=1, keepdims=True) if attention.shape[1] else np.zeros((attention.shape[0], 1))
    return np.divide(attention, peak, out=np.zeros_like(attention), where=peak > 0)


def _fit(frame: np.ndarray, width: int, height: int, opacity: float = 1.0) -> Image.Image:
    """An RGB frame scaled to fit a width x height tile (aspect kept), centred on transparency, at `opacity`."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frames must be (H, W, 3) uint8 RGB, got {frame.shape} {frame.dtype}")
    image = Image.fromarray(frame).convert("RGBA")
    image.thumbnail((width, height), Image.Resampling.LANCZOS)
    if opacity < 1.0:
        image.putalpha(int(round(255 * opacity)))
    canvas = Image.new("RGBA", (width, height), BACKGROUND)
    canvas.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
    return canvas


def tile_width(frames: Sequence[np.ndarray], frame_px: int) -> int:
    """The width of a frame's tile in the strip: `frame_px` tall, as wide as the clip's aspect ratio asks (from
    square up to MAX_ASPECT), so wide film frames are not shrunk to thin strips."""
    aspect = float(np.median([np.asarray(f).shape[1] / max(1, np.asarray(f).shape[0]) for f in frames]))
    return int(round(frame_px * min(max(aspect, 1.0), MAX_ASPECT)))


def strip_layout(num_frames: int, num_heads: int, *, columns: int | None = None, frame_px: int = 96,
                 bar_px: int = 18, gap_px: int = 4, frame_w: int | None = None) -> dict[str, int]:
    """Geometry of `frame_strip`: frames wrap into rows that hold as much width as `columns` square tiles (default
    all frames in one row), each row of frames with its frame numbers above and its K bar rows below; tiles are
    `frame_w` wide (default square). Returns width, height, and the offsets the drawing uses."""
    frame_w = frame_w or frame_px
    squares = max(1, min(columns or num_frames, num_frames))
    fit = max(1, min(num_frames, (squares * (frame_px + gap_px)) // (frame_w + gap_px)))
    rows = -(-num_frames // fit)
    columns = -(-num_frames // rows)  # rows as even as they can be (4 + 4, not 6 + 2)
    label_px = LABEL_PX if num_heads else 0
    number_px = NUMBER_PX if num_heads else 0
    block = number_px + frame_px + gap_px + num_heads * (bar_px + gap_px) + gap_px
    return dict(columns=columns, rows=rows, label_px=label_px, number_px=number_px, cell=frame_w + gap_px,
                frame_w=frame_w, block=block, width=label_px + columns * (frame_w + gap_px) + gap_px,
                height=gap_px + rows * block)


def frame_strip(frames: Sequence[np.ndarray], attention: np.ndarray, *, matched_head: int | None = None,
                columns: int | None = None, frame_px: int = 96, bar_px: int = 18, gap_px: int = 4) -> Image.Image:
    """The T frames (numbered 1..T) with one attention bar per head under each frame (K rows), as RGBA.

    frames: T RGB uint8 arrays (the frames the index sampled); attention: (K, T) GIF-head weights
    over those frames (K may be 0: frames only). Each row is rescaled per head (more opaque = more
    attention) and labelled h1..hK; `matched_head` (0-based) gets a red outline and a star, and the
    frames fade by that head's attention so the strip itself shows what the match looked at.
    columns: frames per row for square frames (narrow screens get 4 a row; wider frames get fewer, in tiles at their
    aspect ratio, see `tile_width`); the background is transparent.
    """
    attention = np.asarray(attention, dtype=np.float64)
    if attention.ndim != 2 or attention.shape[1] != len(frames):
        raise ValueError(f"attention must be (K, T={len(frames)}), got shape {attention.shape}")
    if not len(frames):
        raise ValueError("frame_strip needs at least one frame")
    num_heads, num_frames = attention.shape
    if matched_head is not None and not 0 <= matched_head < num_heads:
        raise ValueError(f"matched_head {matched_head} is not one of the {num_heads} heads")
    weights = rescale_per_head(attention)
    g = strip_layout(num_frames, num_heads, columns=columns, frame_px=frame_px, bar_px=bar_px, gap_px=gap_px,
                     frame_w=tile_width(frames, frame_px))
    frame_w = g["frame_w"]
    canvas = Image.new("RGBA", (g["width"], g["height"]), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    font, small = _font(max(LABEL_FONT_PX, bar_px)), _font(max(14, NUMBER_PX - 4))
    for row in range(g["rows"]):
        top = gap_px + row * g["block"]
        shown = range(row * g["columns"], min(num_frames, (row + 1) * g["columns"]))
        for col, t in enumerate(shown):
            left = g["label_px"] + gap_px + col * g["cell"]
            if num_heads:
                draw.text((left + frame_w / 2, top + g["number_px"] / 2), str(t + 1), anchor="mm", font=small,
                          fill=TEXT_COLOR)
            opacity = 1.0 if matched_head is None else 0.35 + 0.65 * weights[matched_head, t]
            canvas.alpha_composite(_fit(frames[t], frame_w, frame_px, opacity), (left, top + g["number_px"]))
        for k in range(num_heads):
            bar_top = top + g["number_px"] + frame_px + gap_px + k * (bar_px + gap_px)
            marked = k == matched_head
            draw.text((2, bar_top + bar_px / 2), f"h{k + 1}{'*' if marked else ''}", anchor="lm", font=font,
                      fill=MARK_COLOR if marked else TEXT_COLOR)
            for col, t in enumerate(shown):
                left = g["label_px"] + gap_px + col * g["cell"]
                bar = Image.new("RGBA", (frame_w, bar_px), attention_rgba(weights[k, t]))
                canvas.alpha_composite(bar, (left, bar_top))
                draw.rectangle((left, bar_top, left + frame_w - 1, bar_top + bar_px - 1), outline=TEXT_COLOR)
            if marked:
                right = g["label_px"] + gap_px + len(shown) * g["cell"] - gap_px
                draw.rectangle((g["label_px"] + gap_px - 2, bar_top - 2, right + 1, bar_top + bar_px + 1),
                               outline=MARK_COLOR, width=2)
    return canvas


def token_weights(tokens: Sequence[str], attention: np.ndarray) -> list[list[tuple[str, float | None]]]:
    """Per query head, the tokens with that head's rescaled weight, as `gr.HighlightedText` values.

    attention: (K, L) weights over the L tokens. Tokens are separated by (" ", None) so the text
    reads naturally and only words are highlighted. Weights are in [0, 1] (1 = the head's top word).
    """
    attention = np.asarray(attention, dtype=np.float64)
    if attention.ndim != 2 or attention.shape[1] != len(tokens):
        raise ValueError(f"attention must be (K, L={len(tokens)}), got shape {attention.shape}")
    rows = []
    for head in rescale_per_head(attention):
        row: list[tuple[str, float | None]] = []
        for i, (token, weight) in enumerate(zip(tokens, head)):
            if i:
                row.append((" ", None))
            row.append((str(token), round(float(weight), 3)))
        rows.append(row)
    return rows


def heatmap_margin(cell_px: int) -> int:
    """Pixels above and left of the heat map's cells, for the g1.. / q1.. labels."""
    return cell_px // 2 + 14


def similarity_heatmap(similarities: np.ndarray, *, best: tuple[int, int] | None = None,
                       cell_px: int = 56, gif_heads: int | None = None) -> Image.Image:
    """The Kq x Kg head-similarity matrix as a labelled heat map with each cell's value, `best` outlined.

    Rows are query heads (q1..), columns GIF heads (g1..) and, past the first `gif_heads` columns, the heads of
    the clip's name or caption (t1..); colours span the matrix's own min..max
    (values are cosines, printed in each cell). `best` defaults to the argmax, the pair PVSE scores by.
    """
    sims = np.asarray(similarities, dtype=np.float64)
    if sims.ndim != 2 or 0 in sims.shape:
        raise ValueError(f"similarities must be a non-empty (Kq, Kg) matrix, got shape {sims.shape}")
    rows, cols = sims.shape
    if best is None:
        best = tuple(int(i) for i in np.unravel_index(np.nanargmax(sims), sims.shape))  # type: ignore[assignment]
    if not (0 <= best[0] < rows and 0 <= best[1] < cols):
        raise ValueError(f"best pair {best} is outside the {rows}x{cols} matrix")
    blank = np.isnan(sims)  # pairs of different kinds (a query head with a text head): no score
    low, high = float(np.nanmin(sims)), float(np.nanmax(sims))
    scaled = (sims - low) / (high - low) if high > low else np.full_like(sims, 0.5)
    colors = heat_rgb(scaled, SIM_CMAP)
    font, label_font = _font(max(9, cell_px // 4)), _font(max(12, cell_px * 2 // 7))
    margin = heatmap_margin(cell_px)
    canvas = Image.new("RGBA", (margin + cols * cell_px + 6, margin + rows * cell_px + 6), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for j in range(cols):
        label = f"g{j + 1}" if gif_heads is None or j < gif_heads else f"t{j - gif_heads + 1}"
        draw.text((margin + j * cell_px + cell_px / 2, margin / 2), label, anchor="mm", font=label_font,
                  fill=TEXT_COLOR)
    for i in range(rows):
        draw.text((margin / 2, margin + i * cell_px + cell_px / 2), f"q{i + 1}", anchor="mm", font=label_font,
                  fill=TEXT_COLOR)
        for j in range(cols):
            box = (margin + j * cell_px, margin + i * cell_px, margin + (j + 1) * cell_px - 1, margin + (i + 1) * cell_px - 1)
            if blank[i, j]:
                draw.rectangle(box, outline=TEXT_COLOR)
                draw.text(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), "-", anchor="mm", font=font, fill=TEXT_COLOR)
                continue
            color = tuple(int(c) for c in colors[i, j])
            draw.rectangle(box, fill=color)
            luminance = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]
            draw.text(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), f"{sims[i, j]:.3f}", anchor="mm", font=font,
                      fill=(0, 0, 0) if luminance > 140 else (255, 255, 255))
    i, j = best
    draw.rectangle((margin + j * cell_px - 2, margin + i * cell_px - 2, margin + (j + 1) * cell_px + 1,
                    margin + (i + 1) * cell_px + 1), outline=MARK_COLOR, width=3)
    return canvas


def text_boxes(frame: np.ndarray, boxes: Sequence[tuple[int, int, int, int]], max_px: int = 480) -> Image.Image:
    """The frame (H, W, 3 RGB) with each (x0, y0, x1, y1) box of text read in it outlined, shrunk to `max_px` wide."""
    image = Image.fromarray(np.asarray(frame, dtype=np.uint8)).convert("RGB")
    draw = ImageDraw.Draw(image)
    width = max(2, round(max(image.size) / 160))
    for x0, y0, x1, y1 in boxes:
        draw.rectangle((x0 - width, y0 - width, x1 + width, y1 + width), outline=MARK_COLOR, width=width)
    if image.width > max_px:
        image = image.resize((max_px, max(1, round(image.height * max_px / image.width))), Image.LANCZOS)
    return image
