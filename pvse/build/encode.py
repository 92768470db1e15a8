"""A build's second stage: encode the clips the plan could not reuse (decode, frame CNN, text reader, video
encoder), each clip one task, clips side by side (`features.clip_work`); the crash journal keeps a file that kills
the process from ending every later build (`crash_journal`)."""
from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm.auto import tqdm

from ..errors import GalleryIndexError, MediaError
from ..features.cache import ClipFeatures, frame_decode_size, frame_feature_cache
from ..features.clip_work import STAGES, ClipTasks, OneThreadCNN, built_on_one_thread, default_workers, run_clip_tasks
from ..index.records import ClipRecord
from ..media import ClipView, MediaLimits
from ..pipeline import PVSEPipeline
from ..reading.types import ReadText
from .crash_journal import CrashJournal
from .plan import BuildPlan
from .report import listing
from .rows import Encoded, Row


class ClipEncoder(Protocol):
    """Encodes clips into index rows: decode + frame CNN + video encoder for each path in `todo` (relative to
    `root`, content hashes in `hashes`), and with `reader` (a frame-text reader's name) the text its frames show.
    `encode_clips` does it in this process; `ray_build.RayEncoder` on a Ray cluster."""

    def __call__(self, todo: list[str], root: Path, pipeline: PVSEPipeline, *, hashes: Mapping[str, str],
                 batch_size: int, feature_cache: str | Path | None, decode_workers: int | None, limits: MediaLimits,
                 progress: bool, reader: str | None = None) -> Encoded: ...


def encode_clips(todo: list[str], root: Path, pipeline: PVSEPipeline, *, hashes: Mapping[str, str], batch_size: int,
                 feature_cache: str | Path | None, decode_workers: int | None, limits: MediaLimits, progress: bool,
                 reader: str | None = None, journal: CrashJournal | None = None) -> Encoded:
    """Each clip decoded once, through the frame CNN and (with `reader`) the text reader, `decode_workers` clips side
    by side (`features.clip_work`); then the video encoder, batch by batch. A clip whose text was read here has
    `Row.read_here` set. `journal` is told the clips in work (`crash_journal`)."""
    out = Encoded(timings={"encode": 0.0})
    if not todo:
        return out
    started = time.perf_counter()
    tasks = _clip_tasks(pipeline, root, hashes, feature_cache, limits, reader)
    busy = dict.fromkeys((*STAGES, "encoder"), 0.0)
    pending: list[tuple[str, ClipFeatures, ReadText | None]] = []

    def flush() -> None:
        tick = time.perf_counter()
        encoded = pipeline.encode_frame_features(np.stack([f.features for _, f, _ in pending]))
        for (rel, feats, read), emb, att in zip(pending, encoded.embeddings.numpy(), encoded.attention.numpy()):
            out.rows[rel] = Row(ClipRecord(rel, feats.content_hash, feats.num_source_frames, read_text=read), emb, att,
                                np.asarray(feats.frame_indices, dtype=np.int32), read_here=reader is not None)
        pending.clear()
        busy["encoder"] += time.perf_counter() - tick

    bar = tqdm(total=len(todo), unit="clip", desc="indexing" + (" and reading text" if reader else ""),
               disable=not progress, dynamic_ncols=True)
    try:
        work_on = _Journaled(tasks, journal, root) if journal is not None else tasks
        for work in run_clip_tasks([root / rel for rel in todo], work_on, decode_workers or default_workers()):
            bar.update(1)
            rel = Path(os.path.relpath(work.path, root)).as_posix()
            for stage, seconds in work.seconds.items():
                busy[stage] += seconds
            if isinstance(work.features, MediaError):
                out.failed.append((rel, work.features.reason))
                continue
            read = work.read
            if isinstance(read, MediaError):
                out.notes.append(f"{rel}: {read.reason}")
                read = None
            pending.append((rel, work.features, read if read is not None and read.lines else None))
            if len(pending) >= batch_size:
                flush()
        if pending:
            flush()
    finally:
        bar.close()
    out.timings["encode"] = time.perf_counter() - started
    out.busy = busy
    return out


