"""How distinct a checkpoint's K heads are, and what that costs or buys in retrieval, in one run.

Over the 150 reaction queries of both query sets (`benchmarks/situations/queries.tsv` + `fresh_queries.tsv`) and
the bundled 445-GIF gallery (pixels only, no names):
- cosine: mean pairwise cosine between a query's K embeddings (1.0 = the heads are copies);
- distinct: the share of queries whose heads' own best GIFs (each query head scored alone, max over the GIF's
  heads) are not all the same GIF (0 % = every head finds the same GIF);
- word overlap: mean over head pairs of sum_l min(a_i(l), a_j(l)) of the word attention (1 = same words);
- the situation benchmark and the fresh set, top-1 / top-5 (`benchmarks.situations.score`), beside the expected
  rates of a random ranking;
- held-out emoji retrieval: text->video and video->text R@1/5/10 and rsum on the emoji data set's test split (the
  emoji that `--train-on train+val` never sees; extra pairs naming them are ignored in training), as `pvse evaluate`
  scores it, beside the random-ranking level (`pvse evaluate --random`).

Given several checkpoints (e.g. the seeds of one recipe) it also prints their mean and min-max range.

    python -m benchmarks.head_diversity --weights weights/default [--weights runs/s1/best ...] [--json]
"""
from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import torch

from benchmarks import BUNDLED_GALLERY, SHARED_EMOJI
from pvse.data import PairDataset, load_dataset
from pvse.defaults import default_weights
from pvse.errors import PVSEError
from pvse.pipeline import PVSEPipeline
from pvse.similarity import per_query_head_scores
from pvse.training import evaluate, evaluate_random
from pvse.training.cached_features import load_frame_bank
from pvse.training.evaluate import embed_clips
from tools.situations.pairs import BENCHMARK, read_benchmark

from .situations.score import random_situations, score_situations

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


def heldout_numbers(metrics) -> dict:
    """R@1/5/10 of both directions and rsum of a `RetrievalMetrics`, rounded for a table."""
    out = {}
    for name, direction in (("t2v", metrics.text_to_video), ("v2t", metrics.video_to_text)):
        out.update({f"{name}_r{k}": round(getattr(direction, f"r{k}"), 1) for k in (1, 5, 10)})
    out["rsum"] = round(metrics.rsum, 1)
    return out


def summarise(results: list[dict]) -> dict:
    """Mean, min and max of every number the results share (nested dicts by key path), for several seeds."""
    def numbers(d: dict, prefix: str = "") -> dict[str, float]:
        flat: dict[str, float] = {}
        for key, value in d.items():
            if isinstance(value, dict):
                flat.update(numbers(value, f"{prefix}{key}."))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                flat[prefix + key] = float(value)
        return flat

    flats = [numbers(r) for r in results]
    keys = [k for k in flats[0] if all(k in f for f in flats)]
    return {k: {"mean": round(float(np.mean([f[k] for f in flats])), 4), "min": min(f[k] for f in flats),
                "max": max(f[k] for f in flats)} for k in keys}


def measure(pipeline: PVSEPipeline, gallery: Path = BUNDLED_GALLERY, feature_cache: str | None = None,
            heldout: PairDataset | None = None) -> dict:
    """Every number of the module doc for one loaded checkpoint (held-out R@K only when `heldout` is given)."""
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
        chance = random_situations(len(paths), path)
        out[name] = {"top1": scored["top1"], "top5": scored["top5"], "random_top1": chance["top1"],
                     "random_top5": chance["top5"]}
    if heldout is not None:
        metrics = evaluate(pipeline, heldout, "test", feature_cache=feature_cache, progress=False)
        out["heldout"] = {**heldout_numbers(metrics), "clips": metrics.num_clips, "texts": metrics.num_texts,
                          "random_rsum": round(evaluate_random(heldout, "test").rsum, 1)}
    return out


def describe(result: dict) -> str:
    """One readable line of a `measure` result."""
    h, b, f = result["heads"], result["benchmark"], result["fresh"]
    line = (f"head cosine {h['cosine']} (min {h['min_cosine']}), distinct best GIFs {h['distinct']}% of "
            f"{h['queries']} queries, word overlap {h['word_overlap']}; benchmark top-1/5 {b['top1']}/{b['top5']}% "
            f"(random {b['random_top1']}/{b['random_top5']}%), fresh top-1/5 {f['top1']}/{f['top5']}% "
            f"(random {f['random_top1']}/{f['random_top5']}%)")
    if "heldout" in result:
        r = result["heldout"]
        line += (f"; held-out emoji ({r['clips']} clips, {r['texts']} texts) text->video R@1/5/10 "
                 f"{r['t2v_r1']}/{r['t2v_r5']}/{r['t2v_r10']}, video->text {r['v2t_r1']}/{r['v2t_r5']}/{r['v2t_r10']},"
                 f" rsum {r['rsum']} (random {r['random_rsum']})")
    return line


SUMMARY_KEYS = ("heads.cosine", "heads.distinct", "heads.word_overlap", "benchmark.top1", "benchmark.top5",
                "fresh.top1", "fresh.top5", "heldout.t2v_r1", "heldout.t2v_r5", "heldout.t2v_r10", "heldout.v2t_r1",
                "heldout.v2t_r5", "heldout.v2t_r10", "heldout.rsum")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", action="append", help="checkpoint(s) (default: the bundled model)")
    parser.add_argument("--feature-cache", default=None)
    parser.add_argument("--heldout-data", default=f"emoji:{SHARED_EMOJI}",
                        help="data spec whose test split is held out (default: the shared Noto emoji folder, the "
                             "set the bundled model is trained on)")
    parser.add_argument("--split-seed", type=int, default=0, help="split seed the checkpoints were trained with")
    parser.add_argument("--no-heldout", action="store_true", help="skip the held-out R@K")
    parser.add_argument("--json", action="store_true", help="one JSON line per checkpoint (then the summary)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        heldout = None if args.no_heldout else load_dataset(args.heldout_data, split_seed=args.split_seed)
    except PVSEError as exc:
        parser.error(f"held-out data: {exc} (pass --heldout-data emoji:DIR, or --no-heldout)")
    results = []
    for weights in args.weights or [str(default_weights())]:
        result = {"weights": weights, **measure(PVSEPipeline.from_pretrained(weights, device="cpu"),
                                                feature_cache=args.feature_cache, heldout=heldout)}
        results.append(result)
        print(json.dumps(result) if args.json else f"{weights}: {describe(result)}", flush=True)
    if len(results) > 1:
        summary = summarise(results)
        if args.json:
            print(json.dumps({"summary_of": len(results), **summary}), flush=True)
        else:
            print(f"mean (min-max) of {len(results)} checkpoints:")
            for key in SUMMARY_KEYS:
                if key in summary:
                    s = summary[key]
                    print(f"  {key:<20} {s['mean']:.4g} ({s['min']:.4g}-{s['max']:.4g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
