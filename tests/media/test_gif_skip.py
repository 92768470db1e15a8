"""Frames hidden under a later full, opaque frame are not decoded, and the sampled frames do not change."""
from __future__ import annotations

import struct

import numpy as np
import pytest
from gif_writer import Frame, gif_bytes, graphic_control, lzw_encode, sub_blocks

from pvse.media import gif

PALETTE = [(i * 30 % 256, i * 70 % 256, 255 - i * 20) for i in range(8)]


def reference(data: bytes, wanted: frozenset[int]) -> dict[int, np.ndarray]:
    """Every image drawn, in order (what the decoder did before it skipped anything)."""
    structure = gif.parse_gif(data)
    compositor = gif.Compositor(structure)
    out = {}
    for index, image in enumerate(structure.images[: max(wanted) + 1]):
        compositor.draw(data, image)
        if index in wanted:
            out[index] = np.asarray(compositor.view()).copy()
    return out


def decoded(data: bytes, wanted: frozenset[int]) -> dict[int, np.ndarray]:
    return {i: np.asarray(view).copy() for i, view in gif.iter_composited(data, gif.parse_gif(data), wanted)}


def random_frames(rng: np.random.Generator, count: int, w: int = 12, h: int = 9) -> list[Frame]:
    """A mix of full opaque frames and frames that depend on what is below them."""
    frames = []
    for _ in range(count):
        kind = rng.integers(6)
        if kind <= 1:  # full, opaque: covers the canvas
            frames.append(Frame(rng.integers(0, 8, (h, w)).astype(np.uint8), disposal=int(rng.choice([0, 1, 2]))))
        elif kind == 2:  # full but with a transparent colour
            frames.append(Frame(rng.integers(0, 8, (h, w)).astype(np.uint8), transparency=int(rng.integers(8))))
        elif kind == 3:  # full, restores the previous canvas afterwards
            frames.append(Frame(rng.integers(0, 8, (h, w)).astype(np.uint8), disposal=3))
        else:  # a sub-rectangle at an offset
            fw, fh = int(rng.integers(1, w)), int(rng.integers(1, h))
            frames.append(Frame(rng.integers(0, 8, (fh, fw)).astype(np.uint8), left=int(rng.integers(0, w - fw + 1)),
                                top=int(rng.integers(0, h - fh + 1)), disposal=int(rng.choice([0, 1, 2, 3]))))
    return frames


@pytest.mark.parametrize("seed", range(40))
def test_sampled_frames_equal_drawing_every_frame(seed):
    rng = np.random.default_rng(seed)
    count = int(rng.integers(2, 30))
    data = gif_bytes(12, 9, random_frames(rng, count), PALETTE)
    wanted = frozenset(int(i) for i in rng.choice(count, size=int(rng.integers(1, min(count, 8) + 1)), replace=False))
    got, want = decoded(data, wanted), reference(data, wanted)
    assert got.keys() == want.keys()
    for index in want:
        assert np.array_equal(got[index], want[index]), index


def test_full_frames_before_a_sampled_full_frame_are_not_decoded(monkeypatch):
    rng = np.random.default_rng(0)
    frames = [Frame(rng.integers(0, 8, (9, 12)).astype(np.uint8)) for _ in range(40)]
    data = gif_bytes(12, 9, frames, PALETTE)
    calls = []
    real = gif.decode_indices
    monkeypatch.setattr(gif, "decode_indices", lambda d, image: calls.append(image) or real(d, image))
    wanted = frozenset({2, 7, 12, 17, 22, 27, 32, 37})
    got = decoded(data, wanted)
    assert len(calls) == len(wanted)  # one image per sampled frame, not 38
    monkeypatch.setattr(gif, "decode_indices", real)
    assert all(np.array_equal(got[i], v) for i, v in reference(data, wanted).items())


def test_a_covering_frame_whose_data_ends_early_is_composited_in_full():
    """Its undecoded pixels show the frames below, so those are drawn after all."""
    rng = np.random.default_rng(1)
    first = Frame(rng.integers(0, 8, (9, 12)).astype(np.uint8))
    partial = Frame(np.full((3, 4), 5, np.uint8), left=2, top=2)
    whole = lzw_encode(np.full((9, 12), 6, np.uint8).tobytes(), 8)
    short = (graphic_control() + b"\x2c" + struct.pack("<4H", 0, 0, 12, 9) + b"\x00" + b"\x08"
             + sub_blocks(whole[:len(whole) // 3]))
    last = Frame(np.full((2, 2), 1, np.uint8), left=0, top=0)
    data = gif_bytes(12, 9, [first, partial], PALETTE, trailer=short + last.block() + b";")
    for wanted in (frozenset({2}), frozenset({0, 2, 3}), frozenset({3})):
        got, want = decoded(data, wanted), reference(data, wanted)
        assert got.keys() == want.keys() and all(np.array_equal(got[i], want[i]) for i in want)
    assert not (decoded(data, frozenset({2}))[2] == decoded(data, frozenset({2}))[2][0, 0]).all()
