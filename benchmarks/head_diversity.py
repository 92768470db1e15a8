"""How distinct a checkpoint's K heads are, and what that costs or buys in retrieval, in one run.

Over the 150 reaction queries of both query sets (`benchmarks/situations/queries.tsv` + `fresh_queries.tsv`) and
the bundled 445-GIF gallery (pixels only, no names):
- cosine: mean pairwise cosine between a query's K embeddings (1.0 = the heads are copies);
- distinct: the share of queries whose heads' own best GIFs (each query head scored alone, max over the GIF's
  heads) are not all the same GIF (0 % = every head finds the same GIF);
- word overlap: mean over head pairs of sum_l min(a_i(l), a_j(l)) of the word attention (1 = same words);
- the situation benchmark and the fresh set, top-1 / top-5 (`benchmarks.situations.score`).

    python -m benchmarks.head_diversity --weights weights/default [--json]
"""
from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import torch

from pvse.defaults import BUNDLED_GALLERY, default_weights
from pvse.pipeline import PVSEPipeline
from pvse.similarity import per_query_head_scores
from pvse.training.cached_features import load_frame_bank
from pvse.training.evaluate import embed_clips
from tools.situations.pairs import BENCHMARK, read_benchmark

from .situations.score import score_situations

FRESH = BENCHMARK.parent / "fresh_queries.tsv"


def head_metrics(embeddings: torch.Tensor, attention: list[np.ndarray], clip_emb: torch.Tensor) -> dict:
    """Head-distinctness numbers for Q queries' (Q, K, H) embeddings and (K, L) word attention (see module doc)."""
    q, k, _ = embeddings.shape
    pairs = list(itertools.combinations(range(k), 2))
    if not pairs:
        return {"queries": q, "cosine": 1.0, "min_cosine": 1.0, "distinct": 0.0, "word_overlap": 1.0}
    gram = embeddings @ embeddings.transpose(1, 2)
    cos = torch.stack([gram[:, i, j] for i, j in pairs], 1).mean(1)
    distinct = sum(len(set(per_query_head_scores(e, clip_emb).argmax(1).tolist())) > 1 for e in embeddings)
    overlap = [np.mean([np.minimum(a[i], a[j]).sum() for i, j in pairs]) for a in attention]
    return {"queries": q, "cosine": round(float(cos.mean()), 4), "min_cosine": round(float(cos.min()), 4),
            "distinct": round(100.0 * distinct / q, 1), "word_overlap": round(float(np.mean(overlap)), 3)}


def measure(pipeline: PVSEPipeline, gallery: Path = BUNDLED_GALLERY, feature_cache: str | None = None) -> dict:
    paths = sorted(gallery.glob("*.gif"))
    config = pipeline.config
    frames = load_frame_bank(paths, config.frame_features, config.num_frames, feature_cache,
                             extractor_factory=lambda: pipeline.frame_extractor, progress=False)
    clip_emb = embed_clips(pipeline.model, frames, paths, pipeline.device).float().cpu()
    rows = read_benchmark(BENCHMARK) + read_benchmark(FRESH)
    text = pipeline.encode_text([r["query"] for r in rows])
    out = {"heads": head_metrics(text.embeddings, text.attention, clip_emb)}
    for name, path in (("benchmark", BENCHMARK), ("fresh", FRESH)):
        scored = score_situations(pipeline, gallery, path, clip_emb=clip_emb)
        out[name] = {"top1": scored["top1"], "top5": scored["top5"]}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", action="append", help="checkpoint(s) (default: the bundled model)")
    parser.add_argument("--feature-cache", default=None)
    parser.add_argument("--json", action="store_true", help="one JSON line per checkpoint")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for weights in args.weights or [str(default_weights())]:
        result = {"weights": weights, **measure(PVSEPipeline.from_pretrained(weights, device="cpu"),
                                                feature_cache=args.feature_cache)}
        if args.json:
            print(json.dumps(result), flush=True)
            continue
        h = result["heads"]
        print(f"{weights}: head cosine {h['cosine']} (min {h['min_cosine']}), distinct best GIFs {h['distinct']}% "
              f"of {h['queries']} queries, word overlap {h['word_overlap']}; benchmark top-1/5 "
              f"{result['benchmark']['top1']}/{result['benchmark']['top5']}%, fresh "
              f"{result['fresh']['top1']}/{result['fresh']['top5']}% (random 2.2/10.5%)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
