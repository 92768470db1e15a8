"""Clips that cannot be decoded are never dropped silently: `pvse train` names them with their reasons on the
console, `pvse evaluate` scores them as misses and lists them, and the `--random` row scores the same clips."""
import json
import shutil

import pytest

from pvse.cli import main

GOOD = ["001-smile.gif", "009-loudly-crying.gif", "118-alien-monster.gif", "171-blood.gif", "509-droplet.gif",
        "558-shark.gif", "621-baseball.gif", "613-fireworks.gif"]
TEXTS = ["a happy smile", "crying loudly", "a monster from space", "blood on the floor", "a drop of water",
         "a big shark", "playing baseball", "fireworks at night"]
SPLITS = ["train"] * 4 + ["val"] * 2 + ["test"] * 2


@pytest.fixture(scope="module")
def spec_with_broken_clips(tmp_path_factory, shared_dir) -> str:
    folder = tmp_path_factory.mktemp("with-broken")
    rows = []
    for name, text, split in zip(GOOD, TEXTS, SPLITS):
        shutil.copy(shared_dir / name, folder / name)
        rows.append(f"{name}\t{text}\t{split}\n")
    (folder / "bad-train.gif").write_text("not a GIF")
    (folder / "bad-test.gif").write_bytes((shared_dir / GOOD[0]).read_bytes()[:500])
    rows += ["bad-train.gif\ta broken file\ttrain\n", "bad-test.gif\tthe only answer is broken\ttest\n"]
    (folder / "pairs.tsv").write_text("".join(rows))
    return f"tsv:{folder}:{folder / 'pairs.tsv'}"


def test_train_names_failed_clips_and_evaluate_scores_them_as_misses(spec_with_broken_clips, feature_cache,
                                                                     no_recipe, tmp_path, capsys):
    common = ["--data", spec_with_broken_clips, "--feature-cache", str(feature_cache)]
    out = tmp_path / "run"
    assert main(["train", *common, *no_recipe, "--out", str(out), "-K", "2", "--embed-dim", "16", "--frames", "2",
                 "--batch-size", "4", "--epochs", "1", "--device", "cpu", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "left out 1 clips that could not be decoded" in printed
    assert "bad-train.gif: " in printed and "decode" in printed.split("bad-train.gif: ")[1].splitlines()[0]

    assert main(["evaluate", "--weights", str(out / "best"), *common, "--json", "--device", "cpu"]) == 0
    model = json.loads(capsys.readouterr().out)
    assert model["num_clips"] == 3 and model["num_texts"] == 3  # the broken clip and its text still count
    assert model["text_to_video"]["num_queries"] == 3 and model["video_to_text"]["num_queries"] == 3
    (clip, reason), = model["undecodable"]
    assert clip.endswith("bad-test.gif") and "truncated" in reason
    assert model["text_to_video"]["r1"] <= 100 * 2 / 3  # its text can never find it: a miss

    assert main(["evaluate", "--random", *common, "--json"]) == 0
    chance = json.loads(capsys.readouterr().out)
    for key in ("num_clips", "num_texts"):
        assert chance[key] == model[key]
    for direction in ("text_to_video", "video_to_text"):
        for key in ("num_queries", "num_candidates"):
            assert chance[direction][key] == model[direction][key]

    assert main(["evaluate", "--weights", str(out / "best"), *common, "--device", "cpu", "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "1 of the 3 clips could not be decoded" in table and "bad-test.gif" in table and "miss" in table
