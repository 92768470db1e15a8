"""`pvse train --data SPEC --out DIR`: train PVSE (see pvse.training.trainer).

The model, objective and optimisation options take their defaults from a recipe file (pvse.recipe): the shipped
model's, or `--recipe FILE`; options written out win. Their fallback, for options a recipe leaves out, is TrainConfig.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from ..config import RESIDUALS
from ..data import SPLIT_RULES
from ..devices import DEVICES
from ..errors import ConfigError
from ..features.registry import frame_extractors, word_features
from ..losses import DIVERSITY_ON
from ..recipe import DEFAULT_RECIPE, read_recipe
from ..training.trainer import TRAIN_ON, TrainConfig
from .arguments import OneLineParser, positive_int

MAX_LISTED = 20  # failed clips printed by name; all of them are in train_config.json

DATA_HELP = ("data set: an MRW release folder (mrw-v1.0.json, split/*.tsv, mp4/), tsv:CLIPS_DIR:FILE.tsv or a "
             "FILE.tsv (rows: file<TAB>text[<TAB>split]), or emoji[:DIR] (the Noto animated emoji set)")


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text}")
    return value


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """--data and the options of data specs (shared with `pvse evaluate`)."""
    parser.add_argument("--data", required=True, metavar="SPEC", help=DATA_HELP)
    parser.add_argument("--clips-dir", metavar="DIR", help="folder of the clips (TSV spec: default the TSV's folder; "
                        "MRW: default ROOT/mp4)")
    parser.add_argument("--split-rule", choices=SPLIT_RULES, help="TSV spec: 'column' (third column, the default "
                        "when present), 'hash' (80/10/10 by file name hash, else the default) or 'shuffle'")
    parser.add_argument("--split-seed", type=int, default=TrainConfig.split_seed, metavar="N",
                        help=f"seed of the emoji / TSV 80/10/10 split (default {TrainConfig.split_seed})")


class _RecipeParser(argparse.ArgumentParser):
    """Parses a recipe file's arguments; a usage error is a ConfigError naming the file."""

    def __init__(self, source: str) -> None:
        super().__init__(prog=f"recipe {source}", add_help=False, allow_abbrev=False)
        self.source = source

    def error(self, message: str):
        raise ConfigError(f"recipe {self.source}: {message} (a recipe holds only `pvse train`'s model, objective "
                          "and optimisation options)")


def recipe_defaults(path: str | None = None) -> dict[str, Any]:
    """The values (by option dest) of every model, objective and optimisation option of `pvse train` under the
    recipe file at `path` (None: the shipped one, see pvse.recipe): the recipe's own, else TrainConfig's default."""
    parser = _RecipeParser(path or DEFAULT_RECIPE)
    add_recipe_arguments(parser)
    args, unknown = parser.parse_known_args(read_recipe(path))
    if unknown:
        parser.error(f"unrecognised arguments: {' '.join(unknown)}")
    return vars(args)


def add_recipe_arguments(parser: argparse.ArgumentParser) -> None:
    """The options a recipe may set: model, objective and optimisation (their defaults here are TrainConfig's)."""
    d = TrainConfig()
    model = parser.add_argument_group("model")
    model.add_argument("-K", "--num-embeds", type=_non_negative_int, default=d.num_embeds, metavar="K",
                       help="embeddings per instance; 0 = global feature only (default %(default)s)")
    model.add_argument("--embed-dim", type=positive_int, default=d.embed_dim, metavar="H",
                       help="joint embedding size, even (default %(default)s)")
    model.add_argument("--dropout", type=float, default=d.dropout, help="default %(default)s")
    model.add_argument("--residual", choices=RESIDUALS, default=d.residual,
                       help="PIE-Net residual: sigmoid (paper eq. 2) or centred (2 sigmoid - 1; lets the K heads "
                            "separate, see the README) (default %(default)s)")
    model.add_argument("--frames", type=positive_int, default=d.num_frames, metavar="T",
                       help="frames sampled per clip (default %(default)s)")
    words, frames = word_features(trainable=True), frame_extractors(trainable=True)
    model.add_argument("--word-features", choices=list(words), default=d.word_features,
                       help=_escape("frozen word features: " + "; ".join(f"{n}: {s.about}" for n, s in words.items()))
                       + " (default %(default)s)")
    model.add_argument("--frame-features", choices=list(frames), default=d.frame_features,
                       help=_escape("frozen frame CNN: " + "; ".join(f"{n}: {s.about}" for n, s in frames.items()))
                       + " (default %(default)s)")
    loss = parser.add_argument_group("objective (paper eq. 5)")
    loss.add_argument("--margin", type=float, default=d.margin, help="triplet margin (default %(default)s)")
    loss.add_argument("--lambda-div", type=float, default=d.lambda_div, help="diversity weight (default %(default)s)")
    loss.add_argument("--diversity-on", choices=DIVERSITY_ON, default=d.diversity_on,
                      help="what the diversity loss pushes apart: the residuals (paper), the normalised embeddings "
                           "or the attention maps (||AA^T - I||) (default %(default)s)")
    loss.add_argument("--lambda-mmd", type=float, default=d.lambda_mmd, help="MMD weight (default %(default)s)")
    opt = parser.add_argument_group("optimisation")
    opt.add_argument("--batch-size", type=positive_int, default=d.batch_size, help="default %(default)s")
    opt.add_argument("--epochs", type=positive_int, default=d.epochs, help="default %(default)s")
    opt.add_argument("--passes-per-epoch", type=positive_int, default=d.passes_per_epoch, metavar="N",
                     help="visit every clip N times per epoch, each time with another of its texts; useful when "
                          "clips have many texts, e.g. with --extra-pairs (default %(default)s)")
    opt.add_argument("--lr", type=float, default=d.lr, help="AMSGrad learning rate (default %(default)s)")
    opt.add_argument("--grad-clip", type=float, default=d.grad_clip, help="gradient norm clip, 0 = off (default %(default)s)")
    opt.add_argument("--lr-patience", type=_non_negative_int, default=d.lr_patience, metavar="EPOCHS",
                     help="halve the learning rate after this many epochs without a better validation rsum "
                          "(default %(default)s)")
    opt.add_argument("--train-on", choices=TRAIN_ON, default=d.train_on,
                     help="train+val: final model, no validation, the last epoch is kept (default %(default)s)")
    opt.add_argument("--seed", type=int, default=d.seed, help="initialisation and batch sampling seed (default %(default)s)")


