import json

import pytest
import torch

from pvse.checkpoints import load_checkpoint, save_checkpoint
from pvse.config import PVSEConfig
from pvse.errors import WeightsError
from pvse.model import PVSE


def tiny_model(**kw):
    torch.manual_seed(0)
    return PVSE(PVSEConfig(num_embeds=2, embed_dim=8, frame_dim=6, word_dim=4, **kw)).eval()


def test_round_trip_reproduces_embeddings_bit_for_bit(tmp_path):
    model = tiny_model()
    save_checkpoint(model, tmp_path / "ck")
    loaded = load_checkpoint(tmp_path / "ck", device="cpu")
    assert loaded.config == model.config
    x = torch.randn(3, 5, 6)
    assert torch.equal(model.encode_video(x).embeddings, loaded.model.encode_video(x).embeddings)
    assert not loaded.model.training
    # same files -> same fingerprint; different weights -> different fingerprint
    assert load_checkpoint(tmp_path / "ck", device="cpu").fingerprint == loaded.fingerprint
    other = tiny_model()
    torch.nn.init.ones_(other.img_enc.pie_net.fc.bias)
    save_checkpoint(other, tmp_path / "ck2")
    assert load_checkpoint(tmp_path / "ck2", device="cpu").fingerprint != loaded.fingerprint


def test_save_replaces_atomically(tmp_path):
    save_checkpoint(tiny_model(), tmp_path / "ck")
    save_checkpoint(tiny_model(), tmp_path / "ck")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]


def test_missing_and_mismatched_weights_are_clear_errors(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        load_checkpoint(tmp_path / "nope")
    save_checkpoint(tiny_model(), tmp_path / "ck")
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
    model = tiny_model()
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
