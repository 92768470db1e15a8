"""The ablation's configurations are the shipped recipe with a few `pvse train` arguments changed, all trained on
the train split (model selection on validation, the test emoji held out)."""
import dataclasses
from pathlib import Path

from benchmarks import ablation
from pvse.cli.train import config_from_argv

RUNS = Path("runs-unused")


def test_every_configuration_is_the_recipe_on_the_train_split():
    recipe = config_from_argv(["--data", ablation.DATA, "--out", "unused"])
    for name in ablation.CONFIGS:
        config = ablation.train_config(name, RUNS)
        config.check()
        assert config.train_on == "train" and config.out == str(RUNS / name) and not config.progress
        changed = {f.name for f in dataclasses.fields(config) if getattr(config, f.name) != getattr(recipe, f.name)}
        assert changed <= {"train_on", "out", "progress", *ablation.RECORDED}, name


def test_the_recipe_row_is_the_shipped_recipe_with_its_pairs():
    config = ablation.train_config("minilm-k4+situations-p8", RUNS, epochs=3, threads=1)
    recipe = config_from_argv(["--data", ablation.DATA, "--out", str(RUNS / "minilm-k4+situations-p8"), "--train-on",
                               "train", "--extra-pairs", str(ablation.SITUATIONS), "--epochs", "3"])
    assert config == dataclasses.replace(recipe, progress=False, threads=1)
    glove = ablation.train_config("glove-k0", RUNS)
    assert (glove.word_features, glove.num_embeds, glove.extra_pairs) == ("glove-6b-50d", 0, [])
