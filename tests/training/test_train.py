import json

import pytest
import torch
from safetensors.torch import load_file

from pvse.checkpoints import load_checkpoint
from pvse.data import load_dataset
from pvse.errors import PVSEError
from pvse.training import evaluate, read_log, train


def _weights(run_dir, which="last"):
    return load_file(str(run_dir / which / "model.safetensors"))


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_train_then_evaluate_end_to_end(tiny_config, tiny_spec, feature_cache):
    result = train(tiny_config())
    out = result.out_dir
    for name in ("best/config.json", "best/model.safetensors", "last/model.safetensors", "train_state.pt",
                 "log.jsonl", "train_config.json", "split.json"):
        assert (out / name).is_file(), name
    log = read_log(out)
    assert [r["epoch"] for r in log] == [1, 2]
    for record in log:
        assert {"loss", "mil", "div", "mmd", "lr", "val", "val_rsum", "seconds"} <= set(record)
        assert record["loss"] > 0 and record["lr"] == pytest.approx(2e-4)
    assert result.best_epoch == max(log, key=lambda r: r["val_rsum"])["epoch"]
    checkpoint = load_checkpoint(result.best_dir, device="cpu")
    assert (checkpoint.config.num_embeds, checkpoint.config.embed_dim, checkpoint.config.num_frames) == (2, 16, 2)
    assert checkpoint.config.word_dim == 50 and checkpoint.config.frame_dim == 1280

    dataset = load_dataset(tiny_spec)
    val = evaluate(result.best_dir, dataset, "val", feature_cache=feature_cache, device="cpu", progress=False)
    assert val.to_dict() == result.best_val.to_dict()  # `pvse evaluate` reproduces the model-selection numbers
    test = evaluate(result.best_dir, dataset, "test", feature_cache=feature_cache, device="cpu", progress=False)
    assert (test.num_clips, test.num_texts) == (2, len(dataset.split("test").unique_texts()))
    t2v = test.text_to_video  # 2 clips: every text's clip is first (rank 1) or second
    assert min(abs(t2v.r1 - 100 * i / test.num_texts) for i in range(test.num_texts + 1)) < 1e-6  # a share of them
    assert t2v.r1 <= t2v.r5 == t2v.r10 == 100 and t2v.medr in (1, 2) and (t2v.medr == 1) == (t2v.r1 >= 50)
    split = json.loads((out / "split.json").read_text())
    assert len(split["members"]["train"]) == 8


def test_seeded_training_is_deterministic(tiny_config, tmp_path):
    a = train(tiny_config(out=str(tmp_path / "a"), seed=3))
    b = train(tiny_config(out=str(tmp_path / "b"), seed=3))
    c = train(tiny_config(out=str(tmp_path / "c"), seed=4))
    assert _same(_weights(a.out_dir), _weights(b.out_dir))
    assert not _same(_weights(a.out_dir), _weights(c.out_dir))
    assert [r["loss"] for r in a.history] == [r["loss"] for r in b.history]


def test_resume_after_interruption_matches_uninterrupted_run(tiny_config, tmp_path):
    straight = train(tiny_config(out=str(tmp_path / "straight"), epochs=4, lr_patience=0))
    first = train(tiny_config(out=str(tmp_path / "resumed"), epochs=2, lr_patience=0))
    # an interruption during epoch 3 left a log line of an epoch that never finished
    with open(first.out_dir / "log.jsonl", "a") as fh:
        fh.write(json.dumps({"epoch": 3, "loss": 0.0}) + "\n")
    resumed = train(tiny_config(out=str(tmp_path / "resumed"), epochs=4, lr_patience=0, resume=True))
    assert resumed.epochs_done == 4 and [r["epoch"] for r in resumed.history] == [1, 2, 3, 4]
    assert _same(_weights(straight.out_dir), _weights(resumed.out_dir))
    assert _same(_weights(straight.out_dir, "best"), _weights(resumed.out_dir, "best"))
    assert [r["lr"] for r in straight.history] == [r["lr"] for r in resumed.history]
    assert straight.best_epoch == resumed.best_epoch


def test_run_folder_is_protected(tiny_config, tmp_path):
    train(tiny_config(epochs=1))
    with pytest.raises(PVSEError, match="--resume"):
        train(tiny_config(epochs=1))
    with pytest.raises(PVSEError, match="settings differ"):
        train(tiny_config(epochs=2, embed_dim=32, resume=True))


def test_cached_features_mean_no_decoding_or_networks(tiny_config, monkeypatch, tmp_path):
    train(tiny_config(out=str(tmp_path / "warm"), epochs=1))  # fills the cache (if no earlier test did)

    def forbidden(*args, **kwargs):
        raise AssertionError("features should have come from the cache")

    monkeypatch.setattr("pvse.features.clip_work.decode_clip_views", forbidden)
    monkeypatch.setattr("pvse.features.build_frame_extractor", forbidden)
    monkeypatch.setattr("pvse.training.banks.shared_word_features", forbidden)
    result = train(tiny_config(out=str(tmp_path / "cached"), epochs=1, num_embeds=0))
    assert result.epochs_done == 1


def test_train_on_train_plus_val_keeps_last_epoch(tiny_config):
    result = train(tiny_config(train_on="train+val", epochs=2))
    assert result.best_val is None and result.best_epoch == 2
    assert all(r["val"] is None for r in result.history)
    assert _same(_weights(result.out_dir, "best"), _weights(result.out_dir, "last"))
    split = json.loads((result.out_dir / "train_config.json").read_text())
    assert split["train"]["train_on"] == "train+val"


def test_passes_per_epoch_multiply_the_steps(tiny_config, tmp_path):
    one = train(tiny_config(out=str(tmp_path / "one"), epochs=1))
    three = train(tiny_config(out=str(tmp_path / "three"), epochs=1, passes_per_epoch=3))
    assert three.history[0]["batches"] == 3 * one.history[0]["batches"]
    assert not _same(_weights(one.out_dir), _weights(three.out_dir))
    with pytest.raises(PVSEError, match="passes_per_epoch"):
        train(tiny_config(out=str(tmp_path / "zero"), passes_per_epoch=0))


def test_invalid_model_settings_are_config_errors_before_any_work(tiny_config):
    from pvse.errors import WeightsError
    for bad in (dict(embed_dim=15), dict(num_embeds=-1), dict(residual="tanh")):
        with pytest.raises(PVSEError, match="invalid model settings") as info:
            tiny_config(**bad).check()
        assert not isinstance(info.value, WeightsError)
    assert tiny_config().model_config().frame_dim == 1280  # sizes from the extractor specs
