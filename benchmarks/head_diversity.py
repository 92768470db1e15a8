"""How distinct a checkpoint's K heads are, and what that costs or buys in retrieval, in one run.

Over the 150 reaction queries of both query sets (`benchmarks/situations/queries.tsv` + `fresh_queries.tsv`) and
the bundled 445-GIF gallery (pixels only, no names):
- cosine: mean pairwise cosine between a query's K embeddings (1.0 = the heads are copies);
- distinct: the share of queries whose heads' own best GIFs (each query head scored alone, max over the GIF's
  heads) are not all the same GIF (0 % = every head finds the same GIF);
- word overlap: mean over head pairs of sum_l min(a_i(l), a_j(l)) of the word attention (1 = same words);
- filler-led: the share of queries whose best GIF (max over K²) comes from a query head that puts at least half of
  its word attention on filler words (`pvse.features.filler`: "my", "when", "could", "have", ...);
- the situation benchmark and the fresh set, top-1 / top-5 (`benchmarks.situations.score`), beside the expected
  rates of a random ranking;
- held-out emoji retrieval: text->video and video->text R@1/5/10 and rsum on the emoji data set's test split (the
  emoji that `--train-on train+val` never sees; extra pairs naming them are ignored in training), as `pvse evaluate`
  scores it, beside the random-ranking level (`pvse evaluate --random`).

The head and query-set numbers are given three times: the model as trained (the text heads may attend every word);
`skip_filler`, query-time filler skipping (`PVSEPipeline.skip_filler`: the heads pool no filler word); and
`drop_filler_heads`, the heads as trained but a head with at least half its word attention on filler cannot win
the max. The held-out R@K is the model as trained (emoji keywords, scored from cached word features).

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
from pvse.features.filler import filler_share
from pvse.features.pieces import group_tokens, word_attention
from pvse.features.specs import WordFeaturesSpec
from pvse.pipeline import PVSEPipeline
from pvse.similarity import max_over_k2_scores, per_query_head_scores
from pvse.training import evaluate, evaluate_random
from pvse.training.banks import load_frame_bank
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


# (name, skip filler words in the text attention, drop query heads that read mostly filler); "" = as trained
VARIANTS = (("", False, False), ("skip_filler", True, False), ("drop_filler_heads", False, True))


def head_filler_shares(queries: list[str], tokens: list[list[str]], attention: list[np.ndarray],
                       spec: WordFeaturesSpec) -> np.ndarray:
    """(Q, K) share of each query head's word attention on filler words."""
    out = []
    for text, toks, att in zip(queries, tokens, attention):
        words = group_tokens(list(toks), text, spec)
        out.append(filler_share([w.text for w in words], word_attention(att, words)))
    return np.stack(out)


def without_filler_heads(embeddings: torch.Tensor, shares: np.ndarray,
                         limit: float = 0.5) -> tuple[torch.Tensor, np.ndarray]:
    """(Q, K, H) embeddings where a head with >= `limit` of its attention on filler is replaced by the query's
    least-filler head, so it can no longer win the max over K² (a query whose heads all read filler is kept);
    with the shares the replaced heads then have."""
    out, after = embeddings.clone(), shares.copy()
    for q, share in enumerate(shares):
        drop = share >= limit
        if drop.any() and not drop.all():
            out[q, torch.from_numpy(drop)] = embeddings[q, int(np.argmin(share))]
            after[q, drop] = share.min()
    return out, after


def filler_led(shares: np.ndarray, embeddings: torch.Tensor, clip_emb: torch.Tensor, limit: float = 0.5) -> float:
    """Percent of queries whose best GIF is found by a head with >= `limit` of its word attention on filler."""
    scores = max_over_k2_scores(embeddings, clip_emb)
    best = scores.scores.argmax(dim=1)
    led = [shares[q, int(scores.query_head[q, best[q]])] >= limit for q in range(len(shares))]
    return round(100.0 * float(np.mean(led)) if led else 0.0, 1)


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
    sets = [(name, path, read_benchmark(path)) for name, path in (("benchmark", BENCHMARK), ("fresh", FRESH))]
    queries = [r["query"] for _, _, rows in sets for r in rows]
    out: dict = {}
    for variant, skip, drop in VARIANTS:
        text = pipeline.encode_text(queries, skip_filler=skip)
        shares = head_filler_shares(queries, text.tokens, text.attention, pipeline.word_spec)
        emb, shares = without_filler_heads(text.embeddings, shares) if drop else (text.embeddings, shares)
        part = {"heads": {**head_metrics(emb, text.attention, clip_emb),
                          "filler_led": filler_led(shares, emb, clip_emb)}}
        start = 0
        for name, path, rows in sets:
            scored = score_situations(pipeline, gallery, path, clip_emb=clip_emb, text_emb=emb[start:start + len(rows)])
            start += len(rows)
            chance = random_situations(len(paths), path)
            part[name] = {"top1": scored["top1"], "top5": scored["top5"], "random_top1": chance["top1"],
                          "random_top5": chance["top5"]}
        if variant:
            out[variant] = part
        else:
            out.update(part)
    if heldout is not None:
        metrics = evaluate(pipeline, heldout, "test", feature_cache=feature_cache, progress=False)
        out["heldout"] = {**heldout_numbers(metrics), "clips": metrics.num_clips, "texts": metrics.num_texts,
                          "random_rsum": round(evaluate_random(heldout, "test").rsum, 1)}
    return out


