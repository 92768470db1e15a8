"""Publishing a checkpoint to the Hub: everything up to the network, with a fake `api` that records the calls."""
import json
import re
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard
from huggingface_hub.errors import HfHubHTTPError

from pvse.checkpoints import save_checkpoint
from pvse.cli import main as cli_main
from pvse.errors import PVSEError, WeightsError
from pvse.publish import push_checkpoint, read_checkpoint_metadata
from tests.helpers.models import toy_model

METRICS = {"t2v_R@1": 12.5, "t2v_R@10": 41.25, "v2t_median_rank": 17}


class FakeHubApi:
    """Records create_repo/upload_folder; snapshots the uploaded folder (it is a temporary staging copy)."""

    def __init__(self, fail_with: Exception | None = None):
        self.calls: list[tuple[str, dict]] = []
        self.uploaded: dict[str, bytes] = {}
        self.fail_with = fail_with

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        if self.fail_with is not None:
            raise self.fail_with
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        folder = Path(kwargs["folder_path"])
        self.uploaded = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        self.folder = folder


def hub_http_error(message: str) -> HfHubHTTPError:
    try:
        return HfHubHTTPError(message)
    except TypeError:  # huggingface_hub >= 1.0 wants the HTTP response
        import httpx2
        return HfHubHTTPError(message, response=httpx2.Response(
            403, request=httpx2.Request("POST", "https://huggingface.co/api/repos/create")))


def make_checkpoint(path, metadata=None, **config):
    model = toy_model(**config)
    extra = {}
    if config.get("word_features") == "vocab-embedding":
        extra["vocab"] = ["<pad>", "<start>", "<end>", "<unk>", "cat"][: config["vocab_size"]]
    if config.get("frame_features") == "resnet152":
        extra["frame_cnn_state"] = {"conv1.weight": torch.randn(64, 3, 7, 7)}
    return save_checkpoint(model, path, metadata=metadata, **extra)


def test_push_uploads_only_checkpoint_files_with_a_model_card(tmp_path):
    ck = make_checkpoint(tmp_path / "ck", metadata={"metrics": METRICS, "epoch": 30, "dataset": "noto-emoji",
                                                     "val_rsum": "87.5000", "seed": 0, "note": ""})
    (ck / "optimizer.pt").write_bytes(b"not for the Hub")
    (ck / ".hf_token").write_text("secret")
    api = FakeHubApi()
    url = push_checkpoint(ck, "someone/pvse-tiny", private=True, token="hf_test", api=api)
    assert url == "https://huggingface.co/someone/pvse-tiny"
    assert [name for name, _ in api.calls] == ["create_repo", "upload_folder"]
    create, upload = api.calls[0][1], api.calls[1][1]
    assert create == {"repo_id": "someone/pvse-tiny", "token": "hf_test", "private": True, "repo_type": "model",
                      "exist_ok": True}
    assert upload["repo_id"] == "someone/pvse-tiny" and upload["token"] == "hf_test"
    assert sorted(api.uploaded) == ["README.md", "config.json", "model.safetensors"]
    assert api.uploaded["model.safetensors"] == (ck / "model.safetensors").read_bytes()
    assert not api.folder.exists()  # the staging copy is cleaned up

    card = ModelCard(api.uploaded["README.md"].decode())
    assert card.data.library_name == "pvse-gif" and card.data.license == "mit"
    assert "pvse" in card.data.tags and card.data.datasets == ["noto-emoji"]
    config_block = re.search(r"```json\n(.*?)\n```", card.text, re.S).group(1)
    assert json.loads(config_block) == json.loads((ck / "config.json").read_text())
    for name, value in METRICS.items():
        assert re.search(rf"\| {re.escape(name)} \| {value:g} \|", card.text), name
    evaluation, provenance = card.text.split("## Evaluation")[1].split("## Provenance")
    assert "| val_rsum | 87.5 |" in evaluation and "val_rsum" not in provenance  # the trainer's flat metric
    assert "| epoch | 30 |" in provenance and "| seed | 0 |" in provenance and "note" not in provenance
    assert 'pvse.load("someone/pvse-tiny")' in card.text