def _escape(text: str) -> str:
    return text.replace("%", "%%")


def add_arguments(parser: OneLineParser) -> None:
    """`pvse train`'s options; those of the recipe take their defaults from the shipped recipe or --recipe FILE."""
    d = TrainConfig()
    add_data_arguments(parser)
    parser.add_argument("--out", required=True, metavar="DIR", help="run folder: best/, last/, log.jsonl, train_state.pt")
    parser.add_argument("--extra-pairs", action="append", default=[], metavar="FILE.tsv",
                        help="file<TAB>text rows added to the train split only (repeatable)")
    add_recipe_arguments(parser)
    parser.add_defaults_file("--recipe", recipe_defaults, metavar="FILE",
                             help="a recipe file (`pvse train` options, one a line) giving the defaults of the "
                                  "model, objective and optimisation options (default: the shipped model's, "
                                  "pvse/recipes/default.args); options given here still win")
    run_group = parser.add_argument_group("running")
    run_group.add_argument("--device", choices=DEVICES, default=d.device,
                           help="auto: CUDA when present")
    run_group.add_argument("--feature-cache", metavar="DIR",
                           help="frame / word feature cache (default $PVSE_FEATURE_CACHE or ~/.cache/pvse-gif/features)")
    run_group.add_argument("--threads", type=positive_int, metavar="N",
                           help="CPU threads for PyTorch (default: its own choice; 1 is often fastest on a busy machine)")
    run_group.add_argument("--resume", action="store_true", help="continue the run in --out from its last finished epoch")
    run_group.add_argument("--dry-run", action="store_true", help="print the data set's splits as JSON and exit")
    run_group.add_argument("--quiet", action="store_true", help="no progress bars")


def load_data_from_args(args: argparse.Namespace, extra_pairs: list[str] | None = None):
    """The data set named by --data and its options; files it lists but lacks are reported on stderr."""
    from ..data import load_dataset
    dataset = load_dataset(args.data, clips_dir=args.clips_dir, split_rule=args.split_rule, split_seed=args.split_seed,
                           extra_pairs=extra_pairs or [])
    missing = dataset.notes.get("missing_files") or []
    if missing:
        print(f"note: {len(missing)} clips listed by the data set are not on disk and were left out "
              f"(e.g. {', '.join(map(str, missing[:3]))})", file=sys.stderr)
    return dataset


# TrainConfig fields an option sets under another name, and those no option sets (their default always holds)
RENAMED = {"num_frames": "frames", "progress": "quiet"}
NOT_OPTIONS = ("lr_factor", "eval_batch_size")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig of the parsed options: every field from the option of its name (see RENAMED)."""
    values = {}
    for f in dataclasses.fields(TrainConfig):
        if f.name in NOT_OPTIONS:
            continue
        value = getattr(args, RENAMED.get(f.name, f.name))
        values[f.name] = list(value) if isinstance(value, list) else value
    values["progress"] = not args.quiet
    return TrainConfig(**values)


def config_from_argv(argv: list[str]) -> TrainConfig:
    """The TrainConfig that `pvse train ARGV...` trains (the recipe's defaults included); not checked."""
    parser = OneLineParser(prog="pvse train")
    add_arguments(parser)
    return config_from_args(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    from ..training.trainer import train
    config = config_from_args(args)
    config.check()
    dataset = load_data_from_args(args, config.extra_pairs)
    if args.dry_run:
        print(json.dumps(dataset.describe(), indent=2, ensure_ascii=False))
        return 0
    result = train(config, dataset)
    if result.failed_clips:
        print(f"left out {len(result.failed_clips)} clips that could not be decoded (also listed in "
              f"{result.out_dir / 'train_config.json'}):")
        for message in list(result.failed_clips.values())[:MAX_LISTED]:
            print(f"  {message}")
        if len(result.failed_clips) > MAX_LISTED:
            print(f"  ... and {len(result.failed_clips) - MAX_LISTED} more")
    if result.best_val is not None:
        print(f"best epoch {result.best_epoch}/{result.epochs_done}: validation rsum {result.best_val.rsum:.2f}")
        print(result.best_val.format_table())
    else:
        print(f"trained {result.epochs_done} epochs on {config.train_on} (no validation; the last epoch is kept)")
    print(f"checkpoint: {result.best_dir}   log: {result.out_dir / 'log.jsonl'}")
    return 0
