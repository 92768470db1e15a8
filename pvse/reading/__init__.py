"""Reading the words a GIF shows (subtitles, captions, signs): OCR on a few frames, cleaned, stored with the clip.

    from pvse.reading import default_reader, read_clip_text
    spec, reader = default_reader()
    read = read_clip_text("break-your-concentration.gif", spec, reader)
    read.text    # "Oh, I'm sorry... Did I break your concentration?"
    read.lines   # each line with the frame and box it was read in

Pixels only: no file name is used. `pvse index` reads text by default (`--no-read-text` switches it off) and the
text becomes a head of the clip (`pvse.build.text_heads`).
"""
from __future__ import annotations

from .clean import clean_line, clean_lines, merge_lines
from .read import iter_read_text, read_clip_text
from .registry import (
    DEFAULT_READER,
    FrameTextReader,
    FrameTextReaderSpec,
    frame_text_reader_spec,
    frame_text_readers,
    register_frame_text_reader,
)
from .types import ReadText, TextLine


def default_reader(name: str = DEFAULT_READER) -> tuple[FrameTextReaderSpec, FrameTextReader]:
    """(spec, built reader) of reader `name` (default: PP-OCRv4)."""
    spec = frame_text_reader_spec(name)
    return spec, spec.build()


__all__ = ["DEFAULT_READER", "FrameTextReader", "FrameTextReaderSpec", "ReadText", "TextLine", "clean_line",
           "clean_lines", "default_reader", "frame_text_reader_spec", "frame_text_readers", "iter_read_text",
           "merge_lines", "read_clip_text", "register_frame_text_reader"]
