"""A tiny GIF89a writer for tests: every block written byte by byte, so each quirk can be made on purpose.

Not a general encoder: it exists so that the robustness corpus needs no third-party media files. The LZW
coder is the plain variable-width one from the GIF89a specification (appendix F), clearing the table when
it is full.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np


def lzw_encode(indices: bytes, min_code_size: int) -> bytes:
    """GIF LZW code stream (not yet split into sub-blocks) of a sequence of colour indices."""
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    out = bytearray()
    acc = nbits = 0
    width = min_code_size + 1

    def emit(code: int) -> None:
        nonlocal acc, nbits
        acc |= code << nbits
        nbits += width
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8

    def reset() -> tuple[dict[bytes, int], int]:
        return {bytes([i]): i for i in range(clear)}, end + 1

    table, next_code = reset()
    emit(clear)
    prefix = b""
    for value in indices:
        candidate = prefix + bytes([value])
        if candidate in table:
            prefix = candidate
            continue
        emit(table[prefix])
        table[candidate] = next_code
        next_code += 1
        if next_code - 1 == (1 << width) and width < 12:
            width += 1
        if next_code == 4096:
            emit(clear)
            table, next_code = reset()
            width = min_code_size + 1
        prefix = bytes([value])
    if prefix:
        emit(table[prefix])
    emit(end)
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def sub_blocks(payload: bytes, size: int = 255) -> bytes:
    """Data split into length-prefixed sub-blocks, ending with the 0 terminator."""
    return b"".join(bytes([len(payload[i:i + size])]) + payload[i:i + size]
                    for i in range(0, len(payload), size)) + b"\x00"


def colour_table(colours: list[tuple[int, int, int]]) -> tuple[bytes, int]:
    """(table bytes padded to a power of two >= 2 entries, size field N where entries = 2 ** (N + 1))."""
    n = 0
    while (2 << n) < len(colours):
        n += 1
    padded = list(colours) + [(0, 0, 0)] * ((2 << n) - len(colours))
    return b"".join(bytes(c) for c in padded), n


def comment(text: bytes) -> bytes:
    return b"\x21\xfe" + sub_blocks(text)


def application(identifier: bytes, data: bytes) -> bytes:
    return b"\x21\xff" + bytes([len(identifier)]) + identifier + sub_blocks(data)


def netscape_loop(count: int = 0) -> bytes:
    return application(b"NETSCAPE2.0", b"\x01" + struct.pack("<H", count))


def graphic_control(disposal: int = 0, transparency: int | None = None, delay_cs: int = 10) -> bytes:
    flags = (disposal & 7) << 2 | (1 if transparency is not None else 0)
    return b"\x21\xf9\x04" + bytes([flags]) + struct.pack("<H", delay_cs) + bytes([transparency or 0]) + b"\x00"


def _interlace_order(height: int) -> list[int]:
    return [*range(0, height, 8), *range(4, height, 8), *range(2, height, 4), *range(1, height, 2)]


@dataclass
class Frame:
    """One image block: colour indices (height, width) placed at (left, top), with its graphic control."""

    indices: np.ndarray
    left: int = 0
    top: int = 0
    palette: list[tuple[int, int, int]] | None = None  # local colour table
    disposal: int = 0
    transparency: int | None = None
    delay_cs: int = 10
    interlaced: bool = False
    control: bool = True  # write a graphic control extension before it
    before: bytes = b""  # extra blocks written before its graphic control (comments, ...)
    width: int | None = None  # descriptor fields when they should lie about the data (default: its shape)
    height: int | None = None

    def block(self, min_code_size: int = 8) -> bytes:
        h, w = self.indices.shape
        rows = self.indices[_interlace_order(h)] if self.interlaced else self.indices
        flags = 0x40 if self.interlaced else 0
        table = b""
        if self.palette is not None:
            table, n = colour_table(self.palette)
            flags |= 0x80 | n
        descriptor = b"\x2c" + struct.pack("<4H", self.left, self.top, self.width if self.width is not None else w,
                                           self.height if self.height is not None else h) + bytes([flags])
        data = bytes([min_code_size]) + sub_blocks(lzw_encode(rows.astype(np.uint8).tobytes(), min_code_size))
        control = graphic_control(self.disposal, self.transparency, self.delay_cs) if self.control else b""
        return self.before + control + descriptor + table + data


def gif_bytes(width: int, height: int, frames: list[Frame], palette: list[tuple[int, int, int]] | None = None, *,
              version: bytes = b"89a", background: int = 0, header_blocks: bytes | None = None,
              trailer: bytes = b"\x3b") -> bytes:
    """A whole GIF: header, logical screen, global table, `header_blocks` (default a NETSCAPE2.0 loop
    forever), the frames, then `trailer` (b";" normally; anything to test odd endings)."""
    flags = 0
    table = b""
    if palette is not None:
        table, n = colour_table(palette)
        flags = 0x80 | 0x70 | n
    screen = b"GIF" + version + struct.pack("<2H", width, height) + bytes([flags, background, 0])
    blocks = netscape_loop(0) if header_blocks is None else header_blocks
    return screen + table + blocks + b"".join(f.block() for f in frames) + trailer
