import json

from pvse.cli import main
from pvse.training import read_log


def test_cli_train_then_evaluate(tiny_spec, feature_cache, no_recipe, tmp_path, capsys):
    out = tmp_path / "cli-run"
    common = ["--data", tiny_spec, "--feature-cache", str(feature_cache)]
    assert main(["train", *common, *no_recipe, "--out", str(out), "-K", "2", "--embed-dim", "16", "--frames", "2",
                 "--batch-size", "4", "--epochs", "2", "--device", "cpu", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "best epoch" in printed and "text→video" in printed
    assert len(read_log(out)) == 2

    assert main(["evaluate", "--weights", str(out / "best"), *common, "--split", "test", "--json", "--device", "cpu"]) == 0
    metrics = json.loads(capsys.readouterr().out)  # --json: nothing but the JSON on stdout
    assert metrics["split"] == "test" and metrics["num_clips"] == 2 and metrics["recall_unit"] == "percent"
    for direction in ("text_to_video", "video_to_text"):
        assert {"r1", "r5", "r10", "medr", "nmr"} <= set(metrics[direction])
    assert metrics["text_to_video"]["nmr"] == metrics["text_to_video"]["medr"] / 2

    assert main(["evaluate", "--weights", str(out / "best"), *common, "--split", "valid", "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "video→text" in table and "split 'val'" in table

    assert main(["evaluate", "--random", "--data", tiny_spec, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["weights"] is None


def test_cli_errors_are_one_line(tiny_spec, tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pvse train: error:") and "not a data set" in err and len(err.strip().splitlines()) == 1
    assert main(["evaluate", "--weights", str(tmp_path / "missing"), "--data", tiny_spec]) == 2
    assert "not found" in capsys.readouterr().err


def test_cli_dry_run_prints_split(tiny_spec, tmp_path, capsys):
    assert main(["train", "--data", tiny_spec, "--out", str(tmp_path / "o"), "--dry-run"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["splits"]["train"]["clips"] == 8 and not (tmp_path / "o").exists()
