"""A tiny real data set (12 Noto emoji GIFs, texts from their manifest rows) and one feature cache for all tests."""
import csv
from pathlib import Path

import pytest

from pvse.data.emoji import emoji_texts

TINY_SPLITS = ["train"] * 8 + ["val"] * 2 + ["test"] * 2


@pytest.fixture(scope="session")
def tiny_spec(tmp_path_factory, shared_dir) -> str:
    """`tsv:DIR:FILE` spec over 12 shared GIFs (8 train, 2 val, 2 test), up to 4 manifest texts each."""
    with open(shared_dir / "manifest.tsv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["codepoints"]][:len(TINY_SPLITS) * 3:3]
    folder = tmp_path_factory.mktemp("tiny")
    lines = []
    for row, split in zip(rows, TINY_SPLITS):
        for text in emoji_texts(row)[:4]:
            lines.append(f"{row['file']}\t{text}\t{split}\n")
    tsv = folder / "pairs.tsv"
    tsv.write_text("".join(lines))
    return f"tsv:{shared_dir}:{tsv}"


@pytest.fixture(scope="session")
def feature_cache(tmp_path_factory) -> Path:
    """Shared by every training test: frames are decoded and run through the CNN once per session."""
    return tmp_path_factory.mktemp("features")


@pytest.fixture
def tiny_config(tiny_spec, feature_cache, tmp_path):
    from pvse.training import TrainConfig

    def make(**overrides) -> TrainConfig:
        settings = dict(data=tiny_spec, out=str(tmp_path / "run"), num_embeds=2, embed_dim=16, num_frames=2,
                        batch_size=4, epochs=2, feature_cache=str(feature_cache), progress=False, device="cpu")
        settings.update(overrides)
        return TrainConfig(**settings)

    return make


@pytest.fixture(scope="session")
def no_recipe(tmp_path_factory) -> list[str]:
    """`pvse train` arguments that leave the shipped recipe out (an empty recipe file): TrainConfig's defaults hold,
    as in `tiny_config`, so a tiny CLI run trains GloVe features on the train split with model selection."""
    empty = tmp_path_factory.mktemp("recipe") / "empty.args"
    empty.write_text("# no options: TrainConfig's defaults\n")
    return ["--recipe", str(empty)]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models train several times faster on one thread on a shared 2-core machine (no spin-waiting)."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
