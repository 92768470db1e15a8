"""`pvse index --out milvus://...` and `pvse search --index milvus://...` end to end: the same answers as faiss."""
import json
import shutil

import pytest

from pvse.cli import main
from tests.helpers.models import tiny_checkpoint

pytest.importorskip("milvus_lite")


def test_index_and_search_a_milvus_lite_gallery(tmp_path, shared_dir, capsys):
    gallery = tmp_path / "gifs"
    gallery.mkdir()
    for name in ("007-joy.gif", "118-alien-monster.gif", "009-loudly-crying.gif"):
        shutil.copy(shared_dir / name, gallery / name)
    weights = tiny_checkpoint(tmp_path / "weights")
    location = f"milvus://{tmp_path}/gifs.db?collection=cli_gifs"
    common = ["--weights", str(weights), "--device", "cpu", "--quiet"]
    assert main(["index", str(gallery), "--out", location, *common]) == 0
    assert f"indexed 3 clips into {location}" in capsys.readouterr().out
    assert main(["index", str(gallery), "--out", str(tmp_path / "gifs.index"), *common]) == 0
    assert main(["index", str(gallery), "--out", location, *common]) == 0  # a rerun reuses everything
    assert "(3 reused, 0 new, 0 changed, 0 removed)" in capsys.readouterr().out
    answers = []
    for index in (location, str(tmp_path / "gifs.index")):
        assert main(["search", "crying", "so", "hard", "--index", index, "--json", "--top-k", "3"]) == 0
        answers.append(json.loads(capsys.readouterr().out))
    assert [r["path"] for r in answers[0]] == [r["path"] for r in answers[1]]
    assert [r["score"] for r in answers[0]] == pytest.approx([r["score"] for r in answers[1]], abs=1e-6)
    assert main(["index", str(gallery), "--out", location, "--index-kind", "flat-fp16", *common]) == 2
    assert "not available in Milvus" in capsys.readouterr().err
