"""Hub scores and the opt-in hub correction of a ranking (CSLS-style, Conneau et al. 2018, "Word translation
without parallel data").

A hub is a GIF that lands in the top results of many unrelated queries. Its hub score r_g is the mean of its
`NEIGHBOURS` best max-over-K² scores (eq. 6) against a fixed list of generic reference sentences
(`reference_sentences.txt`, shipped with the package, none of them a benchmark query), computed once at index time.
With a correction weight w > 0 the gallery is *ranked* by s(q, g) - w r_g; the score a hit reports and that the
app explains stays the plain s(q, g). w = 0.5 is CSLS proper (2 s - r_g - r_q, with r_q the same for every GIF of
one query). Off by default: on the bundled gallery it lowered top-5 at every weight (docs/heads.md, "Hubs").
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import QueryError
from ..similarity import max_over_k2_scores
from .ranking import TopClips

if TYPE_CHECKING:
    from ..pipeline import PVSEPipeline

REFERENCE_FILE = Path(__file__).with_name("reference_sentences.txt")
NEIGHBOURS = 10  # a GIF's hub score averages its scores with this many closest reference sentences
CHUNK = 4096  # clips scored against the reference sentences at once (bounded memory)


@lru_cache(maxsize=1)
def reference_sentences() -> tuple[str, ...]:
    """The shipped reference sentences (one a line, '#' comments skipped)."""
    lines = REFERENCE_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def hub_scores(reference: torch.Tensor, gallery: np.ndarray, neighbours: int = NEIGHBOURS) -> np.ndarray:
    """(R, Kq, H) reference-sentence embeddings, (M, K, H) clip embeddings -> (M,) float32 hub scores r_g:
    the mean of each clip's `neighbours` best max-over-K² scores against the reference sentences."""
    reference = torch.as_tensor(reference, dtype=torch.float32)
    k = max(1, min(int(neighbours), reference.size(0)))
    out = [max_over_k2_scores(reference, torch.from_numpy(np.array(gallery[i:i + CHUNK], dtype=np.float32)))
           .scores.topk(k, dim=0).values.mean(0) for i in range(0, gallery.shape[0], CHUNK)]
    return torch.cat(out).numpy().astype(np.float32) if out else np.zeros(0, np.float32)


def reference_key() -> str:
    """Which reference sentences and neighbour count made an index's hub scores (recorded in index.json)."""
    text = "\n".join(reference_sentences()) + f"\n{NEIGHBOURS}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def encode_hub_scores(pipeline: PVSEPipeline, gallery: np.ndarray, known: np.ndarray | None = None,
                      batch_size: int = 64, encode: Callable[[list[str]], torch.Tensor] | None = None) -> np.ndarray:
    """Hub scores of an index's (M, K, H) clip embeddings, the reference sentences encoded by `pipeline`.

    known: (M,) the scores a build already has (a reused clip with unchanged embeddings keeps its stored score),
    NaN where none; when every clip has one, the sentence encoder is not even loaded. encode: sentences -> (R, Kq,
    H) query embeddings (default: the pipeline's; an index with text heads passes its joint queries,
    `text_heads.reference_query_encoder`).
    """
    out = np.full(len(gallery), np.nan, dtype=np.float32) if known is None else np.array(known, dtype=np.float32)
    todo = np.flatnonzero(np.isnan(out))
    if len(todo):
        sentences = list(reference_sentences())
        encode = encode or (lambda texts: pipeline.encode_text(texts).embeddings.float().cpu())
        reference = torch.cat([encode(sentences[i:i + batch_size]) for i in range(0, len(sentences), batch_size)])
        out[todo] = hub_scores(reference, np.asarray(gallery)[todo])
    return out


def hub_meta() -> dict:
    """What index.json records about its hub scores."""
    return {"reference": reference_key(), "sentences": len(reference_sentences()), "neighbours": NEIGHBOURS}


def check_weight(weight: float) -> float:
    """A correction weight as a float >= 0, else a QueryError saying what is allowed."""
    weight = float(weight)
    if not math.isfinite(weight) or weight < 0:
        raise QueryError(f"--hub-correction must be a number >= 0 (0 = off, 0.5 = CSLS), got {weight}")
    return weight


def corrected_scores(scores: np.ndarray | torch.Tensor, hub: np.ndarray | torch.Tensor, weight: float):
    """The ranking score s - weight * r_g (the hit's own score stays s); broadcasts over leading query axes."""
    return scores - weight * hub


def corrected_top_k(search: Callable[[int], TopClips], hub: np.ndarray, weight: float, top_k: int) -> TopClips:
    """The top_k clips by s - weight * hub, from `search(n)` (the n best clips by plain s, best first).

    Exact whenever `search` is: a clip outside the n best has s <= the n-th score, so its corrected score is at most
    that minus weight * min(hub); n grows until the k-th corrected score beats this bound or n covers the gallery.
    The returned scores are the plain s; ties go to the lower row.
    """
    num_clips = len(hub)
    top_k = max(1, min(int(top_k), num_clips))
    n = min(num_clips, max(4 * top_k, 64))
    floor = float(hub.min()) if num_clips else 0.0
    while True:
        top = search(n)
        corrected = corrected_scores(top.scores.astype(np.float64), hub[top.rows].astype(np.float64), weight)
        order = np.lexsort((top.rows, -corrected))[:top_k]
        complete = n >= num_clips or len(top.rows) < n
        bound = float(top.scores[-1]) - weight * floor if len(top.rows) else -math.inf
        if complete or (len(order) >= top_k and corrected[order[-1]] > bound):
            return TopClips(top.rows[order], top.scores[order], top.query_heads[order], top.clip_heads[order],
                            top.candidates, top.exact)
        n = min(num_clips, 4 * n)
