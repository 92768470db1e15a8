"""What a build did: counts, the files it skipped or could not index (each with its reason), notes and timings."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class BuildReport:
    """What a build did; `failed` and `skipped` hold (relative path, reason)."""

    index_dir: Path
    indexed: int = 0  # clips in the written index
    reused: int = 0  # taken from the previous index without decoding
    added: int = 0  # new files encoded
    changed: int = 0  # files whose content changed, re-encoded
    removed: int = 0  # rows of the previous index whose file is gone
    skipped: list[tuple[str, str]] = field(default_factory=list)  # not media files
    failed: list[tuple[str, str]] = field(default_factory=list)  # media files that could not be indexed
    notes: list[str] = field(default_factory=list)  # e.g. why nothing could be reused
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # wall time of each step: encode, text, hubs, write ...
    busy: dict[str, float] = field(default_factory=dict)  # thread time of each stage inside "encode", summed over
    # the clips (hash, decode, CNN, read text, encoder); stages overlap on several cores, so they exceed its wall

    @property
    def encoded(self) -> int:
        return self.added + self.changed

    @property
    def clips_per_second(self) -> float:
        """Clips encoded per second of the whole build, end to end (scan to write)."""
        return self.encoded / self.seconds if self.seconds > 0 else 0.0

    def summary(self, max_listed: int = 20) -> str:
        """Human-readable multi-line summary (what the CLI prints)."""
        lines = [f"indexed {self.indexed} clips into {self.index_dir} "
                 f"({self.reused} reused, {self.added} new, {self.changed} changed, {self.removed} removed) "
                 f"in {self.seconds:.1f} s" + (f", {self.clips_per_second:.1f} clips/s end to end" if self.encoded
                                                  else "")]
        lines += [f"note: {n}" for n in self.notes]
        for title, items in (("failed", self.failed), ("skipped", self.skipped)):
            if items:
                lines.append(f"{title} {len(items)}:")
                lines += [f"  {path}: {reason}" for path, reason in items[:max_listed]]
                if len(items) > max_listed:
                    lines.append(f"  ... and {len(items) - max_listed} more")
        if self.timings:
            lines.append("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items()))
        if self.busy:
            lines.append("inside encode, thread time summed over clips: "
                         + ", ".join(f"{k} {v:.1f} s" for k, v in self.busy.items()))
        return "\n".join(lines)

    def add_time(self, timings: dict[str, float], busy: dict[str, float] | None = None) -> None:
        """Add a stage's wall times (and its threads' busy times, those it spent any in) to the report's."""
        self.timings = summed(self.timings, timings)
        self.busy = summed(self.busy, {key: value for key, value in (busy or {}).items() if value > 0})


def listing(report: BuildReport) -> str:
    """The first few failed and skipped files with their reasons, for an error message."""
    items = report.failed + report.skipped
    return ("; " + "; ".join(f"{p}: {r}" for p, r in items[:5]) + (" ..." if len(items) > 5 else "")) if items else ""


def summed(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """Times by step, added key by key (a's keys first, in their order, then b's new ones)."""
    return {key: a.get(key, 0.0) + b.get(key, 0.0) for key in {**a, **b}}
