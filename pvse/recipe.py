"""Training recipes as data: the shipped model's is `pvse/recipes/default.args`, package data.

A recipe is a text file of `pvse train` options, one option with its value a line (split like a shell line;
`#` comments and blank lines are skipped). It holds the choices that make a model: word and frame features, K,
embedding size, frames, the objective's weights, epochs, passes per epoch, learning rate, what to train on. It
names no data, seed, thread count or run folder: data paths belong to a machine, not to a model, so the caller
gives them (weights/make_default.sh passes the Noto emoji folder and gallery/situation-pairs.tsv).

Who reads the default recipe: `pvse train` takes the defaults of its options from it (`pvse train --data SPEC
--out DIR` trains the shipped recipe on SPEC; options written out win; `--recipe FILE` reads another file;
`pvse.cli.train.recipe_defaults` parses one), weights/make_default.sh passes it to `pvse train`, and
benchmarks/ablation.py builds its configurations on it.

Who does not: `PVSEConfig` and `TrainConfig` keep the library's own defaults (the reference code's, GloVe word
features). A config.json that lacks a field reads with PVSEConfig's default, and tests and tools build small
models through them, so moving those defaults would change what existing checkpoints and callers mean; the
recipe is the `pvse train` command line's default, and a library caller who wants it asks for it.
"""
from __future__ import annotations

import shlex
from importlib import resources
from pathlib import Path

from .errors import ConfigError

DEFAULT_RECIPE = "recipes/default.args"  # inside the pvse package


def recipe_text(path: str | Path | None = None) -> str:
    """The text of the recipe file at `path` (None: the shipped one); ConfigError when it cannot be read."""
    try:
        if path is None:
            return resources.files(__package__).joinpath(DEFAULT_RECIPE).read_text(encoding="utf-8")
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the recipe {path or DEFAULT_RECIPE}: {getattr(exc, 'strerror', None) or exc}") \
            from None


def read_recipe(path: str | Path | None = None) -> list[str]:
    """The `pvse train` arguments of a recipe file (None: the shipped one), in order."""
    arguments: list[str] = []
    for number, line in enumerate(recipe_text(path).splitlines(), 1):
        try:
            arguments += shlex.split(line, comments=True)
        except ValueError as exc:
            raise ConfigError(f"recipe {path or DEFAULT_RECIPE}, line {number}: {exc}") from None
    return arguments
