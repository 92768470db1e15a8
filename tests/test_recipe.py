"""The shipped recipe (pvse/recipes/default.args) is package data, and it is the recipe of the shipped model: the
config `pvse train` builds from it is weights/default/config.json."""
import json
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

import pvse
from pvse.cli.train import config_from_argv
from pvse.config import PVSEConfig
from pvse.errors import ConfigError
from pvse.recipe import DEFAULT_RECIPE, read_recipe

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CONFIG = REPO_ROOT / "weights" / "default" / "config.json"


def recipe_model(*argv: str) -> dict:
    """The model config that `pvse train --data … --out … ARGV` trains, through `pvse train`'s own mapping."""
    return config_from_argv(["--data", "emoji", "--out", "unused", *argv]).model_config().to_dict()


def shipped_model(path: Path = SHIPPED_CONFIG) -> dict:
    return PVSEConfig.from_dict(json.loads(path.read_text())).to_dict()


def test_the_shipped_config_is_the_recipes():
    assert recipe_model() == shipped_model()


def test_a_recipe_or_config_that_disagrees_is_seen(tmp_path):
    other = tmp_path / "other.args"
    other.write_text("\n".join(read_recipe()) + "\n--frames 4\n")
    assert recipe_model("--recipe", str(other)) != shipped_model()
    changed = json.loads(SHIPPED_CONFIG.read_text()) | {"num_embeds": 2}
    (tmp_path / "config.json").write_text(json.dumps(changed))
    assert recipe_model() != shipped_model(tmp_path / "config.json")


def test_the_recipe_is_package_data():
    assert (Path(pvse.__file__).parent / DEFAULT_RECIPE).is_file()
    package_data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert any(fnmatch(DEFAULT_RECIPE, pattern) for pattern in package_data["pvse"])


def test_the_recipe_names_no_data_and_no_machine():
    options = {token for token in read_recipe() if token.startswith("-")}
    assert options and not options & {"--data", "--extra-pairs", "--out", "--threads", "--device", "--feature-cache"}


def test_read_recipe_skips_comments_and_splits_lines(tmp_path):
    recipe = tmp_path / "r.args"
    recipe.write_text("# a comment\n\n-K 2  # two heads\n--lr 1e-3\n")
    assert read_recipe(recipe) == ["-K", "2", "--lr", "1e-3"]
    with pytest.raises(ConfigError, match="cannot read the recipe"):
        read_recipe(tmp_path / "missing.args")
