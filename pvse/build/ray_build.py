"""Encode a gallery's clips on a Ray cluster: `pvse index SOURCE --ray ADDRESS`.

The driver does what a single-process build does before and after encoding (`build.plan_build`: checks, scan,
content hashes, which clips the existing index gives back; `build.write_plan`: captions, text heads, faiss or
Milvus, the atomic write). Only the encoding moves: `RayEncoder` is a `build.ClipEncoder` that hands batches of
paths to a pool of actors as they come free; each actor loads the model once and runs the same
`build.encode_clips` (decode + frame CNN + video encoder, and the text its frames show when the build reads text)
on its batch, so rows are those of one process (to
float rounding of the batched encoder). Rows come back to the driver keyed by path, so clip order is the
gallery's. A file that cannot be decoded is a failed clip with its reason, as in one process. A batch whose actor
dies (a file that crashes the decoder or the CNN, the out-of-memory killer, a kill) is run again file by file on
fresh actors, never retried: a file whose actor dies again, alone, is a failed clip with that reason, and every
other file is indexed. Ray's own log lines (worker output, its reports of dead workers) stay out of the terminal.

Workers read the clips from the gallery folder's path, so on a real cluster the folder is on storage every node
mounts at the same path (NFS, a shared volume), and the weights are a Hub repo id or such a path too.
"""
from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ..errors import GalleryIndexError
from ..media import MediaLimits
from ..reading.types import ReadText
from .run import BuildReport, ClipRecord, _Row, encode_clips

LOCAL = "local"  # start a Ray instance in this process (`ray.init()` with `workers` CPUs) instead of joining one


class _ClipActor:
    """One Ray actor: the model loaded once, then `encode_clips` on each batch of relative paths."""

    def __init__(self, weights: str, fingerprint: str, precision: str, root: str, feature_cache: str | None,
                 limits: MediaLimits, threads: int, decode_workers: int | None, batch_size: int,
                 reader: str | None = None) -> None:
        import torch

        from ..pipeline import PVSEPipeline
        torch.set_num_threads(max(1, threads))
        self.pipeline = PVSEPipeline.from_pretrained(weights, device="cpu", frame_precision=precision)
        if self.pipeline.fingerprint != fingerprint:
            raise GalleryIndexError(f"the weights {weights} on this Ray worker are not the driver's (fingerprint "
                                    f"{self.pipeline.fingerprint}, driver {fingerprint}); give every node the same")
        self.root, self.feature_cache, self.limits = Path(root), feature_cache, limits
        self.decode_workers, self.batch_size, self.reader = decode_workers or threads, batch_size, reader
        config = self.pipeline.config
        probe = self.pipeline.encode_frame_features(np.zeros((1, config.num_frames, config.frame_dim), np.float32))
        self.shapes = (tuple(probe.embeddings.shape[1:]), tuple(probe.attention.shape[1:]), (config.num_frames,))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        paths = [str(p) for p in batch["path"]]
        rows: dict[str, _Row] = {}
        report = BuildReport(self.root)
        encode_clips(paths, self.root, self.pipeline, rows, report, batch_size=self.batch_size,
                     feature_cache=self.feature_cache, decode_workers=self.decode_workers, limits=self.limits,
                     progress=False, reader=self.reader)
        failed = dict(report.failed)
        out: dict[str, list] = {k: [] for k in ("path", "reason", "content_hash", "num_source_frames", "read_text",
                                                "embeddings", "attention", "frame_indices")}
        for rel in paths:
            row = rows.get(rel)
            out["path"].append(rel)
            out["reason"].append("" if row else failed.get(rel, "not encoded (no reason given)"))
            out["content_hash"].append(row.record.content_hash if row else "")
            out["num_source_frames"].append(row.record.num_source_frames if row else 0)
            read = row.record.read_text if row else None  # as JSON: "" when no text was read or none was found
            out["read_text"].append(json.dumps(read.to_dict()) if read is not None else "")
            for name, shape, dtype in zip(("embeddings", "attention", "frame_indices"), self.shapes,
                                          (np.float32, np.float32, np.int32)):
                out[name].append(getattr(row, name) if row else np.zeros(shape, dtype))
        columns = {k: np.asarray(v) for k, v in out.items() if k not in ("embeddings", "attention", "frame_indices")}
        for name, shape in zip(("embeddings", "attention", "frame_indices"), self.shapes):
            columns[name] = np.stack(out[name]) if out[name] else np.zeros((0, *shape))
        columns["worker_pid"] = np.full(len(paths), os.getpid(), dtype=np.int64)
        columns["seconds"] = np.full(len(paths), sum(report.timings.values()) / max(1, len(paths)))
        columns["rss_mb"] = np.full(len(paths), _peak_rss_mb())
        return columns


