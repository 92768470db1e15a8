"""GIF decoding as web browsers do it: a block parser that reads no pixels, and a compositor.

Why our own: FFmpeg's GIF demuxer (PyAV) raises UnicodeDecodeError on a comment that is not UTF-8 and
counts a comment block after the last image as a frame; Pillow grows its canvas when a later frame is
larger than the first and fills disposed areas with the background colour. Browsers (Chromium,
Firefox; both descend from the Netscape decoder) do neither, so neither do we:

- Extensions of any kind may come anywhere and are skipped: comments (any bytes), application blocks
  (NETSCAPE2.0 loop counts missing, duplicated or odd), plain text. A graphic control extension (GCE)
  applies to the next image only; one shorter than its 4 bytes is ignored.
- The canvas is the logical screen, except that the first image resizes it when it does not fit or
  the file is GIF87a (its offset is then dropped); later images are clipped to the canvas. An image of
  zero width or height covers the canvas.
- Disposal (GCE bits 2-4): 2 clears the image's rectangle to transparent after it is shown, 3 (and 4,
  which some encoders write for it) restores the rectangle to what it was before; anything else keeps it.
- Each image uses its local colour table, else the global one; indices past the table's end are black.
- An image's LZW data that ends early or goes bad leaves its undecoded pixels transparent; a file cut
  inside an image, or with no image at all, is an error. A byte that starts no block ends the file, as
  after the trailer.

Pixels are composited onto white (transparent = white), so GIF's one-bit transparency needs no alpha
channel. LZW and interlacing are decoded by Pillow's C decoder, one image at a time, and the compositing
(palette lookup, transparency mask, paste, disposal) is done with Pillow's C operations too.

Only the frames a wanted frame depends on are decoded: an image that covers the whole canvas, has no
transparent colour and does not restore the previous canvas afterwards (`covers_canvas`) makes everything drawn
before it invisible, so the images between the previous wanted frame and such an image are skipped (their
blocks are parsed, their pixels never decoded). Film GIFs are mostly such full frames, so a clip sampled at 8
of its 40 frames decodes about 8 images instead of up to 40. If a covering image's LZW data then turns out to
end early (its undecoded pixels would show what is under them), the frames are composited again in full.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

SIGNATURES = (b"GIF87a", b"GIF89a")
_WHITE = (255, 255, 255)
_RESTORE_PREVIOUS = (3, 4)
_RESTORE_BACKGROUND = 2


class GifFormatError(Exception):
    """The file is not a GIF this decoder can show; the message is the reason, for a MediaError."""


@dataclass(frozen=True)
class GifImage:
    """One image block (a frame), with the graphic control that precedes it."""

    left: int
    top: int
    width: int
    height: int
    interlaced: bool
    palette: bytes | None  # local colour table (3 bytes per entry), or None to use the global one
    min_code_size: int
    data: slice  # the LZW sub-blocks in the file: length byte, bytes, ..., ending with a 0 byte
    disposal: int = 0
    transparency: int | None = None
    delay_cs: int = 0  # hundredths of a second; 0 is common and is not an error


@dataclass(frozen=True)
class GifStructure:
    """What a GIF holds, found without decoding a pixel."""

    width: int  # the canvas: logical screen, possibly resized by the first image (see module doc)
    height: int
    palette: bytes | None  # global colour table
    images: tuple[GifImage, ...]
    loop_count: int | None  # NETSCAPE2.0 loop count (0 = forever), the first one found; None if absent


def is_gif(head: bytes) -> bool:
    return head[:6] in SIGNATURES


def parse_gif(data: bytes, max_images: int | None = None) -> GifStructure:
    """Walk a GIF's blocks (no pixel decoding): canvas, colour tables and every image's place and data.

    ``max_images`` stops a file with more images (GifFormatError); sizes are for the caller to check.
    """
    if len(data) < 13 or not is_gif(data):
        raise GifFormatError("not a GIF, or the file is cut inside its header")
    version = data[3:6]
    width, height = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    packed = data[10]
    pos = 13
    palette = None
    if packed & 0x80:
        size = 3 << ((packed & 7) + 1)
        if pos + size > len(data):
            raise GifFormatError("file is truncated inside its global colour table")
        palette, pos = data[pos:pos + size], pos + size
    images: list[GifImage] = []
    gce: tuple[int, int | None, int] | None = None  # (disposal, transparency, delay) for the next image
    loop_count = None
    n = len(data)
    while pos < n:
        introducer = data[pos]
        if introducer == 0x21:  # extension
            if pos + 2 > n:
                break  # cut after the last complete image: the images are whole, show them
            label, start = data[pos + 1], pos + 2
            end = _skip_sub_blocks(data, start)
            if end is None:
                break  # cut inside an extension after the last complete image
            first = data[start + 1:start + 1 + data[start]] if start < n else b""
            if label == 0xF9 and len(first) >= 4:
                flags = first[0]
                gce = ((flags >> 2) & 7, first[3] if flags & 1 else None, int.from_bytes(first[1:3], "little"))
            elif label == 0xFF and first[:11] == b"NETSCAPE2.0" and loop_count is None:
                loop = data[start + 1 + len(first):start + 5 + len(first)]  # next sub-block: 3, 1, count (LE)
                if len(loop) == 4 and loop[0] >= 3 and loop[1] == 1:
                    loop_count = int.from_bytes(loop[2:4], "little")
            pos = end
        elif introducer == 0x2C:  # image
            image, pos = _read_image(data, pos, len(images), gce)
            if not images:  # the first image may resize the canvas (browsers' rule, see module doc)
                if version == b"87a" or width < image.width or height < image.height:
                    width, height = image.width, image.height
                    image = _replace_offset(image)
                if width == 0 or height == 0:
                    raise GifFormatError("the canvas and the first image both have zero width or height")
            if image.width == 0 or image.height == 0:
                image = GifImage(0, 0, width, height, image.interlaced, image.palette, image.min_code_size,
                                 image.data, image.disposal, image.transparency, image.delay_cs)
            if image.palette is None and palette is None:
                raise GifFormatError(f"image {len(images) + 1} has no colour table (neither local nor global)")
            images.append(image)
            gce = None
            if max_images is not None and len(images) > max_images:
                raise GifFormatError(f"more than {max_images:,} frames")
        else:  # 0x3B is the trailer; anything else is junk browsers treat as the end
            break
    if not images:
        raise GifFormatError("contains no image (no frame to show)")
    return GifStructure(width, height, palette, tuple(images), loop_count)


def _skip_sub_blocks(data: bytes, pos: int) -> int | None:
    """Position after the 0 byte that ends a chain of sub-blocks starting at pos; None if the file ends first."""
    n = len(data)
    while pos < n:
        size = data[pos]
        if size == 0:
            return pos + 1
        pos += size + 1
    return None


def _read_image(data: bytes, pos: int, index: int, gce) -> tuple[GifImage, int]:
    where = f"inside frame {index + 1}"
    if pos + 10 > len(data):
        raise GifFormatError(f"file is truncated {where} (its image descriptor is cut)")
    left, top, w, h = (int.from_bytes(data[pos + i:pos + i + 2], "little") for i in (1, 3, 5, 7))
    flags = data[pos + 9]
    pos += 10
    local = None
    if flags & 0x80:
        size = 3 << ((flags & 7) + 1)
        if pos + size > len(data):
            raise GifFormatError(f"file is truncated {where} (its colour table is cut)")
        local, pos = data[pos:pos + size], pos + size
    if pos >= len(data):
        raise GifFormatError(f"file is truncated {where} (no image data)")
    min_code_size = data[pos]
    end = _skip_sub_blocks(data, pos + 1)
    if end is None:
        raise GifFormatError(f"file is truncated {where} (its image data is cut)")
    disposal, transparency, delay = gce or (0, None, 0)
    return GifImage(left, top, w, h, bool(flags & 0x40), local, min_code_size, slice(pos + 1, end),
                    disposal, transparency, delay), end


def _replace_offset(image: GifImage) -> GifImage:
    return GifImage(0, 0, image.width, image.height, image.interlaced, image.palette, image.min_code_size,
                    image.data, image.disposal, image.transparency, image.delay_cs)


def _palette_bytes(table: bytes) -> bytes:
    """A colour table as 256 RGB entries; entries past its end are black."""
    return table[: 256 * 3] + bytes(max(0, 768 - len(table)))


def decode_indices(data: bytes, image: GifImage) -> tuple[Image.Image, np.ndarray | None]:
    """One image's colour indices (a Pillow "P" image, no palette yet) and a mask of the pixels its data set.

    The mask is None when the LZW data decoded completely. When it ends early or goes bad, Pillow has
    written some pixels and not others; decoding again onto another fill value finds which.
    """
    payload = data[image.data]
    size = (image.width, image.height)
    args = (image.min_code_size, image.interlaced, -1)
    first = Image.new("P", size, 0)
    try:
        first.frombytes(payload, "gif", *args)
        return first, None
    except ValueError:  # "not enough image data" / "cannot decode image data": keep what was decoded
        pass
    second = Image.new("P", size, 255)
    try:
        second.frombytes(payload, "gif", *args)
    except ValueError:
        pass
    return first, np.asarray(first) == np.asarray(second)


def covers_canvas(image: GifImage, width: int, height: int) -> bool:
    """Whether the canvas after drawing `image` (and after its disposal) is independent of what came before:
    it fills the whole canvas, has no transparent colour, and its disposal does not restore the old canvas."""
    return (image.left == 0 and image.top == 0 and image.width >= width and image.height >= height
            and image.transparency is None and image.disposal not in _RESTORE_PREVIOUS)


def frames_to_draw(structure: GifStructure, wanted: frozenset[int]) -> list[bool]:
    """For each image up to the last wanted one: whether it must be drawn (see the module doc)."""
    last = max(wanted)
    draw = [True] * (last + 1)
    covered = False  # a covering image lies after i, at or before the next wanted frame
    for i in range(last, -1, -1):
        draw[i] = i in wanted or not covered
        cover = covers_canvas(structure.images[i], structure.width, structure.height)
        covered = cover if i in wanted else covered or cover
    return draw


class _IncompleteCover(Exception):
    """A covering image drawn after skipped ones had LZW data that ended early."""


class Compositor:
    """The canvas a browser draws a GIF on, one image at a time (disposal rules in the module doc).

    An RGB Pillow image, white where nothing is drawn; frames are pasted through a transparency mask, all
    in Pillow's C code.
    """

    def __init__(self, structure: GifStructure) -> None:
        self.structure = structure
        self.canvas = Image.new("RGB", (structure.width, structure.height), _WHITE)
        self._global = _palette_bytes(structure.palette) if structure.palette is not None else None
        self._pending: tuple[tuple[int, int, int, int], int, Image.Image | None] | None = None

    def draw(self, data: bytes, image: GifImage) -> bool:
        """Dispose of the previous image as it asked, then draw this one over the canvas; False when its LZW
        data ended early (some of its pixels were left transparent)."""
        self._dispose()
        w, h = self.canvas.size
        x0, y0 = min(image.left, w), min(image.top, h)
        x1, y1 = min(image.left + image.width, w), min(image.top + image.height, h)
        box = (x0, y0, x1, y1)
        saved = self.canvas.crop(box) if image.disposal in _RESTORE_PREVIOUS and x1 > x0 and y1 > y0 else None
        self._pending = (box, image.disposal, saved)
        if x1 <= x0 or y1 <= y0:
            return True  # wholly outside the canvas: nothing shows
        indices, decoded = decode_indices(data, image)
        if (x1 - x0, y1 - y0) != indices.size:
            indices = indices.crop((0, 0, x1 - x0, y1 - y0))
            decoded = None if decoded is None else decoded[: y1 - y0, : x1 - x0]
        mask = None
        if image.transparency is not None:
            lut = [255] * 256
            lut[image.transparency] = 0
            mask = indices.point(lut, "L")
        if decoded is not None:
            shown = decoded if mask is None else decoded & (np.asarray(mask) > 0)
            mask = Image.fromarray(shown.astype(np.uint8) * 255)
        indices.putpalette(_palette_bytes(image.palette) if image.palette is not None else self._global, "RGB")
        self.canvas.paste(indices.convert("RGB"), (x0, y0), mask)
        return decoded is None

    def _dispose(self) -> None:
        if self._pending is None:
            return
        box, disposal, saved = self._pending
        if box[2] > box[0] and box[3] > box[1]:
            if disposal == _RESTORE_BACKGROUND:
                self.canvas.paste(_WHITE, box)
            elif saved is not None:
                self.canvas.paste(saved, box[:2])
        self._pending = None

    def view(self) -> Image.Image:
        """The canvas as shown now (RGB; the compositor's own image: copy it before the next draw)."""
        return self.canvas


def iter_composited(data: bytes, structure: GifStructure, wanted: frozenset[int]) -> Iterator[tuple[int, Image.Image]]:
    """(index, RGB image) of the ``wanted`` frames as a browser shows them, in order; stops after the last.

    Each image is the canvas itself: use it (resize, copy) before asking for the next.
    """
    if not wanted:
        return
    shown = -1
    try:
        for index, view in _composite(data, structure, wanted, frames_to_draw(structure, wanted)):
            shown = index
            yield index, view
    except _IncompleteCover:  # rare: a damaged covering frame; draw everything, show the frames not yet shown
        later = frozenset(i for i in wanted if i > shown)
        yield from _composite(data, structure, later, [True] * (max(later) + 1))


def _composite(data: bytes, structure: GifStructure, wanted: frozenset[int], draw: list[bool]
               ) -> Iterator[tuple[int, Image.Image]]:
    compositor = Compositor(structure)
    skipped = False
    for index, image in enumerate(structure.images[: len(draw)]):
        if not draw[index]:
            skipped = True
            continue
        if not compositor.draw(data, image) and skipped:
            raise _IncompleteCover
        skipped = False
        if index in wanted:
            yield index, compositor.view()
