"""`python -m demo --index milvus://...`: the demo answers from a Milvus Lite gallery exactly as from the faiss one."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from demo_process import stop, wait_for_url
from gradio_client import Client

from demo.__main__ import main
from pvse.build import build_index
from pvse.clip_features import content_hash
from pvse.media.previews import preview_name

pytest.importorskip("milvus_lite")

REPO_ROOT = Path(__file__).resolve().parents[2]
QUERY = "my reaction when i cannot stop laughing"


def test_demo_serves_a_milvus_lite_gallery_like_the_faiss_one(tiny_gallery, free_port, tmp_path):
    location = f"milvus://{tmp_path}/gifs.db?collection=demo_gifs"
    build_index(tiny_gallery.gallery_dir, location, names=False, weights=str(tiny_gallery.weights_dir),
                captions=tiny_gallery.root / "captions.tsv", device="cpu", progress=False, decode_workers=1)
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "demo", "--index", location, "--device", "cpu",
                             "--port", str(free_port())], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        client = Client(wait_for_url(proc, timeout=120), verbose=False, download_files=True)
        gallery, status = client.predict(QUERY, 5, api_name="/search")
        expected = tiny_gallery.searcher.search(QUERY, top_k=5).hits  # the faiss index of the same gallery
        previews = tmp_path / "gifs.db.previews"  # each result's preview, kept beside the Milvus Lite file
        assert [Path(item["video"]).name for item in gallery] == [preview_name(content_hash(h.abs_path))
                                                                  for h in expected]
        for item in gallery:
            assert Path(item["video"]).read_bytes() == (previews / Path(item["video"]).name).read_bytes()
        assert "**5** GIFs" in status
        payload = client.predict(QUERY, 5, 2, api_name="/explain")
        assert payload["ok"] and payload["file"] == expected[2].path
        np.testing.assert_allclose(payload["head_similarities"], expected[2].head_similarities, atol=1e-4)
        np.testing.assert_allclose(payload["frame_attention"], expected[2].frame_attention, atol=1e-4)
    finally:
        stop(proc)


def test_missing_milvus_gallery_is_a_clear_message_before_any_server(tmp_path, capsys):
    assert main(["--index", f"milvus://{tmp_path}/none.db"]) == 2
    err = capsys.readouterr().err
    assert "no Milvus Lite database" in err and "pvse index" in err and "Traceback" not in err
