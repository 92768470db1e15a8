"""Hubs on the bundled gallery, and the opt-in query-time hub correction against plain max-over-K².

Hubness: how often each GIF lands in the top 5 over all 150 queries of both query sets (a random GIF: 150 x 5 / 445
= 1.7). The correction (`pvse.index.hubness`, `pvse search --hub-correction W`) ranks by s(q, g) - W r_g, with r_g a
GIF's mean of its 10 best max-over-K² scores against the shipped reference sentences (generic, not benchmark
queries), the hub scores `pvse index` stores; the explained score stays s(q, g). Top-5 = share of queries with an
acceptable GIF among the 5 first; chance = the same for a random ranking (exact, from each query's acceptable count).
With several checkpoints (seeds) each row is their mean and the spread is min–max.

    python -m benchmarks.hubness [--weights DIR ...] [--weight 0 0.1 0.25 0.5 1]
"""
from __future__ import annotations

import argparse
from collections import Counter
from math import comb

import torch

from benchmarks import BUNDLED_GALLERY
from pvse.defaults import default_weights
from pvse.index.hubness import corrected_scores, hub_scores, reference_sentences
from pvse.pipeline import PVSEPipeline
from pvse.similarity import max_over_k2_scores
from pvse.training.banks import load_frame_bank
from pvse.training.evaluate import embed_clips
from tools.situations.pairs import BENCHMARK, gallery_stem, read_benchmark

FRESH = BENCHMARK.parent / "fresh_queries.tsv"
SETS = {"benchmark": BENCHMARK, "fresh": FRESH}
TOP = 5


def chance_top_k(acceptable_counts: list[int], gallery_size: int, k: int = TOP) -> float:
    """% of queries a random ranking answers with an acceptable GIF among its first k."""
    return 100.0 * sum(1 - comb(gallery_size - a, k) / comb(gallery_size, k) for a in acceptable_counts) / len(
        acceptable_counts)


def measure(weights: str, hub_weights: list[float]) -> dict:
    """Top-5 per query set and hubness at each correction weight, for one checkpoint."""
    pipeline = PVSEPipeline.from_pretrained(weights, device="cpu")
    paths = sorted(BUNDLED_GALLERY.glob("*.gif"))
    frames = load_frame_bank(paths, pipeline.config.frame_features, pipeline.config.num_frames, None,
                             extractor_factory=lambda: pipeline.frame_extractor, progress=False)
    clips = embed_clips(pipeline.model, frames, paths, pipeline.device).float().cpu()
    stems = [gallery_stem(p.name) for p in paths]
    hubs = torch.from_numpy(hub_scores(pipeline.encode_text(list(reference_sentences())).embeddings, clips.numpy()))
    rows = {n: read_benchmark(p) for n, p in SETS.items()}
    scores = {n: max_over_k2_scores(pipeline.encode_text([x["query"] for x in r]).embeddings, clips).scores
              for n, r in rows.items()}
    out = {}
    for w in hub_weights:
        counts, line = Counter(), {}
        for name, queries in rows.items():
            top = corrected_scores(scores[name], hubs, w).topk(TOP, dim=1).indices.tolist()
            hits = sum(any(stems[i] in set(q["acceptable"].split(",")) for i in t) for q, t in zip(queries, top))
            counts.update(i for t in top for i in t)
            line[name] = 100.0 * hits / len(queries)
        line["hubs"] = [(stems[i], c) for i, c in counts.most_common(3)]
        line["distinct"] = len(counts)
        out[w] = line
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", action="append", help="checkpoint(s), e.g. several seeds (default: the bundled)")
    parser.add_argument("--weight", type=float, nargs="*", default=[0.0, 0.1, 0.25, 0.5, 1.0],
                        help="hub-correction weights W to try (0 = plain max over K²)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    checkpoints = args.weights or [str(default_weights())]
    runs = [measure(w, args.weight) for w in checkpoints]
    gallery = len(list(BUNDLED_GALLERY.glob("*.gif")))
    stems = {gallery_stem(p.name) for p in BUNDLED_GALLERY.glob("*.gif")}
    chance = {n: chance_top_k([len(set(q["acceptable"].split(",")) & stems) for q in read_benchmark(p)], gallery)
              for n, p in SETS.items()}
    queries = sum(len(read_benchmark(p)) for p in SETS.values())
    print(f"{len(reference_sentences())} reference sentences; {len(checkpoints)} checkpoint(s): {', '.join(checkpoints)}")
    print(f"random GIF: {queries * TOP / gallery:.1f} top-{TOP} appearances of {queries} queries")
    print("| W | benchmark top-5 | fresh top-5 | biggest hubs (top-5 appearances) | GIFs ever in a top 5 |")
    print("|---|---|---|---|---|")
    print(f"| chance (random ranking) | {chance['benchmark']:.1f} | {chance['fresh']:.1f} | – | – |")

    def cell(values: list[float]) -> str:
        mean = sum(values) / len(values)
        return f"{mean:.1f}" + (f" ({min(values):.1f}–{max(values):.1f})" if len(values) > 1 else "")

    for w in args.weight:
        hubs = "; ".join(", ".join(f"{s} {c}" for s, c in r[w]["hubs"]) for r in runs)
        print(f"| {w:g}{' (off)' if w == 0 else ''} | {cell([r[w]['benchmark'] for r in runs])} | "
              f"{cell([r[w]['fresh'] for r in runs])} | {hubs} | {cell([r[w]['distinct'] for r in runs])} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
