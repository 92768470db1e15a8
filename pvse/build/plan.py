"""A build's first stage: check the output and the index kind (before any work), load the model, scan and hash the
gallery (each file hashed once), and decide which clips the existing index gives back (`BuildPlan`)."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GalleryIndexError, PVSEError
from ..features.precision import DEFAULT_FRAME_PRECISION as DEFAULT_PRECISION
from ..index.backend import Gallery, GalleryBackend, Target
from ..index.captions import CaptionEntry, read_captions
from ..index.kinds import DEFAULT_KIND, default_params, index_kind
from ..index.meta import IndexMeta
from ..index.records import ClipRecord
from ..integrity import content_hash
from ..media import MEDIA_EXTENSIONS, MediaLimits
from ..pipeline import PVSEPipeline
from .report import BuildReport, listing
from .rows import Row


@dataclass
class BuildPlan:
    """What a build will do: where, with which model and index kind, which clips it reuses and encodes."""

    root: Path  # the gallery folder, absolute
    backend: GalleryBackend
    target: Target  # where the backend writes
    pipeline: PVSEPipeline
    kind: str
    user_params: dict[str, Any]
    caption_entries: dict[str, CaptionEntry] | None
    paths: list[str]  # readable media files, sorted
    hashes: dict[str, str]  # path -> content hash
    previous: Gallery | None  # the index being updated (None: built from scratch)
    previous_hashes: dict[str, str]  # path -> content hash of each clip of `previous`
    rows: dict[str, Row]  # path -> row reused from `previous`
    todo: list[str]  # paths to encode
    report: BuildReport  # what the plan found: files skipped or failed, notes, the scan's time, clips reused


def gallery_folder(gallery_dir: str | Path) -> Path:
    """The gallery folder as an absolute path; one that is not there is a GalleryIndexError."""
    root = Path(gallery_dir).expanduser()
    if not root.is_dir():
        raise GalleryIndexError(f"gallery folder {root} does not exist or is not a folder")
    return Path(os.path.abspath(root))


def load_pipeline(weights: str | None, device: str, pipeline: PVSEPipeline | None = None,
                  precision: str = DEFAULT_PRECISION) -> PVSEPipeline:
    """`pipeline` if given, else the model at `weights` (default: the bundled one) with a `precision` frame CNN:
    the one place a build (or a Ray worker) loads its model."""
    if pipeline is not None:
        return pipeline
    from ..defaults import default_weights
    return PVSEPipeline.from_pretrained(weights or default_weights(), device=device, frame_precision=precision)


def plan_build(backend: GalleryBackend, root: Path, out_dir: str | Path | None, weights: str | None, *,
               captions: str | Path | None, device: str, feature_cache: str | Path | None, index_kind: str | None,
               index_params: dict[str, Any] | None, rebuild: bool, limits: MediaLimits,
               pipeline: PVSEPipeline | None, precision: str = DEFAULT_PRECISION) -> BuildPlan:
    """Check the output and the index kind (before any work), load the model (`pipeline` if given, else `weights`
    with a `precision` frame CNN), scan and hash the gallery, and decide which clips the existing index gives back."""
    target = backend.target(out_dir, root)
    if index_kind is None:  # a rerun keeps the existing index's kind; parameters are checked against it
        existing = backend.existing_vectors(target)
        index_kind = existing.get("kind", DEFAULT_KIND)
        index_params = {**existing.get("user_params", {}), **(index_params or {})}
    check_kind(backend, index_kind, index_params)
    pipeline = load_pipeline(weights, device, pipeline, precision)
    caption_entries = read_captions(captions) if captions else None

    tick = time.perf_counter()
    exclude = target.exclude + ((Path(feature_cache).expanduser(),) if feature_cache else ())
    scan = scan_and_hash(root, exclude, limits)
    report = BuildReport(target.text, skipped=scan.skipped, failed=scan.failed,
                         timings={"scan": time.perf_counter() - tick})
    if not scan.paths:
        raise GalleryIndexError(f"no clip to index under {root}: no readable file with a media extension "
                                f"({' '.join(MEDIA_EXTENSIONS)})" + listing(report))

    previous, why = previous_index(backend, target, pipeline, rebuild)
    report.notes += why
    records = list(previous.records()) if previous is not None else []  # read once: a database may hold them
    rows, todo = reuse_rows(previous, records, scan.paths, scan.hashes)
    report.reused = len(rows)
    return BuildPlan(root, backend, target, pipeline, index_kind, dict(index_params or {}), caption_entries,
                     scan.paths, scan.hashes, previous, {c.path: c.content_hash for _, c in records}, rows, todo,
                     report)


def check_kind(backend: GalleryBackend, kind: str, params: dict[str, Any] | None) -> None:
    """A kind the backend offers, with parameters that apply to it; else a GalleryIndexError before any work."""
    if kind not in backend.kinds:
        index_kind(kind)  # an unknown kind: the message lists every kind
        raise GalleryIndexError(f"index kind '{kind}' is not available in {backend.title}; choose one of "
                                f"{', '.join(backend.kinds)}")
    default_params(kind, 1, 8, params)


@dataclass
class Scan:
    """The gallery's readable media files (sorted, relative to it) with their content hashes, and the files left
    out: (path, reason) of those skipped (not media) and those that failed (too big, unreadable)."""

    paths: list[str]
    hashes: dict[str, str]
    skipped: list[tuple[str, str]]
    failed: list[tuple[str, str]]


def scan_and_hash(root: Path, exclude: tuple[Path, ...], limits: MediaLimits) -> Scan:
    """Scan the gallery (`scan_gallery`) and hash each media file's content, once: the hash finds the clip in the
    previous index and keys its cached features."""
    paths, skipped, failed = scan_gallery(root, exclude, limits)
    hashes: dict[str, str] = {}
    for rel in paths:
        try:
            hashes[rel] = content_hash(root / rel)
        except OSError as exc:
            failed.append((rel, f"cannot read the file ({exc.strerror or exc})"))
        except Exception as exc:  # noqa: BLE001 - one file never ends a build
            failed.append((rel, f"cannot read the file ({type(exc).__name__}: {exc})"))
    return Scan([p for p in paths if p in hashes], hashes, skipped, failed)


def scan_gallery(root: Path, exclude: tuple[Path, ...] = (), limits: MediaLimits = MediaLimits()
                 ) -> tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]:
    """Sorted media paths relative to root, plus (path, reason) lists of skipped non-media and too-big files.

    Hidden files and folders (leading '.') and the `exclude` folders (the index itself, a feature cache)
    are not looked at; symbolic links leading outside the gallery are skipped.
    """
    media, skipped, failed = [], [], []
    excluded = {os.path.realpath(p) for p in exclude}
    real_root = os.path.realpath(root)
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and os.path.realpath(os.path.join(folder, d)) not in excluded)
        for name in sorted(files):
            if name.startswith("."):
                continue
            full = os.path.join(folder, name)
            rel = Path(os.path.relpath(full, root)).as_posix()
            if not _is_utf8(rel):
                skipped.append((rel.encode("utf-8", "backslashreplace").decode("utf-8"),
                                "file or folder name is not valid UTF-8, so the index cannot record it; rename it"))
                continue
            if os.path.splitext(name)[1].lower() not in MEDIA_EXTENSIONS:
                skipped.append((rel, f"not a media file (extension '{os.path.splitext(name)[1] or 'none'}'; "
                                     f"indexed: {' '.join(MEDIA_EXTENSIONS)})"))
                continue
            real = os.path.realpath(full)
            if os.path.commonpath([real, real_root]) != real_root:
                skipped.append((rel, "symbolic link leading outside the gallery folder"))
                continue
            try:
                size = os.stat(full).st_size
            except OSError as exc:
                failed.append((rel, f"cannot read the file ({exc.strerror or exc})"))
                continue
            if size > limits.max_file_bytes:
                failed.append((rel, f"file is {size / 2**20:.1f} MiB, over the limit of "
                                    f"{limits.max_file_bytes / 2**20:.1f} MiB"))
                continue
            media.append(rel)
    return media, skipped, failed


def _is_utf8(name: str) -> bool:
    """False for a name with bytes that are not UTF-8 (Python keeps them as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def previous_index(backend: GalleryBackend, target: Target, pipeline: PVSEPipeline, rebuild: bool
                   ) -> tuple[Gallery | None, list[str]]:
    """(the index already at the target if it can be reused with these weights, else None; notes saying why not)."""
    try:
        previous = backend.previous(target)
    except PVSEError as exc:
        return None, [f"the existing index could not be read, so it is rebuilt from scratch ({exc})"]
    if previous is None:
        return None, []
    fingerprint, why = pipeline.fingerprint, None
    if rebuild:
        why = "--rebuild: every clip is encoded again"
    elif previous.fingerprint != fingerprint:
        why = (f"the existing index was built with other weights ({previous.meta.weights.ref}, fingerprint "
               f"{previous.fingerprint}); every clip is encoded again with these weights ({fingerprint})")
    elif previous.meta.frame_precision != pipeline.frame_precision:
        why = precision_note("index", previous.meta.frame_precision, pipeline.frame_precision)
    elif plain_dim(previous.meta) != pipeline.config.embed_dim:
        why = "the existing index does not match this model; it is rebuilt"
    if why is None:
        return previous, []
    previous.close()
    return None, [why]


def precision_note(what: str, old: str, new: str) -> str:
    """Why an index's rows are not reused: its frame features came from a CNN of another precision."""
    return (f"the existing {what} holds {old} frame-CNN features; every clip is encoded again with the {new} "
            f"frame CNN (the two never mix)")


def reuse_rows(previous: Gallery | None, records: list[tuple[int, ClipRecord]], paths: list[str],
               hashes: dict[str, str]) -> tuple[dict[str, Row], list[str]]:
    """(rows taken from `previous`, whose (row, record) pairs are `records`, by content hash; paths left to
    encode), in gallery order."""
    rows: dict[str, Row] = {}
    if previous is None:
        return rows, list(paths)
    old_by_hash: dict[str, int] = {}
    for row, clip in records:
        old_by_hash.setdefault(clip.content_hash, row)
    todo = [rel for rel in paths if hashes[rel] not in old_by_hash]
    wanted = {rel: old_by_hash[hashes[rel]] for rel in paths if hashes[rel] in old_by_hash}
    stored = previous.stored(sorted(set(wanted.values())))
    for rel, old_row in wanted.items():
        old = stored[old_row]
        record = old.record
        name = None if record.name_from_path else record.name  # made again below from the current path if asked
        rows[rel] = Row(ClipRecord(rel, record.content_hash, record.num_source_frames, name, record.caption,
                                    dict(record.metadata), read_text=record.read_text),
                         gif_embeddings(previous, old.embeddings),
                         np.asarray(old.attention, dtype=np.float32),
                         np.asarray(old.frame_indices, dtype=np.int32), old_row, old.embeddings)
    return rows, todo


def gif_embeddings(previous: Gallery, stored: np.ndarray) -> np.ndarray:
    """(K, H) a stored row's GIF heads as the video encoder made them (the joint form of text heads undone)."""
    gif = np.asarray(stored[:previous.gif_heads], dtype=np.float32)
    layout = previous.meta.layout
    return gif if layout is None else np.ascontiguousarray(gif[:, :layout.pvse_dim])


def plain_dim(meta: IndexMeta) -> int:
    """The PVSE embedding size of an index (its vectors are larger when text heads join the sentence space)."""
    layout = meta.layout
    return layout.pvse_dim if layout is not None else meta.embed_dim