def test_carried_cnn_and_vocabulary_travel_and_official_license_is_kept(tmp_path):
    ck = make_checkpoint(tmp_path / "ck", frame_features="resnet152", word_features="vocab-embedding", vocab_size=5,
                         metadata={"license": "other", "source": "https://github.com/yalesong/pvse"})
    api = FakeHubApi()
    push_checkpoint(ck, "someone/pvse-official", api=api)
    assert sorted(api.uploaded) == ["README.md", "config.json", "frame_cnn.safetensors", "model.safetensors", "vocab.json"]
    card = ModelCard(api.uploaded["README.md"].decode())
    assert card.data.license == "other" and card.data.license_link == "https://github.com/yalesong/pvse"
    assert card.data.license_name
    assert api.calls[0][1]["private"] is False


def test_existing_readme_is_uploaded_as_the_card(tmp_path):
    ck = make_checkpoint(tmp_path / "ck")
    (ck / "README.md").write_text("---\nlibrary_name: pvse-gif\n---\n# my own card\n")
    api = FakeHubApi()
    push_checkpoint(ck, "someone/custom", api=api, license="apache-2.0")
    assert api.uploaded["README.md"] == (ck / "README.md").read_bytes()


def test_metadata_values_are_decoded(tmp_path):
    ck = make_checkpoint(tmp_path / "ck", metadata={"metrics": METRICS, "note": "plain text", "steps": 1200})
    assert read_checkpoint_metadata(ck) == {"metrics": METRICS, "note": "plain text", "steps": 1200}


def test_broken_checkpoint_is_never_pushed(tmp_path):
    api = FakeHubApi()
    with pytest.raises(WeightsError, match="not a directory"):
        push_checkpoint(tmp_path / "missing", "someone/x", api=api)
    ck = make_checkpoint(tmp_path / "ck")
    cfg = json.loads((ck / "config.json").read_text())
    cfg["embed_dim"] = 16
    (ck / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(WeightsError, match="does not match"):
        push_checkpoint(ck, "someone/x", api=api)
    ck2 = make_checkpoint(tmp_path / "ck2")
    (ck2 / "model.safetensors").write_bytes(b"truncated")
    with pytest.raises(WeightsError, match="damaged"):
        push_checkpoint(ck2, "someone/x", api=api)
    ck3 = make_checkpoint(tmp_path / "ck3", word_features="vocab-embedding", vocab_size=5)
    (ck3 / "vocab.json").unlink()
    with pytest.raises(WeightsError, match="vocab.json"):
        push_checkpoint(ck3, "someone/x", api=api)
    with pytest.raises(PVSEError, match="not a valid Hub repo id"):
        push_checkpoint(make_checkpoint(tmp_path / "ok"), "no slash here", api=api)
    with pytest.raises(PVSEError, match="not a valid Hub repo id"):
        push_checkpoint(tmp_path / "ok", "just-a-name", api=api)
    assert api.calls == []


def test_hub_failure_is_a_clear_error(tmp_path):
    api = FakeHubApi(fail_with=hub_http_error("403 Forbidden: you cannot write to someone/x"))
    with pytest.raises(PVSEError, match="could not publish to Hub repo 'someone/x'.*403"):
        push_checkpoint(make_checkpoint(tmp_path / "ck"), "someone/x", api=api)
    assert [name for name, _ in api.calls] == ["create_repo"]


def test_cli_push(tmp_path, monkeypatch, capsys):
    import huggingface_hub

    apis = []
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda token=None: apis.append(FakeHubApi()) or apis[-1])
    ck = make_checkpoint(tmp_path / "ck")
    assert cli_main(["push", str(ck), "--repo", "someone/pvse-cli", "--private", "--token", "hf_x"]) == 0
    assert "https://huggingface.co/someone/pvse-cli" in capsys.readouterr().out
    assert apis[0].calls[0][1]["private"] is True and apis[0].calls[0][1]["token"] == "hf_x"
    assert cli_main(["push", str(tmp_path / "nope"), "--repo", "someone/pvse-cli"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pvse push: error:") and len(err.splitlines()) == 1 and len(apis) == 1
