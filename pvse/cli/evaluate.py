"""`pvse evaluate --weights W --data SPEC --split test [--json]`: retrieval metrics (see pvse.training.evaluate)."""
from __future__ import annotations

import argparse

from ..devices import DEFAULT_DEVICE, DEVICES
from . import strict_json
from .train import add_data_arguments, load_data_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)
    parser.add_argument("--weights", metavar="PATH_OR_REPO",
                        help="checkpoint folder or Hugging Face repo id (default: the bundled model)")
    parser.add_argument("--split", default="test", help="train, val (valid) or test (default test)")
    parser.add_argument("--random", action="store_true",
                        help="score with uniformly random similarities instead of a model (the chance row)")
    parser.add_argument("--random-trials", type=int, default=10, metavar="N",
                        help="--random: average over this many seeded draws (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="--random: seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print only the metrics as JSON")
    parser.add_argument("--device", choices=DEVICES, default=DEFAULT_DEVICE, help="auto: CUDA when present")
    parser.add_argument("--feature-cache", metavar="DIR",
                        help="frame / word feature cache (default $PVSE_FEATURE_CACHE or ~/.cache/pvse-gif/features)")
    parser.add_argument("--batch-size", type=int, default=256, help="clips / texts per encoder batch (default 256)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from ..data import canonical_split
    from ..defaults import default_weights
    from ..training.evaluate import evaluate, evaluate_random
    split = canonical_split(args.split)
    dataset = load_data_from_args(args)
    if args.random:
        metrics = evaluate_random(dataset, split, trials=max(1, args.random_trials), seed=args.seed)
        source = f"random scores ({args.random_trials} trials, seed {args.seed})"
    else:
        weights = args.weights or default_weights()
        metrics = evaluate(weights, dataset, split, feature_cache=args.feature_cache, device=args.device,
                           batch_size=max(1, args.batch_size), progress=not (args.quiet or args.json))
        source = weights
    if args.json:
        print(strict_json.dumps({"weights": None if args.random else source, "data": args.data, **metrics.to_dict()}))
    else:
        print(f"{source} on {dataset.kind} split '{split}': {metrics.num_clips} clips, {metrics.num_texts} texts")
        print(metrics.format_table())
    return 0
