"""Which frame-text readers (OCR engines) exist: one spec each, registered by the module that implements it.

A reader turns a clip's frames into recognised lines (`FrameTextReader`); `pvse.reading.read_clip_text` cleans
them. The spec owns its name and version (recorded in the index, so text read by another reader or version is
read again) and how to build it. Built-in: `ppocr-v4` (`pvse.reading.ppocr`); other packages add theirs through
the `pvse_gif.readers` entry-point group, like the feature extractors.
"""
from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Protocol

import numpy as np

from ..errors import WeightsError
from .types import TextLine

BUILTIN_MODULES = ("pvse.reading.ppocr",)
ENTRY_POINT_GROUP = "pvse_gif.readers"
DEFAULT_READER = "ppocr-v4"


class FrameTextReader(Protocol):
    """Reads the text shown in frames: raw lines (uncleaned), each tagged with the source frame it came from."""

    def read_frames(self, frames: Sequence[np.ndarray], indices: Sequence[int]) -> list[TextLine]: ...


@dataclass(frozen=True)
class FrameTextReaderSpec:
    name: str
    version: str  # bumped when the same files would read differently (models, sizes, thresholds)
    build: Callable[[], FrameTextReader]
    frames: int = 4  # frames read per clip, evenly spaced (`pvse.media.sample_frame_indices`)
    about: str = ""

    @property
    def ref(self) -> str:
        """"name@version", as the index records it."""
        return f"{self.name}@{self.version}"


_READERS: dict[str, FrameTextReaderSpec] = {}
_LOCK = threading.RLock()
_DISCOVERED = False


def register_frame_text_reader(spec: FrameTextReaderSpec) -> FrameTextReaderSpec:
    """Add a reader (call at import time of the module that implements it); returns the spec."""
    with _LOCK:
        _READERS[spec.name] = spec
    return spec


def frame_text_readers() -> dict[str, FrameTextReaderSpec]:
    """Registered readers by name, sorted."""
    global _DISCOVERED
    with _LOCK:
        if not _DISCOVERED:
            for module in BUILTIN_MODULES:
                importlib.import_module(module)
            for entry in entry_points(group=ENTRY_POINT_GROUP):
                entry.load()
            _DISCOVERED = True
        return dict(sorted(_READERS.items()))


def frame_text_reader_spec(name: str) -> FrameTextReaderSpec:
    """The spec of reader `name`, or a WeightsError naming the known ones."""
    known = frame_text_readers()
    if name not in known:
        raise WeightsError(f"unknown text reader {name!r}; known: {', '.join(known)}")
    return known[name]
