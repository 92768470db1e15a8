"""Build or update a gallery index: walk a folder, encode new or changed clips, reuse the rest, write atomically.

For each media file: T evenly spaced frames are decoded and put through the frozen CNN, the text reader reads the
words a few frames show (both from one decode, each clip one task, clips side by side: `features.clip_work`), and the video
encoder turns the (T, D) features into K embeddings and a (K, T) frame attention (paper Sec. 3.2). A rerun on the same folder
reuses every clip whose content hash is already in the index built by the same weights (renamed files
included), encodes only new or changed files and drops rows whose file is gone. Bad files are listed with
their reason and the build goes on. Nothing reaches disk until the whole index is ready (`index.store.write_index`).

Text heads (on by default). Each clip's own words become heads of the clip beside its K GIF heads: the text read
in its frames (`read_text`), its name (`names`: from the captions file, else made from its file and folder names,
`captions.words_from_path`) and its caption (`text_heads`). They are compared with the query by a sentence model
and put on the GIF heads' scale (`text_heads`), so the one max over all head pairs (eq. 6) ranks and the winning
head says whether the GIF's frames or its words matched; the GIF heads weigh what the gallery's own words say
they are worth (`agreement`). A clip without words repeats its GIF embeddings there: ties go to the lower head,
so a copy never wins and its score is unchanged.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..devices import DEFAULT_DEVICE
from ..features.precision import DEFAULT_FRAME_PRECISION as DEFAULT_PRECISION
from ..index.backends import backend_for
from ..media import MediaLimits
from ..pipeline import PVSEPipeline
from ..reading.registry import DEFAULT_READER
from .encode import ClipEncoder, gather_rows, guard_crashes, release_memory
from .plan import gallery_folder, plan_build
from .read_text import read_missing_text
from .report import BuildReport
from .write import write_plan


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

    Four stages, the same for every backend, each a module returning its result: `plan` (checks, model, scan and
    hashes, what is reused), `encode` (decode + CNN + text reader + video encoder for the rest), `read_text` (text
    of reused clips not yet read by this reader), `write` (captions, names, text heads, hub scores, metadata, and
    the backend's writer last). This function runs them and keeps the report.
    """
    started = time.perf_counter()
    root = gallery_folder(gallery_dir)
    own_pipeline = pipeline is None  # loaded here: its frame CNN can go once the clips are encoded
    plan = plan_build(backend_for(out_dir), root, out_dir, weights, captions=captions, device=device,
                      feature_cache=feature_cache, index_kind=index_kind, index_params=index_params, rebuild=rebuild,
                      limits=limits, pipeline=pipeline, precision=precision)
    report = plan.report
    reader = (reader or DEFAULT_READER) if read_text else None
    encoder, journal, todo, skipped = guard_crashes(plan, encoder, retry_failed)
    report.failed += skipped
    try:
        encoded = encoder(todo, plan.root, plan.pipeline, hashes=plan.hashes, batch_size=batch_size,
                          feature_cache=feature_cache, decode_workers=decode_workers, limits=limits,
                          progress=progress, reader=reader)
        report.failed += encoded.failed
        report.notes += encoded.notes
        report.add_time(encoded.timings, encoded.busy)
        rows, counts = gather_rows(plan, todo, encoded)
        report.added, report.changed, report.removed = counts["added"], counts["changed"], counts["removed"]
        if own_pipeline:
            plan.pipeline.__dict__.pop("frame_extractor", None)  # the frame CNN's stage is over: free its memory
        release_memory()
        previous_reader = plan.previous.meta.reader if plan.previous is not None else None
        reading = read_missing_text(plan.root, rows, set(todo), previous_reader, reader, limits=limits,
                                    progress=progress, workers=decode_workers)
        reading.apply(rows)
        report.notes += reading.notes
        if reading.seconds is not None:
            report.timings["read text"] = reading.seconds
        write_plan(plan, rows, reading, text_heads=text_heads, names=names)
    finally:
        if journal is not None:
            journal.close()
        if plan.previous is not None:
            plan.previous.close()
    report.seconds = time.perf_counter() - started
    return report
