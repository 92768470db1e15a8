"""One file never ends a build: whatever goes wrong with it (an unexpected exception in decoding or in the
frame CNN, a file name the index cannot record) becomes a one-line reason in the report."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from pvse.build import build_index
from pvse.index import read_index
from tests.helpers.models import tiny_pipeline


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    return tiny_pipeline(tmp_path_factory.mktemp("w") / "weights", num_embeds=2, embed_dim=16, num_frames=2)


def _gallery(root, names):
    root.mkdir()
    for i, name in enumerate(names):
        frames = [Image.new("RGB", (24, 20), (40 * i, 200 - 30 * i, 90 + k * 40)) for k in range(3)]
        frames[0].save(root / name, save_all=True, append_images=frames[1:], duration=50)
    return root


def test_an_unexpected_decoder_exception_skips_only_that_file(tmp_path, pipeline, monkeypatch):
    import pvse.features.clip_work as clip_work

    real = clip_work.decode_clip_views

    def flaky(path, *args, **kwargs):
        if os.path.basename(path) == "b.gif":
            raise UnicodeDecodeError("utf-8", b"\xae", 0, 1, "invalid start byte")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(clip_work, "decode_clip_views", flaky)
    gallery = _gallery(tmp_path / "g", ["a.gif", "b.gif", "c.gif"])
    report = build_index(gallery, tmp_path / "g.index", pipeline=pipeline, progress=False)
    assert report.indexed == 2
    reason = dict(report.failed)["b.gif"]
    assert "UnicodeDecodeError" in reason and "\n" not in reason
    assert [c.path for c in read_index(tmp_path / "g.index").clips] == ["a.gif", "c.gif"]


def test_a_frame_cnn_failure_on_one_clip_skips_only_that_clip(tmp_path, pipeline, monkeypatch):
    extractor = pipeline.frame_extractor
    real = extractor.extract

    def picky(frames, *args, **kwargs):
        if (np.asarray(frames)[..., 0] == 40).any():  # the pixels of b.gif only
            raise RuntimeError("odd clip")
        return real(frames, *args, **kwargs)

    monkeypatch.setattr(extractor, "extract", picky)
    gallery = _gallery(tmp_path / "g", ["a.gif", "b.gif", "c.gif"])
    report = build_index(gallery, tmp_path / "g.index", pipeline=pipeline, progress=False)
    assert report.indexed == 2
    assert "frame CNN failed" in dict(report.failed)["b.gif"]


def test_a_file_name_that_is_not_utf8_is_skipped_with_a_reason(tmp_path, pipeline):
    gallery = _gallery(tmp_path / "g", ["a.gif"])
    bad = os.path.join(os.fsencode(gallery), b"caf\xe9.gif")
    try:
        with open(bad, "wb") as fh:
            fh.write((gallery / "a.gif").read_bytes())
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    report = build_index(gallery, tmp_path / "g.index", pipeline=pipeline, progress=False)
    assert report.indexed == 1
    (name, reason), = report.skipped
    assert "UTF-8" in reason and name.startswith("caf")
    assert [c.path for c in read_index(tmp_path / "g.index").clips] == ["a.gif"]
