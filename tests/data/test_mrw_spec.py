import json

import pytest
from mrw_fixture import MISSING_ID, MRW_ITEMS

from pvse.data import load_dataset, load_mrw
from pvse.errors import PVSEError


def test_mrw_layout_loads_into_release_splits(mrw_root):
    data = load_dataset(str(mrw_root))
    assert data.kind == "mrw"
    by_split = {name: {c.path.stem: c for c in split.clips} for name, split in data.splits.items()}
    for clip_id, source, sentence, split in MRW_ITEMS:
        name = {"valid": "val"}.get(split, split)
        clip = by_split[name][clip_id]
        assert clip.group == clip_id
        assert clip.path.suffix == (".mp4" if source is None else ".gif")
        index = data.splits[name].clips.index(clip)
        assert data.splits[name].texts_by_clip()[index] == [sentence]
    assert [len(s.clips) for s in data.splits.values()] == [5, 1, 2]
    assert data.notes["missing_files"] == [MISSING_ID]


def test_mrw_spec_prefix_and_clips_dir_override(mrw_root, tmp_path):
    assert load_dataset(f"mrw:{mrw_root}").split("valid").num_clips == 1
    with pytest.raises(PVSEError, match="none of the"):
        load_mrw(mrw_root, clips_dir=tmp_path)


def test_mrw_file_found_by_url_name_when_not_named_by_id(mrw_root, tmp_path):
    root = tmp_path / "mrw"
    (root / "split").mkdir(parents=True)
    (root / "mp4").mkdir()
    gif = next((mrw_root / "mp4").glob("*.gif"))
    (root / "mp4" / "giphy-abc.gif").write_bytes(gif.read_bytes())
    (root / "mrw-v1.0.json").write_text(json.dumps([{"id": "abc", "sentence": "mrw it works",
                                                     "images": {"mp4_url": "https://x/y/giphy-abc.mp4?cid=1"}}]))
    for split in ("train", "valid", "test"):
        (root / "split" / f"{split}.tsv").write_text("abc\n" if split == "train" else "")
    data = load_mrw(root)
    assert [c.path.name for c in data.splits["train"].clips] == ["giphy-abc.gif"]


def test_mrw_bad_inputs_are_clear_errors(tmp_path):
    with pytest.raises(PVSEError, match="not a data set"):
        load_dataset(str(tmp_path))
    (tmp_path / "mrw-v1.0.json").write_text("{not json")
    with pytest.raises(PVSEError, match="not valid JSON"):
        load_mrw(tmp_path)
    (tmp_path / "mrw-v1.0.json").write_text("[]")
    with pytest.raises(PVSEError, match="train.tsv"):
        load_mrw(tmp_path)


def test_train_and_evaluate_on_the_mrw_layout(mrw_root, tmp_path, capsys):
    """Real decoding of the release's files (GIFs and an MPEG-4 video) through training and evaluation."""
    import torch

    from pvse.cli import main
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        common = ["--data", str(mrw_root), "--feature-cache", str(tmp_path / "cache")]
        assert main(["train", *common, "--out", str(tmp_path / "run"), "-K", "1", "--embed-dim", "8", "--frames", "2",
                     "--batch-size", "8", "--epochs", "1", "--train-on", "train", "--device", "cpu", "--quiet"]) == 0
        assert "best epoch 1/1" in capsys.readouterr().out
        assert main(["evaluate", "--weights", str(tmp_path / "run" / "best"), *common, "--json", "--quiet"]) == 0
        metrics = json.loads(capsys.readouterr().out)
        assert metrics["num_clips"] == 2 and metrics["num_texts"] == 2
    finally:
        torch.set_num_threads(threads)