def describe(result: dict) -> str:
    """One readable line of a `measure` result."""
    def part(r: dict) -> str:
        h, b, f = r["heads"], r["benchmark"], r["fresh"]
        return (f"head cosine {h['cosine']} (min {h['min_cosine']}), distinct best GIFs {h['distinct']}% of "
                f"{h['queries']} queries, word overlap {h['word_overlap']}, filler-led {h['filler_led']}%; "
                f"benchmark top-1/5 {b['top1']}/{b['top5']}% (random {b['random_top1']}/{b['random_top5']}%), "
                f"fresh top-1/5 {f['top1']}/{f['top5']}% (random {f['random_top1']}/{f['random_top5']}%)")

    line = "; ".join([part(result), *(f"{v}: {part(result[v])}" for v, _, _ in VARIANTS if v)])
    if "heldout" in result:
        r = result["heldout"]
        line += (f"; held-out emoji ({r['clips']} clips, {r['texts']} texts) text->video R@1/5/10 "
                 f"{r['t2v_r1']}/{r['t2v_r5']}/{r['t2v_r10']}, video->text {r['v2t_r1']}/{r['v2t_r5']}/{r['v2t_r10']},"
                 f" rsum {r['rsum']} (random {r['random_rsum']})")
    return line


_QUERY_KEYS = ("heads.cosine", "heads.distinct", "heads.word_overlap", "heads.filler_led", "benchmark.top1",
               "benchmark.top5", "fresh.top1", "fresh.top5")
SUMMARY_KEYS = (*_QUERY_KEYS, *(f"{v}.{k}" for v, _, _ in VARIANTS if v for k in _QUERY_KEYS),
                "heldout.t2v_r1", "heldout.t2v_r5", "heldout.t2v_r10", "heldout.v2t_r1",
                "heldout.v2t_r5", "heldout.v2t_r10", "heldout.rsum")


RULE_KEYS = ("heads.cosine", "heads.distinct", "benchmark.top5", "fresh.top5", "heldout.rsum")


def closest_to_mean(results: list[dict], summary: dict, keys: tuple[str, ...] = RULE_KEYS) -> int:
    """Index of the checkpoint nearest the mean: the sum over `keys` of |x - mean| / (max - min) (the decision
    rule's numbers, each in units of the seeds' spread; a key with no spread counts nothing)."""
    def value(result: dict, key: str) -> float:
        for part in key.split("."):
            result = result[part]
        return float(result)

    usable = [k for k in keys if k in summary and summary[k]["max"] > summary[k]["min"]]
    distance = [sum(abs(value(r, k) - summary[k]["mean"]) / (summary[k]["max"] - summary[k]["min"]) for k in usable)
                for r in results]
    return int(np.argmin(distance))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", action="append", help="checkpoint(s) (default: the bundled model)")
    parser.add_argument("--baseline", action="append", default=[],
                        help="checkpoint(s) measured in the same run for comparison, left out of the mean (e.g. the "
                             "shipped model beside a new recipe's seeds)")
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
    for weights in [*args.baseline, *(args.weights or [str(default_weights())])]:
        result = {"weights": weights, **measure(PVSEPipeline.from_pretrained(weights, device="cpu"),
                                                feature_cache=args.feature_cache, heldout=heldout)}
        if weights in args.baseline:
            result["baseline"] = True
        else:
            results.append(result)
        print(json.dumps(result) if args.json else f"{weights}{' (baseline)' * ('baseline' in result)}: "
              f"{describe(result)}", flush=True)
    if len(results) > 1:
        summary = summarise(results)
        if args.json:
            print(json.dumps({"summary_of": len(results), **summary}), flush=True)
        else:
            print(f"mean (min-max) of {len(results)} checkpoints:")
            for key in SUMMARY_KEYS:
                if key in summary:
                    s = summary[key]
                    print(f"  {key:<32} {s['mean']:.4g} ({s['min']:.4g}-{s['max']:.4g})")
            print(f"closest to the mean ({', '.join(RULE_KEYS)}): {results[closest_to_mean(results, summary)]['weights']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
