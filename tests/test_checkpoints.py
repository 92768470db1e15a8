import json

import pytest
import torch

from pvse.checkpoints import load_checkpoint, save_checkpoint
from pvse.errors import WeightsError
from tests.helpers.models import toy_model


def test_round_trip_reproduces_embeddings_bit_for_bit(tmp_path):
    model = toy_model()
    save_checkpoint(model, tmp_path / "ck")
    loaded = load_checkpoint(tmp_path / "ck", device="cpu")
    assert loaded.config == model.config
    x = torch.randn(3, 5, 6)
    assert torch.equal(model.encode_video(x).embeddings, loaded.model.encode_video(x).embeddings)
    assert not loaded.model.training
    # same files -> same fingerprint; different weights -> different fingerprint
    assert load_checkpoint(tmp_path / "ck", device="cpu").fingerprint == loaded.fingerprint
    other = toy_model()
    torch.nn.init.ones_(other.img_enc.pie_net.fc.bias)
    save_checkpoint(other, tmp_path / "ck2")
    assert load_checkpoint(tmp_path / "ck2", device="cpu").fingerprint != loaded.fingerprint


def test_save_replaces_atomically(tmp_path):
    save_checkpoint(toy_model(), tmp_path / "ck")
    save_checkpoint(toy_model(), tmp_path / "ck")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]


def test_missing_and_mismatched_weights_are_clear_errors(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        load_checkpoint(tmp_path / "nope")
    save_checkpoint(toy_model(), tmp_path / "ck")
    cfg = json.loads((tmp_path / "ck" / "config.json").read_text())
    cfg["embed_dim"] = 16
    (tmp_path / "ck" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(WeightsError, match="does not match"):
        load_checkpoint(tmp_path / "ck")
    (tmp_path / "ck" / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(WeightsError, match="damaged"):
        load_checkpoint(tmp_path / "ck")


def test_load_from_fake_hub_cache_offline(tmp_path, monkeypatch):
    """A Hub repo id resolves through the standard cache layout with HF_HUB_OFFLINE=1 (no network)."""
    model = toy_model()
    src = tmp_path / "src"
    save_checkpoint(model, src)
    cache = tmp_path / "hub"
    repo = cache / "models--someone--pvse-tiny"
    commit = "a" * 40
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        (snap / name).write_bytes((src / name).read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    import huggingface_hub.constants as c
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(c, "HF_HUB_CACHE", str(cache))
    loaded = load_checkpoint("someone/pvse-tiny", device="cpu")
    x = torch.randn(2, 3, 6)
    assert torch.equal(model.encode_video(x).embeddings, loaded.model.encode_video(x).embeddings)
    loaded = load_checkpoint("hf-hub:someone/pvse-tiny", device="cpu")
    with pytest.raises(WeightsError, match="HF_HUB_OFFLINE"):
        load_checkpoint("someone/not-cached", device="cpu")


@pytest.mark.parametrize("changes, message", [
    (dict(num_embeds=10**12), "num_embeds must be a whole number from 0 to 64"),  # 2.5 PB if it were allocated
    (dict(num_embeds=65), "num_embeds must be a whole number from 0 to 64"),
    (dict(embed_dim=2**20), "embed_dim must be a whole number from 2 to 8192"),
    (dict(frame_dim="6"), "frame_dim must be a whole number"),
    (dict(word_dim=4.0), "word_dim must be a whole number"),
    (dict(num_frames=True), "num_frames must be a whole number"),
    (dict(vocab_size=-1), "vocab_size must be a whole number"),
    (dict(dropout="0.1"), "dropout must be a number"),
    (dict(dropout=float("nan")), "NaN is not a JSON number"),  # refused as JSON, before any field
    (dict(residual=["sigmoid"]), "residual must be text"),
    (dict(legacy_global="no"), "legacy_global must be true or false"),
    (dict(version="1"), "version must be a whole number"),
])
def test_a_wrong_typed_or_huge_config_field_is_a_clear_error_before_any_allocation(tmp_path, changes, message):
    save_checkpoint(toy_model(), tmp_path / "ck")
    config = json.loads((tmp_path / "ck" / "config.json").read_text())
    config.update(changes)
    (tmp_path / "ck" / "config.json").write_text(json.dumps(config))
    with pytest.raises(WeightsError, match=f"config.json.*{message}") as info:
        load_checkpoint(tmp_path / "ck", device="cpu")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text, message", [("[" * 100_000, "nests deeper than 32"), ("[1]", "JSON object"),
                                           ("{", "not valid JSON"), (" " * (2**20 + 1), "over 1048576 bytes")])
def test_a_deep_foreign_or_huge_config_json_is_a_clear_error(tmp_path, text, message):
    save_checkpoint(toy_model(), tmp_path / "ck")
    (tmp_path / "ck" / "config.json").write_text(text)
    with pytest.raises(WeightsError, match=message):
        load_checkpoint(tmp_path / "ck", device="cpu")
