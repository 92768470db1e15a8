"""A build's last stage: name and caption the rows, join the clips' words as text heads (`text_heads`), score hubs,
write the metadata, and hand it all to the backend's writer (which swaps the new index in atomically)."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .. import __version__
from ..features.english import is_english_word
from ..index.backend import BuiltGallery, Gallery
from ..index.captions import CaptionEntry, match_captions, words_from_path
from ..index.hubness import encode_hub_scores, hub_meta, reference_key
from ..index.kinds import default_params, index_kind
from ..index.meta import IndexMeta, WeightsRef
from ..index.text_layout import SOURCES, TextLayout
from ..pipeline import PVSEPipeline
from .plan import BuildPlan
from .read_text import TextReading
from .reference_cache import cached_reference
from .report import BuildReport
from .rows import Row
from .text_heads import joint_embeddings, reference_query_encoder


def write_plan(plan: BuildPlan, rows: list[Row], reading: TextReading, *, text_heads: bool, names: bool) -> None:
    """Label the rows (captions, names), add text heads and hub scores, and hand it all to the backend's writer."""
    report = plan.report
    label(rows, plan.caption_entries, names)
    asked = matched_sources(reading.reader is not None, text_heads, names)
    report.notes += setting_change(plan.previous, asked, names)
    joined = join_texts(plan.pipeline, rows, asked)
    report.notes += joined.notes
    report.add_time(joined.timings)
    embeddings = joined.embeddings
    num_embeds, dim = embeddings.shape[1:]
    params = default_params(plan.kind, len(rows) * num_embeds, dim, plan.user_params)
    report.indexed = len(rows)
    meta = index_meta(plan.pipeline, plan.root, plan.target.relative_to, plan.kind, params, plan.user_params,
                      num_embeds, len(joined.sources), report)
    meta.reader = reading.reader
    meta.matched = list(asked)
    if joined.layout is not None:
        meta.text_layout, meta.embed_dim = joined.layout.to_dict(), joined.layout.dim
    tick = time.perf_counter()
    hubs = encode_hub_scores(plan.pipeline, embeddings, _known_hub_scores(plan.previous, rows, embeddings),
                             encode=joined.encode)
    meta.hub_scores = hub_meta()
    report.timings["hubs"] = time.perf_counter() - tick
    built = BuiltGallery(meta, [r.record for r in rows], embeddings,
                         np.stack([r.attention for r in rows]).astype(np.float32),
                         np.stack([r.frame_indices for r in rows]).astype(np.int32), hubs)
    tick = time.perf_counter()
    plan.backend.write(plan.target, built, plan.previous)
    report.timings["write"] = time.perf_counter() - tick


@dataclass
class JoinedTexts:
    """The rows' embeddings with their words as text heads (`text_heads`), or their GIF heads alone when no clip
    has words of a matched kind."""

    embeddings: np.ndarray  # (M, K [+ S], H)
    sources: tuple[str, ...]  # which texts became heads
    layout: TextLayout | None
    encode: object  # the reference-query encoder hub scores use (None: the pipeline's own)
    notes: list[str]
    timings: dict[str, float]


def join_texts(pipeline: PVSEPipeline, rows: list[Row], asked: tuple[str, ...]) -> JoinedTexts:
    """Each clip's words of the `asked` kinds as text heads beside its GIF heads, on their scale (`text_heads`)."""
    tick = time.perf_counter()
    embeddings = np.stack([r.embeddings for r in rows]).astype(np.float32)
    texts = [r.record.texts() for r in rows]
    sources = tuple(s for s in asked if any(s in t for t in texts))
    if not sources:
        return JoinedTexts(embeddings, sources, None, None, [], {})
    from ..features.sentence_minilm import MiniLMSentenceEncoder
    sentence_encoder = MiniLMSentenceEncoder()
    reference = cached_reference(pipeline, sentence_encoder)
    embeddings, layout, probe = joint_embeddings(pipeline, sentence_encoder, embeddings, texts, sources, reference)
    notes = []
    if probe.weight < 1.0:
        notes.append(f"the frames find {probe.recall:.0%} of the {probe.probes} clips with words by those words "
                     f"(chance {probe.chance:.0%}), so the GIF heads weigh {probe.weight:.2f} beside the words; "
                     "names and text rank this gallery (docs/real-gifs.md)")
    return JoinedTexts(embeddings, sources, layout, reference_query_encoder(layout, reference), notes,
                       {"text": time.perf_counter() - tick})


def matched_sources(read_text: bool, text_heads: bool, names: bool) -> tuple[str, ...]:
    """Which of a clip's texts (`pvse.index.text_layout.SOURCES`) a build matches queries against."""
    wanted = {"read text": read_text, "name": names, "caption": text_heads}
    return tuple(s for s in SOURCES if wanted[s])


def _known_hub_scores(previous: Gallery | None, ordered: list[Row], embeddings: np.ndarray) -> np.ndarray:
    """(M,) the previous index's hub score of each reused row whose embeddings are unchanged; NaN for the rest."""
    known = np.full(len(ordered), np.nan, dtype=np.float32)
    old = previous.hub_scores if previous is not None else None
    if old is None or (previous.meta.hub_scores or {}).get("reference") != reference_key():
        return known
    for i, row in enumerate(ordered):
        if row.source is not None and np.array_equal(row.stored_embeddings, embeddings[i]):
            known[i] = old[row.source]
    return known


def setting_change(previous: Gallery | None, asked: tuple[str, ...], names: bool) -> list[str]:
    """A rerun whose text settings differ from the index it updates says what that changes (frames are reused)."""
    if previous is None:
        return []
    before = previous.meta.matched
    if before is None or tuple(before) == asked:
        return []
    added, dropped = [s for s in asked if s not in before], [s for s in before if s not in asked]
    said = "; ".join(x for x in (f"now matches {', '.join(added)}" if added else "",
                                 f"no longer matches {', '.join(dropped)}" if dropped else "") if x)
    return [f"the existing index matched {', '.join(before) or 'frames only'}; this build {said}: "
                        "every clip's text heads are made again, its frames reused"
                        + ("" if names else " (names are kept for display)")]


def label(ordered: list[Row], caption_entries: dict[str, CaptionEntry] | None, names: bool) -> None:
    """Names, captions and metadata from the captions file; names from paths where asked and none is given."""
    if caption_entries is not None:
        matched = match_captions(caption_entries, [r.record.path for r in ordered])
        for row in ordered:
            entry = matched.get(row.record.path, CaptionEntry())
            row.record.name, row.record.caption, row.record.metadata = entry.name, entry.caption, dict(entry.metadata)
    if names:
        for row in ordered:
            if not row.record.name:
                row.record.name = words_from_path(row.record.path, is_english_word)
                row.record.name_from_path = row.record.name is not None


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
