"""Score a checkpoint on the situation benchmark: top-1 / top-5 hit rate over the bundled gallery, per topic.

A hit is an acceptable reaction (queries.tsv) among the top-k GIFs, ranked by PVSE's max-over-K^2 score between the
query and every GIF of the gallery. The GIF side uses only pixels (no names), as for a user's own folder.

    python -m benchmarks.situations.score --weights weights/default [--json]
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from math import comb
from pathlib import Path

import torch

from benchmarks import BUNDLED_GALLERY
from pvse.defaults import default_weights
from pvse.pipeline import PVSEPipeline
from pvse.similarity import max_over_k2_scores
from pvse.training.cached_features import load_frame_bank
from pvse.training.evaluate import embed_clips
from tools.situations.pairs import BENCHMARK, gallery_stem, read_benchmark


def score_situations(pipeline: PVSEPipeline, gallery: Path = BUNDLED_GALLERY, benchmark: Path = BENCHMARK,
                     feature_cache: str | Path | None = None, clip_emb: torch.Tensor | None = None,
                     text_emb: torch.Tensor | None = None) -> dict:
    """Top-1 / top-5 of the benchmark's queries; `text_emb` (Q, K, H) replaces the pipeline's query embeddings."""
    paths = sorted(gallery.glob("*.gif"))
    if clip_emb is None:
        config = pipeline.config
        frames = load_frame_bank(paths, config.frame_features, config.num_frames, feature_cache,
                                 extractor_factory=lambda: pipeline.frame_extractor, progress=False)
        clip_emb = embed_clips(pipeline.model, frames, paths, pipeline.device)
    rows = read_benchmark(benchmark)
    if text_emb is None:
        text_emb = pipeline.encode_text([r["query"] for r in rows]).embeddings
    ranked = max_over_k2_scores(text_emb.to(clip_emb.device), clip_emb).scores.argsort(dim=1, descending=True, stable=True)
    stems = [gallery_stem(p.name) for p in paths]
    per_topic: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    per_query = []
    for row, order in zip(rows, ranked[:, :5].tolist()):
        acceptable = set(row["acceptable"].split(","))
        top = [stems[i] for i in order]
        hit1, hit5 = top[0] in acceptable, any(s in acceptable for s in top)
        per_topic[row["topic"]].append((hit1, hit5))
        per_query.append({"topic": row["topic"], "query": row["query"], "top5": top, "hit1": hit1, "hit5": hit5})

    def rate(hits: list[tuple[bool, bool]], k: int) -> float:
        return round(100.0 * sum(h[k] for h in hits) / max(1, len(hits)), 1)

    every = [h for hs in per_topic.values() for h in hs]
    return {"queries": len(every), "top1": rate(every, 0), "top5": rate(every, 1),
            "per_topic": {t: {"n": len(h), "top1": rate(h, 0), "top5": rate(h, 1)} for t, h in sorted(per_topic.items())},
            "per_query": per_query}


def score_index(index_dir: Path, gallery: Path = BUNDLED_GALLERY, benchmark: Path = BENCHMARK) -> dict:
    """`score_situations` through a built index of `gallery`: its stored heads and the queries as it reads them."""
    from pvse.search import Searcher
    searcher = Searcher.load(index_dir, device="cpu")
    row_of = {Path(c.path).name: i for i, c in enumerate(searcher.index.clips)}
    paths = sorted(gallery.glob("*.gif"))
    clip_emb = torch.from_numpy(searcher.index.embeddings[[row_of[p.name] for p in paths]].astype("float32"))
    text_emb = searcher.query_embeddings([r["query"] for r in read_benchmark(benchmark)])
    return score_situations(searcher.pipeline, gallery, benchmark, clip_emb=clip_emb, text_emb=text_emb)


def random_situations(gallery_size: int = 445, queries: Path = BENCHMARK) -> dict:
    """Expected top-1 / top-5 hit rates (percent) of a random ranking of the gallery on a query file."""
    sizes = [len(r["acceptable"].split(",")) for r in read_benchmark(queries)]
    top1 = sum(a / gallery_size for a in sizes) / len(sizes)
    top5 = sum(1 - comb(gallery_size - a, 5) / comb(gallery_size, 5) for a in sizes) / len(sizes)
    return {"top1": round(100 * top1, 1), "top5": round(100 * top5, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default=None, help="checkpoint (default: the bundled model)")
    parser.add_argument("--gallery", type=Path, default=BUNDLED_GALLERY)
    parser.add_argument("--queries", type=Path, default=BENCHMARK,
                        help="query file (topic<TAB>query<TAB>acceptable; default the situation benchmark)")
    parser.add_argument("--feature-cache", default=None)
    parser.add_argument("--index", type=Path, default=None,
                        help="score through this index of the gallery as `pvse search` does (its heads, text heads "
                             "read in the frames included) instead of the checkpoint's pixels alone")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.index is not None:
        result = score_index(args.index, args.gallery, args.queries)
    else:
        pipeline = PVSEPipeline.from_pretrained(args.weights or default_weights(), device="cpu")
        result = score_situations(pipeline, args.gallery, args.queries, feature_cache=args.feature_cache)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['queries']} queries: top-1 {result['top1']}%, top-5 {result['top5']}%")
    for topic, r in result["per_topic"].items():
        print(f"  {topic:8s} n={r['n']:2d}  top-1 {r['top1']:5.1f}%  top-5 {r['top5']:5.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
