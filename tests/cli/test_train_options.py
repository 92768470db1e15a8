"""`pvse train` options and TrainConfig fields: one owner for each default, nothing listed twice. The options of
the recipe take their defaults from the shipped recipe (pvse/recipes/default.args) or --recipe FILE."""
import dataclasses

import pytest

from pvse.cli import main
from pvse.cli import train as train_cli
from pvse.cli.arguments import OneLineParser
from pvse.recipe import read_recipe
from pvse.training.trainer import TrainConfig


def _parser() -> OneLineParser:
    parser = OneLineParser(prog="pvse train")
    train_cli.add_arguments(parser)
    return parser


def _recipe_value(option: str) -> str:
    tokens = read_recipe()
    return tokens[tokens.index(option) + 1]


def test_defaults_are_the_recipes_without_recipe_flags():
    args = _parser().parse_args(["--data", "emoji", "--out", "runs/x"])
    assert args.word_features == _recipe_value("--word-features")
    assert args.num_embeds == int(_recipe_value("-K")) and args.lr == float(_recipe_value("--lr"))
    assert args.train_on == _recipe_value("--train-on")
    assert f"(default{_recipe_value('--word-features')})" in "".join(_parser().format_help().split())  # --help too


def test_every_field_is_an_option_with_the_recipe_or_dataclass_default(tmp_path):
    empty = tmp_path / "empty.args"
    empty.write_text("")
    args = _parser().parse_args(["--data", "emoji", "--out", "runs/x", "--recipe", str(empty)])
    config = train_cli.config_from_args(args)
    defaults = TrainConfig(data="emoji", out="runs/x")
    assert config == defaults
    recipe = train_cli.config_from_args(_parser().parse_args(["--data", "emoji", "--out", "runs/x"]))
    changed = {f.name for f in dataclasses.fields(TrainConfig) if getattr(recipe, f.name) != getattr(defaults, f.name)}
    assert changed and changed <= set(train_cli.recipe_defaults()) | {"num_frames"}
    dests = {a.dest for a in _parser()._actions}
    for f in dataclasses.fields(TrainConfig):
        if f.name not in train_cli.NOT_OPTIONS:
            assert train_cli.RENAMED.get(f.name, f.name) in dests, f.name


def test_options_reach_the_config():
    args = _parser().parse_args(["--data", "emoji", "--out", "o", "-K", "2", "--frames", "4", "--quiet",
                                 "--extra-pairs", "a.tsv", "--extra-pairs", "b.tsv", "--lr", "0.001"])
    config = train_cli.config_from_args(args)
    assert (config.num_embeds, config.num_frames, config.progress, config.extra_pairs, config.lr) == \
        (2, 4, False, ["a.tsv", "b.tsv"], 0.001)


def test_model_options_are_pvse_config_fields_with_its_defaults():
    from pvse.config import PVSEConfig
    from pvse.errors import ConfigError
    from pvse.training.trainer import MODEL_FIELDS
    model = {f.name: f.default for f in dataclasses.fields(PVSEConfig)}
    config = TrainConfig()
    assert all(getattr(config, name) == model[name] for name in MODEL_FIELDS)
    try:
        TrainConfig(embed_dim=31).check()
    except ConfigError as exc:
        assert "embed_dim" in str(exc) and "\n" not in str(exc)
    else:
        raise AssertionError("an odd embedding size must be a config error")


def test_another_recipe_gives_the_defaults_and_written_options_win_wherever_they_stand(tmp_path):
    recipe = tmp_path / "other.args"
    recipe.write_text("-K 8\n--lr 1e-3 # faster\n")
    base = ["--data", "emoji", "--out", "o"]
    for argv in (["--recipe", str(recipe), "-K", "2"], ["-K", "2", "--recipe", str(recipe)]):
        config = train_cli.config_from_args(_parser().parse_args(base + argv))
        assert (config.num_embeds, config.lr, config.word_features) == (2, 1e-3, TrainConfig.word_features)


@pytest.mark.parametrize("text, message", [("--data emoji\n", "unrecognised arguments: --data emoji"),
                                           ("-K many\n", "invalid _non_negative_int value"),
                                           (None, "cannot read the recipe")])
def test_a_bad_recipe_is_a_one_line_usage_error(tmp_path, capsys, text, message):
    recipe = tmp_path / "bad.args"
    if text is not None:
        recipe.write_text(text)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--data", "emoji", "--out", str(tmp_path / "o"), "--recipe", str(recipe), "--dry-run"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("pvse train: error:") and message in err
    assert len(err.strip().splitlines()) == 1
