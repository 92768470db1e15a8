"""The PVSE ablation on the emoji data (paper Fig. 5 / Table 4 on our data), plus the situation benchmark.

Each configuration is trained on the train split (model selection on val), then reported on the held-out test
emoji (text->video and video->text R@K, MedR, nMR) and on the situation benchmark (top-1 / top-5 hits over the
bundled gallery). Results accumulate in benchmarks/results/ablation.json (finished configurations are skipped),
and the table and the rsum-vs-K plot are written next to it.

Every configuration is the shipped recipe (pvse/recipes/default.args) with a few `pvse train` arguments changed.

    python -m benchmarks.ablation [--epochs 40] [--only NAME ...]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

from benchmarks import REPO_ROOT, SHARED_EMOJI
from pvse.cli.train import config_from_argv
from pvse.data import load_dataset
from pvse.pipeline import PVSEPipeline
from pvse.training import TrainConfig, evaluate, evaluate_random, train

from .situations.score import score_situations

DATA = "emoji:" + str(SHARED_EMOJI)
SITUATIONS = REPO_ROOT / "gallery" / "situation-pairs.tsv"
RESULTS = REPO_ROOT / "benchmarks" / "results"
# Each configuration is `pvse train` arguments on top of the shipped recipe (pvse/recipes/default.args, MiniLM
# tokens, K = 4, 8 passes per epoch at lr 6e-4), always trained on the train split (model selection on val).
PAIRS = ["--extra-pairs", str(SITUATIONS)]
ONE_PASS = ["--passes-per-epoch", "1", "--lr", "2e-4"]  # the reference code's schedule
GLOVE = ["--word-features", "glove-6b-50d", *ONE_PASS]
CONFIGS = {  # in the order they run: the ones the shipped model is chosen from first
    "glove-k0": [*GLOVE, "-K", "0"],
    "glove-k4": [*GLOVE, "-K", "4"],
    "minilm-k4+situations-p8": PAIRS,  # the shipped recipe
    "minilm-k4-p8": [],
    "minilm-k4": ONE_PASS,
    "glove-k4+situations": [*GLOVE, "-K", "4", *PAIRS],
    "glove-k1": [*GLOVE, "-K", "1"],
    "glove-k2": [*GLOVE, "-K", "2"],
    "glove-k8": [*GLOVE, "-K", "8"],
}
RECORDED = ("num_embeds", "word_features", "passes_per_epoch", "lr", "extra_pairs")  # a result's "config"


def train_config(name: str, runs: Path, epochs: int | None = None, **settings) -> TrainConfig:
    """The TrainConfig of configuration `name`: the recipe, its arguments, the train split, run folder runs/NAME."""
    argv = ["--data", DATA, "--out", str(runs / name), "--train-on", "train", *CONFIGS[name]]
    argv += ["--epochs", str(epochs)] if epochs else []
    return dataclasses.replace(config_from_argv(argv), progress=False, **settings)


def save(results: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS / "ablation.json.tmp"
    tmp.write_text(json.dumps(results, indent=2))
    os.replace(tmp, RESULTS / "ablation.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--runs", type=Path, default=REPO_ROOT / "runs" / "ablation")
    parser.add_argument("--feature-cache", default=os.environ.get("PVSE_FEATURE_CACHE"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    path = RESULTS / "ablation.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    data = load_dataset(DATA)
    if "random" not in results:
        results["random"] = {"test": evaluate_random(data, "test").to_dict(), "situations": None}
        save(results)
    for name in CONFIGS:
        if (args.only and name not in args.only) or name in results:
            continue
        config = train_config(name, args.runs, args.epochs, feature_cache=args.feature_cache, threads=args.threads)
        dataset = data.with_extra_pairs(config.extra_pairs[0]) if config.extra_pairs else data
        start = time.time()
        run = train(config, dataset)
        test = evaluate(run.best_dir, data, "test", feature_cache=args.feature_cache, progress=False)
        pipeline = PVSEPipeline.from_pretrained(str(run.best_dir), device="cpu")
        situations = score_situations(pipeline, feature_cache=args.feature_cache)
        entry = {"config": {k: getattr(config, k) for k in RECORDED}, "best_epoch": run.best_epoch,
                 "minutes": round((time.time() - start) / 60, 1), "test": test.to_dict(),
                 "situations": {k: situations[k] for k in ("top1", "top5", "per_topic")}}
        # re-read before writing, so two ablations run side by side (--only A, --only B) keep each other's rows
        results = {**(json.loads(path.read_text()) if path.is_file() else results), name: entry}
        save(results)
        print(f"{name}: test rsum {test.rsum:.1f}, situations top-5 {situations['top5']}%", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