def _clip_tasks(pipeline: PVSEPipeline, root: Path, hashes: Mapping[str, str], feature_cache: str | Path | None,
                limits: MediaLimits, reader: str | None) -> ClipTasks:
    """One clip's work for this model: its frames, its frame CNN (built on first need, one thread), its feature
    cache, the text reader, the hashes the scan made."""
    config = pipeline.config
    frames = config.frame_preprocessing()
    spec = engine = None
    if reader is not None:
        from ..reading import frame_text_reader_spec
        spec = frame_text_reader_spec(reader)
        engine = spec.build()
    return ClipTasks(None, ClipView(config.num_frames, frames.frame_sampling,
                                    frame_decode_size(config.frame_features, frames)),
                     build_cnn=lambda: OneThreadCNN(one_thread_extractor(pipeline)), reader_spec=spec, reader=engine,
                     cache=frame_feature_cache(feature_cache, config.frame_features, config.num_frames, frames,
                                               pipeline.frame_precision),
                     limits=limits, hashes={str(root / rel): h for rel, h in hashes.items()})


def one_thread_extractor(pipeline: PVSEPipeline):
    """The pipeline's frame CNN, built (when not yet) with a one-thread ONNX session (`built_on_one_thread`)."""
    if "frame_extractor" in pipeline.__dict__:
        return pipeline.frame_extractor
    return built_on_one_thread(lambda: pipeline.frame_extractor)


def guard_crashes(plan: BuildPlan, encoder: ClipEncoder | None, retry_failed: bool
                  ) -> tuple[ClipEncoder, CrashJournal | None, list[str], list[tuple[str, str]]]:
    """(the encoder to use, this build's crash journal or None when it cannot keep one, the paths to encode, the
    (path, reason) of the files skipped because a dead build had them in flight).

    Files a dead build had in flight are skipped with the reason, unless `retry_failed`: then they are encoded
    first, one at a time. The single-process encoder journals the files it has in flight; another encoder (Ray)
    only gets the skipping, as its worker deaths do not end the build."""
    journal = CrashJournal.open(plan.target, plan.hashes)
    if journal is None:
        return encoder or encode_clips, None, plan.todo, []
    suspects = [rel for rel in plan.todo if rel in journal.crashed]
    todo, skipped = plan.todo, []
    if not retry_failed:
        skipped = [(rel, journal.crashed[rel].reason) for rel in suspects]
        todo = [rel for rel in plan.todo if rel not in journal.crashed]
        suspects = []
    if encoder is not None:
        return encoder, journal, todo, skipped
    suspects.sort(key=lambda rel: journal.crashed[rel].alone)  # a file known to crash last: the others get a chance

    def encode(todo: list[str], root: Path, pipeline: PVSEPipeline, **kwargs: Any) -> Encoded:
        out = Encoded()
        journal.alone = True
        for rel in suspects:
            out += encode_clips([rel], root, pipeline, **{**kwargs, "decode_workers": 1, "progress": False},
                                journal=journal)
            journal.clear(rel)
        journal.alone = False
        tried = set(suspects)
        return out + encode_clips([rel for rel in todo if rel not in tried], root, pipeline, **kwargs,
                                  journal=journal)

    return encode, journal, todo, skipped


class _Journaled:
    """A clip's task (`clip_work.ClipTasks`) with the crash journal told the clip (relative to the gallery folder)
    is in work while it runs."""

    def __init__(self, tasks: ClipTasks, journal: CrashJournal, root: Path) -> None:
        self.tasks, self.journal, self.root = tasks, journal, root

    def __call__(self, path: Path):
        rel = [Path(os.path.relpath(path, self.root)).as_posix()]
        self.journal.begin(rel)
        try:
            return self.tasks(path)
        finally:
            self.journal.end(rel)


def gather_rows(plan: BuildPlan, todo: list[str], encoded: Encoded) -> tuple[list[Row], dict[str, int]]:
    """(the index's rows in gallery order: reused and encoded; the counts of added, changed and removed clips)."""
    rows = {**plan.rows, **encoded.rows}
    old_hash_of = plan.previous_hashes
    changed = sum(1 for rel in todo if rel in encoded.rows and rel in old_hash_of
                  and old_hash_of[rel] != plan.hashes[rel])
    ordered = [rows[rel] for rel in plan.paths if rel in rows]
    if not ordered:
        raise GalleryIndexError(f"none of the {len(plan.paths)} media files under {plan.root} could be indexed"
                                + listing(plan.report))
    counts = {"added": sum(1 for rel in todo if rel in encoded.rows) - changed, "changed": changed,
              "removed": len(set(old_hash_of) - set(rows))}
    return ordered, counts


def release_memory() -> None:
    """Hand the memory freed by a finished stage back to the system (glibc keeps it otherwise); no-op elsewhere."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
