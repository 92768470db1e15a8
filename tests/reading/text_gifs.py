"""GIFs with words drawn by Pillow's built-in font, written byte by byte (`tests.media.gif_writer`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tests.media.gif_writer import Frame, gif_bytes

WIDTH, HEIGHT = 480, 220
# a two-colour-ramp scene (a "film" frame) plus white and black for the caption
PALETTE = [(int(30 + 3 * i), int(60 + 2 * i), int(120 + i)) for i in range(62)] + [(255, 255, 255), (0, 0, 0)]
WHITE, BLACK = 62, 63


def scene(shift: int) -> np.ndarray:
    """(H, W) palette indices of a moving diagonal ramp: something that is not text."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    return ((x + 2 * y + 7 * shift) // 9 % 62).astype(np.uint8)


def with_caption(indices: np.ndarray, text: str, size: int = 26, top: int = 170, x: int = 16) -> np.ndarray:
    """`indices` with `text` written on a black band (a subtitle), white, in Pillow's built-in font."""
    img = Image.fromarray(indices, mode="L")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=size)
    left, upper, right, lower = draw.textbbox((x, top), text, font=font)
    draw.rectangle((left - 6, upper - 6, right + 6, lower + 6), fill=BLACK)
    draw.text((x, top), text, font=font, fill=WHITE)
    return np.asarray(img, dtype=np.uint8)


def write_gif(path: Path, captions: list[str | None]) -> Path:
    """One frame per entry of `captions` (None: no caption on that frame)."""
    frames = [Frame(with_caption(scene(i), c) if c else scene(i)) for i, c in enumerate(captions)]
    path.write_bytes(gif_bytes(WIDTH, HEIGHT, frames, PALETTE))
    return path
