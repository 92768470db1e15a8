"""A build reads each gallery file's bytes for its content hash once: the scan hashes it (to find the clip in the
previous index and in the feature cache) and the clip's task reuses that hash."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

import pvse.integrity as integrity
from pvse.build import build_index
from tests.helpers.models import tiny_pipeline


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    return tiny_pipeline(tmp_path_factory.mktemp("w") / "weights", num_embeds=2, embed_dim=16, num_frames=2)


def _gif(path: Path, shade: int) -> None:
    frames = [Image.new("RGB", (24, 20), (shade, 200 - shade, 90 + k * 40)) for k in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50)


@pytest.fixture
def hashed(monkeypatch) -> Counter:
    """How many times each GIF's bytes were hashed (by name)."""
    counts: Counter = Counter()
    real = integrity.file_sha256

    def counting(path, *args, **kwargs):
        if str(path).endswith(".gif"):
            counts[Path(path).name] += 1
        return real(path, *args, **kwargs)

    monkeypatch.setattr(integrity, "file_sha256", counting)
    return counts


def test_a_build_and_its_rerun_hash_each_file_once(tmp_path, pipeline, hashed):
    gallery = tmp_path / "g"
    gallery.mkdir()
    for i, name in enumerate(["a.gif", "b.gif", "c.gif"]):
        _gif(gallery / name, 40 * i)
    cache = tmp_path / "features"
    report = build_index(gallery, tmp_path / "g.index", pipeline=pipeline, progress=False, feature_cache=cache,
                         read_text=False)
    assert report.indexed == 3
    assert hashed == {"a.gif": 1, "b.gif": 1, "c.gif": 1}

    hashed.clear()  # a rerun: one file changed, one new, one reused; text read this time
    _gif(gallery / "b.gif", 250)
    _gif(gallery / "d.gif", 120)
    report = build_index(gallery, tmp_path / "g.index", pipeline=pipeline, progress=False, feature_cache=cache)
    assert (report.changed, report.added, report.indexed) == (1, 1, 4)
    assert hashed == {"a.gif": 1, "b.gif": 1, "c.gif": 1, "d.gif": 1}
