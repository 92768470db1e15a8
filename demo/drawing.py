"""Pictures that explain one match: pure functions, arrays in, PIL images / lists out.

PVSE scores a (query, GIF) pair by the best of its K x K head pairs (max over K^2 cosine
similarities, paper eq. 6), so an explanation shows three things:
- `frame_strip`: the GIF's T sampled frames with, under each frame, one heat bar per GIF head
  (that head's attention over the frames, eq. 2), the head that produced the max marked;
- `token_weights`: the query's tokens with each query head's attention over the words, rescaled
  per head so its most-attended word has weight 1 (what `gr.HighlightedText` draws);
- `similarity_heatmap`: the K x K cosine similarities between the query's and the GIF's
  embeddings, the max cell outlined.
No state, no I/O: the app and the tests call them directly.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from matplotlib import colormaps
from PIL import Image, ImageDraw, ImageFont

HEAT_CMAP = "BuPu"  # near white = little attention, dark purple = a lot; the red marks stay distinct
SIM_CMAP = "viridis"
MARK_COLOR = (230, 57, 70)  # the matched head / pair
TEXT_COLOR = (40, 40, 40)
BACKGROUND = (255, 255, 255)
LABEL_PX = 44  # width of the h1..hK labels left of the bars


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def heat_rgb(values: np.ndarray, cmap: str = HEAT_CMAP) -> np.ndarray:
    """Map values in [0, 1] (clipped) to uint8 RGB colours of `cmap`; shape (...,) -> (..., 3)."""
    values = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), 0.0, 1.0)
    return (np.asarray(colormaps[cmap](values))[..., :3] * 255).round().astype(np.uint8)


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


def _fit(frame: np.ndarray, size: int) -> Image.Image:
    """An RGB frame scaled to fit a size x size square (aspect kept), centred on white."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frames must be (H, W, 3) uint8 RGB, got {frame.shape} {frame.dtype}")
    image = Image.fromarray(frame)
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (size, size), BACKGROUND)
    canvas.paste(image, ((size - image.width) // 2, (size - image.height) // 2))
    return canvas


def frame_strip(frames: Sequence[np.ndarray], attention: np.ndarray, *, matched_head: int | None = None,
                frame_px: int = 96, bar_px: int = 16, gap_px: int = 4) -> Image.Image:
    """The T frames in a row, then one heat bar per head under each frame (K rows).

    frames: T RGB uint8 arrays (the frames the index sampled); attention: (K, T) GIF-head weights
    over those frames (K may be 0: frames only). Each row is rescaled per head (darker = more
    attention) and labelled h1..hK; `matched_head` (0-based) gets a red outline and a star, and the
    frames are dimmed by that head's attention so the strip itself shows what the match looked at.
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
    label_px = LABEL_PX if num_heads else 0
    cell = frame_px + gap_px
    width = label_px + num_frames * cell + gap_px
    height = gap_px + frame_px + gap_px + num_heads * (bar_px + gap_px)
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    font = _font(max(14, bar_px))
    for t, frame in enumerate(frames):
        tile = _fit(frame, frame_px)
        if matched_head is not None:  # fade frames the matched head ignores (down to 40 %)
            alpha = 0.4 + 0.6 * weights[matched_head, t]
            tile = Image.blend(Image.new("RGB", tile.size, BACKGROUND), tile, float(alpha))
        canvas.paste(tile, (label_px + gap_px + t * cell, gap_px))
    colors = heat_rgb(weights)
    for k in range(num_heads):
        top = 2 * gap_px + frame_px + k * (bar_px + gap_px)
        marked = k == matched_head
        draw.text((2, top + bar_px / 2), f"h{k + 1}{'*' if marked else ''}", anchor="lm", font=font,
                  fill=MARK_COLOR if marked else TEXT_COLOR)
        for t in range(num_frames):
            left = label_px + gap_px + t * cell
            draw.rectangle((left, top, left + frame_px - 1, top + bar_px - 1), fill=tuple(int(c) for c in colors[k, t]),
                           outline=(200, 200, 200))
        if marked:
            draw.rectangle((label_px + gap_px - 2, top - 2, label_px + num_frames * cell + 1, top + bar_px + 1),
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
    return cell_px // 2 + 10


def similarity_heatmap(similarities: np.ndarray, *, best: tuple[int, int] | None = None,
                       cell_px: int = 44, gif_heads: int | None = None) -> Image.Image:
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
    low, high = float(np.nanmin(sims)), float(np.nanmax(sims))
    scaled = (sims - low) / (high - low) if high > low else np.full_like(sims, 0.5)
    colors = heat_rgb(scaled, SIM_CMAP)
    font = _font(max(9, cell_px // 4))
    margin = heatmap_margin(cell_px)
    canvas = Image.new("RGB", (margin + cols * cell_px + 6, margin + rows * cell_px + 6), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for j in range(cols):
        label = f"g{j + 1}" if gif_heads is None or j < gif_heads else f"t{j - gif_heads + 1}"
        draw.text((margin + j * cell_px + cell_px / 2, margin / 2), label, anchor="mm", font=font, fill=TEXT_COLOR)
    for i in range(rows):
        draw.text((margin / 2, margin + i * cell_px + cell_px / 2), f"q{i + 1}", anchor="mm", font=font, fill=TEXT_COLOR)
        for j in range(cols):
            box = (margin + j * cell_px, margin + i * cell_px, margin + (j + 1) * cell_px - 1, margin + (i + 1) * cell_px - 1)
            color = tuple(int(c) for c in colors[i, j])
            draw.rectangle(box, fill=color)
            luminance = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]
            draw.text(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), f"{sims[i, j]:.3f}", anchor="mm", font=font,
                      fill=(0, 0, 0) if luminance > 140 else (255, 255, 255))
    i, j = best
    draw.rectangle((margin + j * cell_px - 2, margin + i * cell_px - 2, margin + (j + 1) * cell_px + 1,
                    margin + (i + 1) * cell_px + 1), outline=MARK_COLOR, width=3)
    return canvas
