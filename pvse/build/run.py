"""Build or update a gallery index: walk a folder, encode new or changed clips, reuse the rest, write atomically.

For each media file: T evenly spaced frames are decoded and put through the frozen CNN, the text reader reads the
words a few frames show (both from one decode, each clip one task, clips side by side: `clip_work`), and the video
encoder turns the (T, D) features into K embeddings and a (K, T) frame attention (paper Sec. 3.2). A rerun on the same folder
reuses every clip whose content hash is already in the index built by the same weights (renamed files
included), encodes only new or changed files and drops rows whose file is gone. Bad files are listed with
their reason and the build goes on. Nothing reaches disk until the whole index is ready (`store.write_index`).

Text heads (on by default). Each clip's own words become heads of the clip beside its K GIF heads: the text read
in its frames (`read_text`), its name (`names`: from the captions file, else made from its file and folder names,
`captions.words_from_path`) and its caption (`text_heads`). They are compared with the query by a sentence model
and put on the GIF heads' scale (`text_heads`), so the one max over all head pairs (eq. 6) ranks and the winning
head says whether the GIF's frames or its words matched; the GIF heads weigh what the gallery's own words say
they are worth (`agreement`). A clip without words repeats its GIF embeddings there: ties go to the lower head,
so a copy never wins and its score is unchanged.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm.auto import tqdm

from .. import __version__
from ..clip_features import (
    ClipFeatures,
    FeatureCache,
    content_hash,
    frame_decode_size,
    frame_features_key,
)
from ..config import DEFAULT_FRAME_PRECISION as DEFAULT_PRECISION
from ..devices import DEFAULT_DEVICE
from ..errors import GalleryIndexError, MediaError, PVSEError
from ..index.backend import BuiltGallery, Gallery, GalleryBackend, Target
from ..index.backends import backend_for
from ..index.captions import CaptionEntry, match_captions, read_captions, words_from_path
from ..index.hubness import encode_hub_scores, hub_meta, reference_key
from ..index.kinds import DEFAULT_KIND, default_params, index_kind
from ..index.meta import IndexMeta, WeightsRef
from ..index.records import ClipRecord
from ..index.text_layout import SOURCES
from ..media import MEDIA_EXTENSIONS, ClipView, MediaLimits
from ..pipeline import PVSEPipeline
from ..reading.registry import DEFAULT_READER
from ..reading.types import ReadText
from .crash_journal import CrashJournal
from .reference_cache import cached_reference
from .text_heads import joint_embeddings, reference_query_encoder


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


class ClipEncoder(Protocol):
    """Encodes clips into index rows: decode + frame CNN + video encoder for each path in `todo` (relative to
    `root`), and with `reader` (a frame-text reader's name) the text its frames show; a `_Row` into `rows[path]`
    for each success (`read_here` set when its text was read), `(path, reason)` into `report.failed` for each
    failure, time into `report.timings`. `encode_clips` does it in this process."""

    def __call__(self, todo: list[str], root: Path, pipeline: PVSEPipeline, rows: dict[str, _Row],
                 report: BuildReport, *, batch_size: int, feature_cache: str | Path | None,
                 decode_workers: int | None, limits: MediaLimits, progress: bool, reader: str | None = None) -> None: ...


@dataclass
class _Row:
    record: ClipRecord
    embeddings: np.ndarray  # (K, H)
    attention: np.ndarray  # (K_att, T)
    frame_indices: np.ndarray  # (T,)
    source: int | None = None  # the previous index's row it was reused from (None: encoded)
    stored_embeddings: np.ndarray | None = None  # that row's embeddings as stored (GIF and text heads)
    read_here: bool = False  # its text was read while it was encoded (`record.read_text`; None: no text)


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


def scan_and_hash(root: Path, exclude: tuple[Path, ...], limits: MediaLimits, report: BuildReport
                  ) -> tuple[list[str], dict[str, str]]:
    """The gallery's readable media paths (sorted) and their content hashes; the rest goes into `report`."""
    paths, report.skipped, report.failed = scan_gallery(root, exclude, limits)
    hashes: dict[str, str] = {}
    for rel in paths:
        try:
            hashes[rel] = content_hash(root / rel)
        except OSError as exc:
            report.failed.append((rel, f"cannot read the file ({exc.strerror or exc})"))
        except Exception as exc:  # noqa: BLE001 - one file never ends a build
            report.failed.append((rel, f"cannot read the file ({type(exc).__name__}: {exc})"))
    paths = [p for p in paths if p in hashes]
    if not paths:
        raise GalleryIndexError(f"no clip to index under {root}: no readable file with a media extension "
                                f"({' '.join(MEDIA_EXTENSIONS)})" + listing(report))
    return paths, hashes


def build_index(gallery_dir: str | Path, out_dir: str | Path | None = None, weights: str | None = None, *,
                captions: str | Path | None = None, device: str = DEFAULT_DEVICE, batch_size: int = 8,
                feature_cache: str | Path | None = None, index_kind: str | None = None,
                index_params: dict[str, Any] | None = None, rebuild: bool = False, decode_workers: int | None = None,
                limits: MediaLimits = MediaLimits(), progress: bool = True,
                pipeline: PVSEPipeline | None = None, text_heads: bool = True,
                names: bool = True, precision: str = DEFAULT_PRECISION,
                encoder: ClipEncoder | None = None, read_text: bool = True, reader: str | None = None,
                retry_failed: bool = False) -> BuildReport:
    """Index every clip under `gallery_dir` into `out_dir` (default: `<gallery_dir>.index` beside it), or into
    the gallery backend `out_dir` names (`milvus://gifs.db`, `https://host:19530`; see `backends`).

    weights: checkpoint directory or Hub repo id (default: the bundled model, `pvse.defaults`); `pipeline`
    may be passed instead to reuse a loaded model. An existing index at `out_dir` built with the same
    weights is updated incrementally; one built with other weights is rebuilt from scratch (said in
    `report.notes`); `rebuild=True` forces that. index_kind: a kind the backend offers (default
    "flat", exact; or the kind of the existing index). text_heads: also match queries against each clip's
    caption from the captions file; names: match them against each clip's name (from the captions file, else its
    file and folder names; False: names are kept for display only). precision: the frame CNN's, "fp32" or "int8"
    (`pvse.features.quantize`; ignored when `pipeline` is given: the pipeline's own). encoder: what turns the
    clips to encode into rows (`ClipEncoder`; default `encode_clips`, this process; `ray_build.RayEncoder`
    spreads them over a Ray cluster). read_text: read the words shown in each clip's frames (`pvse.reading`,
    reader `reader`, default PP-OCRv4) and make them a text head of the clip (`text_heads`). retry_failed: try
    again the files skipped because a build died while encoding them (`crash_journal`), each alone first.
    decode_workers: clips indexed side by side, one thread each (default: one per CPU).

    Three steps, the same for every backend: `plan_build` (checks, model, scan, what is reused), `encode_plan`
    (decode + CNN + video encoder for the rest), `write_plan` (captions, text heads, hub scores, metadata, and the
    backend's writer last).
    """
    started = time.perf_counter()
    root = gallery_folder(gallery_dir)
    own_pipeline = pipeline is None  # loaded here: its frame CNN can go once the clips are encoded
    if precision != DEFAULT_PRECISION and pipeline is None:
        pipeline = load_pipeline(weights, device, None, precision)
    plan = plan_build(backend_for(out_dir), root, out_dir, weights, captions=captions, device=device,
                      feature_cache=feature_cache, index_kind=index_kind, index_params=index_params, rebuild=rebuild,
                      limits=limits, pipeline=pipeline)
    reader = (reader or DEFAULT_READER) if read_text else None
    encoder, journal = guard_crashes(plan, encoder, retry_failed)
    try:
        ordered = encode_plan(plan, batch_size=batch_size, feature_cache=feature_cache,
                              decode_workers=decode_workers, limits=limits, progress=progress, encoder=encoder,
                              reader=reader)
        if own_pipeline:
            plan.pipeline.__dict__.pop("frame_extractor", None)  # the frame CNN's stage is over: free its memory
        release_memory()
        read_plan_text(plan, ordered, reader, limits=limits, progress=progress, workers=decode_workers)
        write_plan(plan, ordered, text_heads=text_heads, names=names, batch_size=batch_size)
    finally:
        if journal is not None:
            journal.close()
        if plan.previous is not None:
            plan.previous.close()
    plan.report.seconds = time.perf_counter() - started
    return plan.report


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
    rows: dict[str, _Row]  # path -> row, reused from `previous` so far
    todo: list[str]  # paths to encode
    report: BuildReport
    reader: str | None = None  # "name@version" of the frame-text reader whose text the rows hold (None: not read)


def gallery_folder(gallery_dir: str | Path) -> Path:
    """The gallery folder as an absolute path; one that is not there is a GalleryIndexError."""
    root = Path(gallery_dir).expanduser()
    if not root.is_dir():
        raise GalleryIndexError(f"gallery folder {root} does not exist or is not a folder")
    return Path(os.path.abspath(root))


def load_pipeline(weights: str | None, device: str, pipeline: PVSEPipeline | None = None,
                  precision: str = DEFAULT_PRECISION) -> PVSEPipeline:
    """`pipeline` if given, else the model at `weights` (default: the bundled one) with a `precision` frame CNN."""
    if pipeline is not None:
        return pipeline
    from ..defaults import default_weights
    return PVSEPipeline.from_pretrained(weights or default_weights(), device=device, frame_precision=precision)


def plan_build(backend: GalleryBackend, root: Path, out_dir: str | Path | None, weights: str | None, *,
               captions: str | Path | None, device: str, feature_cache: str | Path | None, index_kind: str | None,
               index_params: dict[str, Any] | None, rebuild: bool, limits: MediaLimits,
               pipeline: PVSEPipeline | None) -> BuildPlan:
    """Check the output and the index kind (before any work), load the model, scan and hash the gallery, and
    decide which clips the existing index gives back."""
    target = backend.target(out_dir, root)
    if index_kind is None:  # a rerun keeps the existing index's kind; parameters are checked against it
        existing = backend.existing_vectors(target)
        index_kind = existing.get("kind", DEFAULT_KIND)
        index_params = {**existing.get("user_params", {}), **(index_params or {})}
    check_kind(backend, index_kind, index_params)
    report = BuildReport(target.text)

    pipeline = load_pipeline(weights, device, pipeline)
    caption_entries = read_captions(captions) if captions else None

    tick = time.perf_counter()
    exclude = target.exclude + ((Path(feature_cache).expanduser(),) if feature_cache else ())
    paths, hashes = scan_and_hash(root, exclude, limits, report)
    report.timings["scan"] = time.perf_counter() - tick

    previous = _previous_index(backend, target, pipeline, rebuild, report)
    rows, todo = _reuse(previous, paths, hashes)
    report.reused = len(rows)
    return BuildPlan(root, backend, target, pipeline, index_kind, dict(index_params or {}), caption_entries, paths,
                     hashes, previous, rows, todo, report)


def check_kind(backend: GalleryBackend, kind: str, params: dict[str, Any] | None) -> None:
    """A kind the backend offers, with parameters that apply to it; else a GalleryIndexError before any work."""
    if kind not in backend.kinds:
        index_kind(kind)  # an unknown kind: the message lists every kind
        raise GalleryIndexError(f"index kind '{kind}' is not available in {backend.title}; choose one of "
                                f"{', '.join(backend.kinds)}")
    default_params(kind, 1, 8, params)


def _reuse(previous: Gallery | None, paths: list[str], hashes: dict[str, str]
           ) -> tuple[dict[str, _Row], list[str]]:
    """(rows taken from `previous` by content hash, paths left to encode)."""
    rows: dict[str, _Row] = {}
    if previous is None:
        return rows, list(paths)
    old_by_hash: dict[str, int] = {}
    for row, clip in previous.records():
        old_by_hash.setdefault(clip.content_hash, row)
    todo = [rel for rel in paths if hashes[rel] not in old_by_hash]
    wanted = {rel: old_by_hash[hashes[rel]] for rel in paths if hashes[rel] in old_by_hash}
    stored = previous.stored(sorted(set(wanted.values())))
    for rel, old_row in wanted.items():
        old = stored[old_row]
        record = old.record
        name = None if record.name_from_path else record.name  # made again below from the current path if asked
        rows[rel] = _Row(ClipRecord(rel, record.content_hash, record.num_source_frames, name, record.caption,
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


def read_plan_text(plan: BuildPlan, ordered: list[_Row], reader: str | None, *, limits: MediaLimits,
                   progress: bool, workers: int | None = None) -> None:
    """Read the text in the frames of every clip that has none from this reader yet (new and changed clips, and all
    of them when the previous index was read by another reader or not at all); None: read nothing, keep none."""
    if reader is None:
        for row in ordered:
            row.record.read_text = None
        return
    from ..reading import frame_text_reader_spec
    spec = frame_text_reader_spec(reader)
    plan.reader = spec.ref
    previous = plan.previous.meta.reader if plan.previous is not None else None
    encoded = set(plan.todo)
    todo = [row for row in ordered if not row.read_here and (row.record.path in encoded or previous != spec.ref)]
    if not todo:
        return
    from .clip_work import ReadTasks, default_workers, run_clip_tasks
    tick = time.perf_counter()
    tasks = ReadTasks(spec, spec.build(), limits)
    bar = tqdm(total=len(todo), unit="clip", desc="reading text", disable=not progress, dynamic_ncols=True)
    works = run_clip_tasks([plan.root / row.record.path for row in todo], tasks, workers or default_workers())
    for row, work in zip(todo, works):
        bar.update(1)
        read = work.read
        if isinstance(read, MediaError):
            plan.report.notes.append(f"{row.record.path}: {read.reason}")
            row.record.read_text = None
        else:
            row.record.read_text = read if read.lines else None
    bar.close()
    plan.report.timings["read text"] = time.perf_counter() - tick


def encode_plan(plan: BuildPlan, *, batch_size: int, feature_cache: str | Path | None, decode_workers: int | None,
                limits: MediaLimits, progress: bool, encoder: ClipEncoder | None = None,
                reader: str | None = None) -> list[_Row]:
    """Encode the plan's new and changed clips (with `encoder`, default `encode_clips`; reading their text with
    `reader`); the index's rows in gallery order, with the report's counts."""
    report, rows = plan.report, plan.rows
    (encoder or encode_clips)(plan.todo, plan.root, plan.pipeline, rows, report, batch_size=batch_size,
                              feature_cache=feature_cache, decode_workers=decode_workers, limits=limits,
                              progress=progress, reader=reader)
    old_hash_of = {c.path: c.content_hash for _, c in plan.previous.records()} if plan.previous is not None else {}
    if plan.previous is not None:
        report.changed = sum(1 for rel in plan.todo if rel in rows and rel in old_hash_of
                             and old_hash_of[rel] != plan.hashes[rel])
    report.added = sum(1 for rel in plan.todo if rel in rows) - report.changed
    ordered = [rows[rel] for rel in plan.paths if rel in rows]
    if not ordered:
        raise GalleryIndexError(f"none of the {len(plan.paths)} media files under {plan.root} could be indexed"
                                + listing(report))
    report.removed = len(set(old_hash_of) - set(rows))
    return ordered


def matched_sources(read_text: bool, text_heads: bool, names: bool) -> tuple[str, ...]:
    """Which of a clip's texts (`text_heads.SOURCES`) a build matches queries against."""
    wanted = {"read text": read_text, "name": names, "caption": text_heads}
    return tuple(s for s in SOURCES if wanted[s])


def write_plan(plan: BuildPlan, ordered: list[_Row], *, text_heads: bool, names: bool, batch_size: int) -> None:
    """Label the rows (captions, names), add text heads and hub scores, and hand it all to the backend's writer."""
    report, timings = plan.report, plan.report.timings
    _label(ordered, plan.caption_entries, names)
    tick = time.perf_counter()
    embeddings = np.stack([r.embeddings for r in ordered]).astype(np.float32)
    texts = [r.record.texts() for r in ordered]
    asked = matched_sources(plan.reader is not None, text_heads, names)
    _note_setting_change(plan, asked, names, report)
    sources = tuple(s for s in asked if any(s in t for t in texts))
    layout = encode = None
    if sources:
        from ..features.sentence_minilm import MiniLMSentenceEncoder
        sentence_encoder = MiniLMSentenceEncoder()
        reference = cached_reference(plan.pipeline, sentence_encoder)
        embeddings, layout, probe = joint_embeddings(plan.pipeline, sentence_encoder, embeddings, texts, sources,
                                                     reference)
        encode = reference_query_encoder(layout, reference)
        timings["text"] = time.perf_counter() - tick
        if probe.weight < 1.0:
            report.notes.append(
                f"the frames find {probe.recall:.0%} of the {probe.probes} clips with words by those words (chance "
                f"{probe.chance:.0%}), so the GIF heads weigh {probe.weight:.2f} beside the words; names and text "
                "rank this gallery (docs/real-gifs.md)")
    num_embeds, dim = embeddings.shape[1:]
    params = default_params(plan.kind, len(ordered) * num_embeds, dim, plan.user_params)
    report.indexed = len(ordered)
    meta = index_meta(plan.pipeline, plan.root, plan.target.relative_to, plan.kind, params, plan.user_params,
                      num_embeds, len(sources), report)
    meta.reader = plan.reader
    meta.matched = list(asked)
    if layout is not None:
        meta.text_layout, meta.embed_dim = layout.to_dict(), layout.dim
    tick = time.perf_counter()
    hubs = encode_hub_scores(plan.pipeline, embeddings, _known_hub_scores(plan.previous, ordered, embeddings),
                             encode=encode)
    meta.hub_scores = hub_meta()
    timings["hubs"] = time.perf_counter() - tick
    built = BuiltGallery(meta, [r.record for r in ordered], embeddings,
                         np.stack([r.attention for r in ordered]).astype(np.float32),
                         np.stack([r.frame_indices for r in ordered]).astype(np.int32), hubs)
    tick = time.perf_counter()
    plan.backend.write(plan.target, built, plan.previous)
    timings["write"] = time.perf_counter() - tick


def _known_hub_scores(previous: Gallery | None, ordered: list[_Row], embeddings: np.ndarray) -> np.ndarray:
    """(M,) the previous index's hub score of each reused row whose embeddings are unchanged; NaN for the rest."""
    known = np.full(len(ordered), np.nan, dtype=np.float32)
    old = previous.hub_scores if previous is not None else None
    if old is None or (previous.meta.hub_scores or {}).get("reference") != reference_key():
        return known
    for i, row in enumerate(ordered):
        if row.source is not None and np.array_equal(row.stored_embeddings, embeddings[i]):
            known[i] = old[row.source]
    return known


def _note_setting_change(plan: BuildPlan, asked: tuple[str, ...], names: bool, report: BuildReport) -> None:
    """A rerun whose text settings differ from the index it updates says what that changes (frames are reused)."""
    if plan.previous is None:
        return
    before = plan.previous.meta.matched
    if before is None or tuple(before) == asked:
        return
    added, dropped = [s for s in asked if s not in before], [s for s in before if s not in asked]
    said = "; ".join(x for x in (f"now matches {', '.join(added)}" if added else "",
                                 f"no longer matches {', '.join(dropped)}" if dropped else "") if x)
    report.notes.append(f"the existing index matched {', '.join(before) or 'frames only'}; this build {said}: "
                        "every clip's text heads are made again, its frames reused"
                        + ("" if names else " (names are kept for display)"))


def known_word(word: str) -> bool:
    """Whether a folder word is an English word (GloVe 6B's 400k words): `captions.words_from_path`'s filter."""
    from ..features.glove import glove_words
    return word in glove_words()


def _label(ordered: list[_Row], caption_entries: dict[str, CaptionEntry] | None, names: bool) -> None:
    """Names, captions and metadata from the captions file; names from paths where asked and none is given."""
    if caption_entries is not None:
        matched = match_captions(caption_entries, [r.record.path for r in ordered])
        for row in ordered:
            entry = matched.get(row.record.path, CaptionEntry())
            row.record.name, row.record.caption, row.record.metadata = entry.name, entry.caption, dict(entry.metadata)
    if names:
        for row in ordered:
            if not row.record.name:
                row.record.name = words_from_path(row.record.path, known_word)
                row.record.name_from_path = row.record.name is not None


def _previous_index(backend: GalleryBackend, target: Target, pipeline: PVSEPipeline, rebuild: bool,
                    report: BuildReport) -> Gallery | None:
    """The index already at the target if it can be reused with these weights (else None, with a note why)."""
    try:
        previous = backend.previous(target)
    except PVSEError as exc:
        report.notes.append(f"the existing index could not be read, so it is rebuilt from scratch ({exc})")
        return None
    if previous is None:
        return None
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
        return previous
    report.notes.append(why)
    previous.close()
    return None




def precision_note(what: str, old: str, new: str) -> str:
    """Why an index's rows are not reused: its frame features came from a CNN of another precision."""
    return (f"the existing {what} holds {old} frame-CNN features; every clip is encoded again with the {new} "
            f"frame CNN (the two never mix)")


def guard_crashes(plan: BuildPlan, encoder: ClipEncoder | None, retry_failed: bool
                  ) -> tuple[ClipEncoder, CrashJournal | None]:
    """The encoder to use and this build's crash journal (`crash_journal`; None when it cannot keep one).

    Files a dead build had in flight are taken out of `plan.todo` into `report.failed` with the reason, unless
    `retry_failed`: then they are encoded first, one at a time. The single-process encoder journals the files it
    has in flight; another encoder (Ray) only gets the skipping, as its worker deaths do not end the build."""
    journal = CrashJournal.open(plan.target, plan.hashes)
    if journal is None:
        return encoder or encode_clips, None
    suspects = [rel for rel in plan.todo if rel in journal.crashed]
    if not retry_failed:
        plan.report.failed += [(rel, journal.crashed[rel].reason) for rel in suspects]
        plan.todo = [rel for rel in plan.todo if rel not in journal.crashed]
        suspects = []
    if encoder is not None:
        return encoder, journal
    suspects.sort(key=lambda rel: journal.crashed[rel].alone)  # a file known to crash last: the others get a chance

    def encode(todo: list[str], root: Path, pipeline: PVSEPipeline, rows: dict[str, _Row], report: BuildReport,
               **kwargs: Any) -> None:
        journal.alone = True
        for rel in suspects:
            encode_clips([rel], root, pipeline, rows, report, **{**kwargs, "decode_workers": 1, "progress": False},
                         journal=journal)
            journal.clear(rel)
        journal.alone = False
        tried = set(suspects)
        encode_clips([rel for rel in todo if rel not in tried], root, pipeline, rows, report, **kwargs,
                     journal=journal)

    return encode, journal


class _Journaled:
    """A clip's task (`clip_work.ClipTasks`) with the crash journal told the clip (relative to the gallery folder)
    is in work while it runs."""

    def __init__(self, tasks, journal: CrashJournal, root: Path) -> None:
        self.tasks, self.journal, self.root = tasks, journal, root

    def __call__(self, path: Path):
        rel = [Path(os.path.relpath(path, self.root)).as_posix()]
        self.journal.begin(rel)
        try:
            return self.tasks(path)
        finally:
            self.journal.end(rel)


def encode_clips(todo: list[str], root: Path, pipeline: PVSEPipeline, rows: dict[str, _Row], report: BuildReport, *,
                 batch_size: int, feature_cache: str | Path | None, decode_workers: int | None, limits: MediaLimits,
                 progress: bool, reader: str | None = None, journal: CrashJournal | None = None) -> None:
    """Each clip hashed, decoded once, through the frame CNN and (with `reader`) the text reader, `decode_workers`
    clips side by side (`clip_work`); then the video encoder, batch by batch, into `rows`. A clip whose text was
    read here has `_Row.read_here` set. The frame CNN and the reader are let go when done. `journal` is told the
    clips in work (`crash_journal`)."""
    from .clip_work import STAGES, ClipTasks, OneThreadCNN, default_workers, run_clip_tasks
    timings = report.timings
    timings.setdefault("encode", 0.0)
    if not todo:
        return
    started = time.perf_counter()
    config = pipeline.config
    frames = config.frame_preprocessing()
    cache = FeatureCache(feature_cache, frame_features_key(config.frame_features, frames, pipeline.frame_precision),
                         config.num_frames) if feature_cache else None
    spec = engine = None
    if reader is not None:
        from ..reading import frame_text_reader_spec
        spec = frame_text_reader_spec(reader)
        engine = spec.build()
    tasks = ClipTasks(None, ClipView(config.num_frames, frames.frame_sampling,
                                     frame_decode_size(config.frame_features, frames)),
                      build_cnn=lambda: OneThreadCNN(one_thread_extractor(pipeline)), reader_spec=spec, reader=engine,
                      cache=cache, limits=limits)
    busy = dict.fromkeys(STAGES, 0.0)
    busy["encoder"] = 0.0
    pending: list[tuple[str, ClipFeatures, ReadText | None]] = []

    def flush() -> None:
        tick = time.perf_counter()
        out = pipeline.encode_frame_features(np.stack([f.features for _, f, _ in pending]))
        for (rel, feats, read), emb, att in zip(pending, out.embeddings.numpy(), out.attention.numpy()):
            rows[rel] = _Row(ClipRecord(rel, feats.content_hash, feats.num_source_frames), emb, att,
                             np.asarray(feats.frame_indices, dtype=np.int32), read_here=reader is not None)
            rows[rel].record.read_text = read
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
                report.failed.append((rel, work.features.reason))
                continue
            if cache is not None and not work.from_cache:
                cache.put(work.features)
            read = work.read
            if isinstance(read, MediaError):
                report.notes.append(f"{rel}: {read.reason}")
                read = None
            pending.append((rel, work.features, read if read is not None and read.lines else None))
            if len(pending) >= batch_size:
                flush()
        if pending:
            flush()
    finally:
        bar.close()
    timings["encode"] += time.perf_counter() - started
    report.busy.update({k: report.busy.get(k, 0.0) + v for k, v in busy.items() if v > 0})


def one_thread_extractor(pipeline: PVSEPipeline):
    """The pipeline's frame CNN, built (when not yet) with a one-thread ONNX session: clips run side by side on one
    thread each, and one session of the graph costs less memory than a second one beside it."""
    if "frame_extractor" in pipeline.__dict__:
        return pipeline.frame_extractor
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return pipeline.frame_extractor
    finally:
        torch.set_num_threads(threads)


def release_memory() -> None:
    """Hand the memory freed by a finished stage back to the system (glibc keeps it otherwise); no-op elsewhere."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def index_meta(pipeline: PVSEPipeline, root: Path, out_dir: Path | None, kind: str, params: dict, user_params: dict,
               num_embeds: int, num_text_heads: int, report: BuildReport) -> IndexMeta:
    """The metadata of an index just built (`root` and the weights relative to `out_dir` when possible; absolute
    when `out_dir` is None)."""
    config = pipeline.config
    source = str(pipeline.checkpoint.source)
    weights = WeightsRef(source, pipeline.fingerprint, False)
    if Path(source).expanduser().is_dir():
        weights.ref = _relative_or_absolute(Path(source).expanduser(), out_dir) if out_dir else \
            os.path.abspath(Path(source).expanduser())
        weights.ref_is_relative_path = not Path(weights.ref).is_absolute()
    return IndexMeta(
        weights=weights, config=config.to_dict(), attention_heads=int(config.num_embeds),
        embeddings_per_clip=int(num_embeds), embed_dim=int(config.embed_dim), num_frames=int(config.num_frames),
        frame_features=config.frame_features, word_features=config.word_features,
        gallery_root=_relative_or_absolute(root, out_dir) if out_dir else str(root),
        vectors={"kind": kind, "params": params, "user_params": user_params, "metric": "inner_product",
                 "id": "row * num_embeds + head", "exact": index_kind(kind).exact},
        counts={"clips": report.indexed, "vectors": report.indexed * int(num_embeds)},
        last_build={"reused": report.reused, "added": report.added, "changed": report.changed,
                    "removed": report.removed, "failed": [list(f) for f in report.failed],
                    "skipped": [list(s) for s in report.skipped], "notes": report.notes},
        text_heads=int(num_text_heads), pvse_version=__version__,
        updated=datetime.now(UTC).isoformat(timespec="seconds"), frame_precision=pipeline.frame_precision)


def _relative_or_absolute(path: Path, start: Path) -> str:
    """POSIX path of `path` relative to `start` (so the pair can move together), absolute if impossible."""
    try:
        return Path(os.path.relpath(os.path.abspath(path), start)).as_posix()
    except ValueError:  # different drives on Windows
        return str(Path(path).resolve())


def listing(report: BuildReport) -> str:
    items = report.failed + report.skipped
    return ("; " + "; ".join(f"{p}: {r}" for p, r in items[:5]) + (" ..." if len(items) > 5 else "")) if items else ""
