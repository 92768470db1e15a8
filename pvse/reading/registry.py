"""Which frame-text readers (OCR engines) exist: one spec each, registered by the module that implements it.

A reader turns a clip's frames into recognised lines (`FrameTextReader`); `pvse.reading.read_clip_text` cleans
them. The spec (`specs.FrameTextReaderSpec`) owns its name and version (recorded in the index, so text read by
another reader or version is read again) and how to build it. Built-in: `ppocr-v4` (`pvse.reading.ppocr`); other
packages add theirs through the `pvse_gif.readers` entry-point group, like the feature extractors. This module
imports no implementation: it imports them by name when first asked.
"""
from __future__ import annotations

from ..errors import WeightsError
from ..registry import Catalog
from .specs import READERS, FrameTextReader, FrameTextReaderSpec, register_frame_text_reader

BUILTIN_MODULES = ("pvse.reading.ppocr",)
ENTRY_POINT_GROUP = "pvse_gif.readers"
DEFAULT_READER = "ppocr-v4"
_CATALOG = Catalog(READERS, BUILTIN_MODULES, ENTRY_POINT_GROUP)

__all__ = ["DEFAULT_READER", "FrameTextReader", "FrameTextReaderSpec", "frame_text_reader_spec",
           "frame_text_readers", "register_frame_text_reader"]


def frame_text_readers() -> dict[str, FrameTextReaderSpec]:
    """Registered readers by name, sorted."""
    return _CATALOG.all()


def frame_text_reader_spec(name: str) -> FrameTextReaderSpec:
    """The spec of reader `name`, or a WeightsError naming the known ones."""
    return _CATALOG.get(name, WeightsError)