class RayEncoder:
    """A `build.ClipEncoder` that encodes on a Ray cluster with `workers` actors of `threads` CPUs each.

    address: "auto" (the cluster this machine is part of, `ray start`), "ray://HOST:10001" (Ray Client), or
    "local" (a Ray instance started here with `workers * threads` CPUs, shut down afterwards). A Ray already
    initialised in this process is used as it is. on_batch: called on the driver with each batch's columns
    (path, worker_pid, ...) as it arrives (monitoring; the progress bar is kept by the encoder itself).
    """

    def __init__(self, address: str = "auto", workers: int = 2, threads: int = 1,
                 on_batch: Callable[[dict[str, np.ndarray]], None] | None = None) -> None:
        if workers < 1 or threads < 1:
            raise ValueError(f"workers and threads must be >= 1, got {workers} and {threads}")
        self.address, self.workers, self.threads = address, workers, threads
        self.on_batch = on_batch
        self.worker_pids: set[int] = set()  # the actors' processes seen (a restarted actor is a new one)
        self.worker_peak_rss_mb = 0.0  # the largest peak RSS an actor reported

    def __call__(self, todo: list[str], root: Path, pipeline, rows: dict[str, _Row], report: BuildReport, *,
                 batch_size: int, feature_cache: str | Path | None, decode_workers: int | None, limits: MediaLimits,
                 progress: bool, reader: str | None = None) -> None:
        report.timings.setdefault("features", 0.0)
        report.timings.setdefault("encoder", 0.0)
        if not todo:
            return
        ray = _import_ray()
        started_here = self._connect(ray)
        tick = time.perf_counter()
        with _quiet_ray_threads():  # until Ray is shut down: its threads report worker deaths late
            try:
                self._run(ray, todo, root, pipeline, rows, report, batch_size=batch_size,
                          feature_cache=feature_cache, decode_workers=decode_workers, limits=limits, progress=progress,
                          reader=reader)
            finally:
                report.timings["features"] += time.perf_counter() - tick  # decode + CNN + encoder, on the workers
                if started_here:
                    with _quiet_ray_threads(everything=True):
                        ray.shutdown()

    def _connect(self, ray) -> bool:
        """Join (or start) Ray; True when this call started it."""
        if ray.is_initialized():
            return False
        kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
        try:
            if self.address == LOCAL:
                ray.init(num_cpus=self.workers * self.threads, include_dashboard=False, **kwargs)
            else:
                ray.init(address=self.address, **kwargs)
        except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError...
            raise GalleryIndexError(f"cannot reach the Ray cluster at {self.address!r} ({type(exc).__name__}: "
                                    f"{str(exc).splitlines()[0] if str(exc) else exc}); start one with `ray start "
                                    f"--head` or pass --ray local") from None
        return True

    def _run(self, ray, todo, root, pipeline, rows, report, *, batch_size, feature_cache, decode_workers, limits,
             progress, reader=None) -> None:
        from tqdm.auto import tqdm

        per_task = max(1, min(batch_size, -(-len(todo) // self.workers)))  # every actor gets some work
        weights = str(pipeline.checkpoint.source)
        if Path(weights).expanduser().exists():
            weights = str(Path(weights).expanduser().resolve())
        warnings.filterwarnings("ignore", module=r"ray\..*")  # deprecation and tuning chatter, not the user's
        constructor = dict(weights=weights, fingerprint=pipeline.fingerprint, precision=pipeline.frame_precision,
                           root=str(root), feature_cache=str(feature_cache) if feature_cache else None, limits=limits,
                           threads=self.threads, decode_workers=self.threads, batch_size=per_task, reader=reader)
        self._reader = reader
        bar = tqdm(total=len(todo), unit="clip", desc=f"indexing on Ray ({self.workers} workers)",
                   disable=not progress, dynamic_ncols=True)
        failed: dict[str, str] = {}
        busy = [0.0]
        try:
            self._on_actors(ray, [todo[i:i + per_task] for i in range(0, len(todo), per_task)], constructor, rows,
                            failed, busy, bar)
        except GalleryIndexError:
            raise
        except Exception as exc:  # noqa: BLE001 - a Ray failure ends the build before anything is written
            raise GalleryIndexError(f"the Ray build failed ({type(exc).__name__}: "
                                    f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else exc}); "
                                    "nothing was written") from None
        finally:
            bar.close()
        report.failed.extend(sorted(failed.items()))
        report.timings["worker busy"] = report.timings.get("worker busy", 0.0) + busy[0]

    def _on_actors(self, ray, batches: list[list[str]], constructor: dict[str, Any], rows: dict[str, _Row],
                   failed: dict[str, str], busy: list[float], bar) -> None:
        """Encode `batches` on `workers` actors, one batch per actor at a time, as they come free. A batch whose
        actor dies is queued again file by file, each file alone and never retried on its own: a file whose
        actor dies again is the one that kills it, and it goes into `failed` with that reason. A dead actor is
        replaced by a fresh one (the model loaded again)."""
        actor_class = ray.remote(_ClipActor).options(num_cpus=self.threads, max_restarts=0, max_task_retries=0)
        queue = deque((files, False) for files in batches)  # (paths, alone after its batch's actor died)
        actors = [actor_class.remote(**constructor) for _ in range(min(self.workers, len(queue)))]
        running: dict[Any, tuple[int, list[str], bool]] = {}  # call -> (actor's slot, paths, alone)
        try:
            while queue or running:
                taken = {slot for slot, _, _ in running.values()}
                for slot, actor in enumerate(actors):
                    if queue and slot not in taken:
                        files, alone = queue.popleft()
                        running[actor.__call__.remote({"path": np.array(files)})] = (slot, files, alone)
                [ref], _ = ray.wait(list(running), num_returns=1)
                slot, files, alone = running.pop(ref)
                try:
                    batch = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - the actor died on this batch; other errors end the build
                    if not _died(ray, exc):
                        raise
                    ray.kill(actors[slot])
                    actors[slot] = actor_class.remote(**constructor)
                    if not alone:
                        queue.extend(([rel], True) for rel in files)
                        continue
                    failed[files[0]] = ("its Ray worker died while encoding it, in its batch and again alone (it "
                                        "crashes the decoder or the frame CNN, or takes all the memory); skipped")
                    bar.update(1)
                    continue
                self._take(batch, rows, failed, busy)
                bar.update(len(files))
        finally:
            for actor in actors:
                ray.kill(actor)

    def _take(self, batch: dict[str, np.ndarray], rows: dict[str, _Row], failed: dict[str, str],
              busy: list[float]) -> None:
        """A batch of the actors' columns into `rows` (encoded clips) and `failed` (path -> reason)."""
        self.worker_pids.update(int(p) for p in batch["worker_pid"])
        self.worker_peak_rss_mb = max(self.worker_peak_rss_mb, float(np.max(batch["rss_mb"], initial=0.0)))
        busy[0] += float(np.sum(batch["seconds"]))
        for i, rel in enumerate(batch["path"]):
            rel = str(rel)
            if batch["reason"][i]:
                failed[rel] = str(batch["reason"][i])
                continue
            failed.pop(rel, None)
            rows[rel] = _Row(ClipRecord(rel, str(batch["content_hash"][i]), int(batch["num_source_frames"][i])),
                             np.asarray(batch["embeddings"][i], np.float32),
                             np.asarray(batch["attention"][i], np.float32),
                             np.asarray(batch["frame_indices"][i], np.int32), read_here=self._reader is not None)
            read = str(batch["read_text"][i])
            rows[rel].record.read_text = ReadText.from_dict(json.loads(read), "a Ray worker") if read else None
        if self.on_batch is not None:
            self.on_batch(batch)


def _died(ray, exc: BaseException) -> bool:
    """Whether a Ray error says that a worker process died (rather than code raising, the model's loading
    included: that ends the build with its message)."""
    deaths = (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError)
    exc = exc if isinstance(exc, deaths) else getattr(exc, "cause", None)
    return isinstance(exc, deaths) and not getattr(exc, "actor_init_failed", False)


class _QuietRayThreads(io.TextIOBase):
    """A stand-in for sys.stdout / sys.stderr that drops what Ray's own threads print there (the driver's error
    listener prints each worker death, "(raylet) A worker died or was killed...", whatever `log_to_driver`
    says); the user reads one line per failed file in the build's report instead. everything: drop all (while
    Ray shuts down: it prints the reports it held back as repeats then)."""

    def __init__(self, stream: TextIO, everything: bool = False) -> None:
        self.stream, self.everything = stream, everything

    def write(self, text: str) -> int:
        if self.everything or threading.current_thread().name.startswith("ray_"):
            return len(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextmanager
def _quiet_ray_threads(everything: bool = False) -> Iterator[None]:
    """Drop what Ray's threads (everything: all threads) print to stdout and stderr while the block runs."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _QuietRayThreads(out, everything), _QuietRayThreads(err, everything)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


def _peak_rss_mb() -> float:
    """This process's peak RSS in MiB (0 where the platform does not say)."""
    try:
        import resource
    except ImportError:
        return 0.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _import_ray():
    try:
        import ray
    except ImportError:
        raise GalleryIndexError("building on Ray needs the ray extra: pip install 'pvse-gif[ray]'") from None
    return ray
