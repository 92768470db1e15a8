"""The rows a build assembles: one per clip (`Row`), and what encoding a list of clips gave (`Encoded`)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..index.records import ClipRecord
from .report import summed


@dataclass
class Row:
    """One clip of the index being built: its record and arrays, new or taken from the previous index."""

    record: ClipRecord
    embeddings: np.ndarray  # (K, H)
    attention: np.ndarray  # (K_att, T)
    frame_indices: np.ndarray  # (T,)
    source: int | None = None  # the previous index's row it was reused from (None: encoded)
    stored_embeddings: np.ndarray | None = None  # that row's embeddings as stored (GIF and text heads)
    read_here: bool = False  # its text was read while it was encoded (`record.read_text`; None: no text)


@dataclass
class Encoded:
    """What encoding clips gave (`encode.ClipEncoder`): a row per clip encoded (by path relative to the gallery),
    (path, reason) per clip that could not be, notes (e.g. a clip whose text could not be read), wall times per
    step and thread times per stage."""

    rows: dict[str, Row] = field(default_factory=dict)
    failed: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    busy: dict[str, float] = field(default_factory=dict)

    def __add__(self, other: Encoded) -> Encoded:
        """Both results, `other`'s after this one's (its rows win)."""
        return Encoded({**self.rows, **other.rows}, self.failed + other.failed, self.notes + other.notes,
                       summed(self.timings, other.timings), summed(self.busy, other.busy))
