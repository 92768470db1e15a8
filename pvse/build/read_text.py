"""A build's third stage: read the words shown in the frames of the clips that have none from this reader yet (the
clips it reused from an index read by another reader, or by none); new clips were read while they were encoded."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from ..errors import MediaError
from ..features.clip_work import ReadTasks, default_workers, run_clip_tasks
from ..media import MediaLimits
from ..reading.types import ReadText
from .rows import Row


@dataclass
class TextReading:
    """What reading gave: the reader ("name@version"; None: text is not read, and no clip keeps any), the text of
    each clip read here (None: it shows none), notes (a clip whose text could not be read), and its time."""

    reader: str | None
    texts: dict[str, ReadText | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float | None = None  # None: nothing was read here

    def apply(self, rows: list[Row]) -> None:
        """Give each row the text read for it (every row none when text is not read)."""
        for row in rows:
            if self.reader is None:
                row.record.read_text = None
            elif row.record.path in self.texts:
                row.record.read_text = self.texts[row.record.path]


def read_missing_text(root: Path, rows: list[Row], encoded: set[str], previous_reader: str | None,
                      reader: str | None, *, limits: MediaLimits, progress: bool,
                      workers: int | None = None) -> TextReading:
    """Read the text in the frames of every row that has none from `reader` yet: the `encoded` clips whose text was
    not read while encoding, and every row when the previous index was read by another reader (`previous_reader`)
    or not at all. reader None: nothing is read."""
    if reader is None:
        return TextReading(None)
    from ..reading import frame_text_reader_spec
    spec = frame_text_reader_spec(reader)
    out = TextReading(spec.ref)
    todo = [row for row in rows if not row.read_here and (row.record.path in encoded or previous_reader != spec.ref)]
    if not todo:
        return out
    tick = time.perf_counter()
    tasks = ReadTasks(spec, spec.build(), limits)
    bar = tqdm(total=len(todo), unit="clip", desc="reading text", disable=not progress, dynamic_ncols=True)
    works = run_clip_tasks([root / row.record.path for row in todo], tasks, workers or default_workers())
    for row, work in zip(todo, works):
        bar.update(1)
        read = work.read
        if isinstance(read, MediaError):
            out.notes.append(f"{row.record.path}: {read.reason}")
            out.texts[row.record.path] = None
        else:
            out.texts[row.record.path] = read if read.lines else None
    bar.close()
    out.seconds = time.perf_counter() - tick
    return out
