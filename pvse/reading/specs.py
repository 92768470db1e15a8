"""The frame-text reader specs and their table: what each reader module registers (discovery is in `registry`)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..registry import Registry
from .types import TextLine


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


READERS: Registry[FrameTextReaderSpec] = Registry("text reader")  # found by `registry.frame_text_readers`
register_frame_text_reader = READERS.register  # each reader's module calls it on import
