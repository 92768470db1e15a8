"""`pvse train` options and TrainConfig fields: one owner for each default, nothing listed twice."""
import argparse
import dataclasses

from pvse.cli import train as train_cli
from pvse.training.trainer import TrainConfig


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    train_cli.add_arguments(parser)
    return parser


def test_every_field_is_an_option_with_the_dataclass_default():
    args = _parser().parse_args(["--data", "emoji", "--out", "runs/x"])
    config = train_cli.config_from_args(args)
    defaults = TrainConfig(data="emoji", out="runs/x")
    assert config == defaults
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
