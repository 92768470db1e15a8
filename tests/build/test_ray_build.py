"""`pvse index --ray`: a local Ray cluster (2 CPUs, 2 actors) gives the single-process index, even when an actor
is killed mid-run; bad files are skipped with their reason, and an incremental rerun reuses rows as before."""
import os
import signal

import numpy as np
import pytest

from pvse.build import build_index
from pvse.index import read_index
from tests.helpers.files import BUNDLED_GALLERY, bundled_gallery
from tests.helpers.models import tiny_pipeline
from tests.reading.text_gifs import write_gif

ray = pytest.importorskip("ray")
from pvse.build.ray_build import RayEncoder  # noqa: E402 - only with the ray extra

GIFS = ["001-smile.gif", "009-loudly-crying.gif", "118-alien-monster.gif", "171-blood.gif", "509-droplet.gif",
        "558-shark.gif"]


def test_no_cluster_to_join_is_a_one_line_error_and_writes_nothing(tmp_path, monkeypatch):
    """Runs before the module's cluster starts: "auto" finds no Ray instance on this machine."""
    from pvse.errors import GalleryIndexError
    if ray.is_initialized():
        pytest.skip("a Ray instance is already running in this process")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    gallery = bundled_gallery(tmp_path / "gallery", {GIFS[0]: GIFS[0]})
    pipeline = tiny_pipeline(tmp_path / "w")
    with pytest.raises(GalleryIndexError, match="cannot reach the Ray cluster at 'auto'"):
        build_index(gallery, tmp_path / "x.index", pipeline=pipeline, progress=False, encoder=RayEncoder("auto"))
    assert not (tmp_path / "x.index").exists() and not ray.is_initialized()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("ray")
    gallery = bundled_gallery(root / "gallery", {f"sub/{name}" if i % 2 else name: name for i, name in enumerate(GIFS)})
    data = (BUNDLED_GALLERY / GIFS[0]).read_bytes()
    (gallery / "broken.gif").write_bytes(data[: len(data) // 3])
    (gallery / "notes.txt").write_text("not media")
    write_gif(gallery / "subtitled.gif", ["Hold the door", "Hold the door", None, "Hold the door"])
    pipeline = tiny_pipeline(root / "weights")
    single = build_index(gallery, root / "single.index", pipeline=pipeline, progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield dict(root=root, gallery=gallery, pipeline=pipeline, single=single)
    ray.shutdown()


def assert_same_index(a_dir, b_dir):
    a, b = read_index(a_dir), read_index(b_dir)
    assert [c.path for c in a.clips] == [c.path for c in b.clips]
    assert [c.content_hash for c in a.clips] == [c.content_hash for c in b.clips]
    np.testing.assert_allclose(a.embeddings, b.embeddings, atol=1e-5)
    np.testing.assert_allclose(a.attention, b.attention, atol=1e-5)
    np.testing.assert_array_equal(a.frame_indices, b.frame_indices)
    assert [c.read_text for c in a.clips] == [c.read_text for c in b.clips]  # the workers read the text
    assert any(c.read_text is not None and "door" in c.read_text.text.lower() for c in b.clips)


def test_two_ray_workers_give_the_single_process_index(setup):
    encoder = RayEncoder(workers=2)
    report = build_index(setup["gallery"], setup["root"] / "ray.index", pipeline=setup["pipeline"], progress=False,
                         batch_size=2, encoder=encoder)
    single = setup["single"]
    assert report.indexed == single.indexed == len(GIFS) + 1
    assert report.failed == single.failed and [p for p, _ in report.failed] == ["broken.gif"]
    assert report.skipped == single.skipped
    assert encoder.worker_pids and os.getpid() not in encoder.worker_pids  # encoded in the actors' processes
    assert_same_index(setup["root"] / "single.index", setup["root"] / "ray.index")

    rerun = build_index(setup["gallery"], setup["root"] / "ray.index", pipeline=setup["pipeline"], progress=False,
                        batch_size=2, encoder=encoder)
    assert (rerun.reused, rerun.added, rerun.failed) == (len(GIFS) + 1, 0, single.failed)  # only the bad file is tried


def test_a_worker_killed_mid_run_still_gives_the_complete_index(setup):
    killed: list[int] = []

    def kill_first_worker(batch):
        if not killed:
            killed.append(int(batch["worker_pid"][0]))
            os.kill(killed[0], signal.SIGKILL)

    encoder = RayEncoder(workers=2, on_batch=kill_first_worker)
    report = build_index(setup["gallery"], setup["root"] / "killed.index", pipeline=setup["pipeline"],
                         progress=False, batch_size=1, encoder=encoder)
    assert killed and report.indexed == len(GIFS) + 1
    assert [p for p, _ in report.failed] == ["broken.gif"]
    assert_same_index(setup["root"] / "single.index", setup["root"] / "killed.index")
