"""A file that kills the process encoding it (a test frame CNN that SIGKILLs itself on an all-magenta frame,
registered as a plug-in) never costs the collection: the build it kills writes nothing, the next one skips it and
the files in flight with it, with the reason, and indexes the rest; `--retry-failed` tries them again alone, and
the file that kills its build alone is named as such."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pvse.features.registry import unregister
from pvse.index import read_index
from tests.helpers.files import bundled_gallery
from tests.helpers.models import tiny_checkpoint

PLUGIN = Path(__file__).resolve().parent / "crash_plugin"
GOOD = ["001-smile.gif", "009-loudly-crying.gif", "118-alien-monster.gif", "171-blood.gif", "509-droplet.gif",
        "558-shark.gif"]
CRASHER = "300-magenta.gif"
DIED = "a build died while decoding or encoding this file"
DIED_ALONE = "a build died while encoding this file alone"


@pytest.fixture(scope="module")
def crash_plugin():
    """The plug-in module, registered in this process too (the checkpoint names its frame CNN)."""
    spec = importlib.util.spec_from_file_location("pvse_test_crash_cnn", PLUGIN / "pvse_test_crash_cnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    unregister(module.NAME)


@pytest.fixture(scope="module")
def crash_setup(crash_plugin, tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    gallery = bundled_gallery(root / "gallery", {name: name for name in GOOD})
    crash_plugin.magenta_gif(gallery / CRASHER)
    weights = tiny_checkpoint(root / "weights", num_embeds=2, embed_dim=16, frame_features=crash_plugin.NAME,
                              frame_dim=crash_plugin.DIM)
    return root, gallery, weights


def pvse_index(gallery: Path, out: Path, weights: Path, *extra: str) -> subprocess.CompletedProcess:
    """`pvse index` in a fresh process that finds the crashing CNN through its entry point."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGIN), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "pvse", "index", str(gallery), "--out", str(out), "--weights",
                           str(weights), "--quiet", "--no-read-text", "--device", "cpu", *extra],
                          capture_output=True, text=True, env=env, timeout=600)


def failed(out: Path) -> dict[str, str]:
    return dict(map(tuple, read_index(out).meta.last_build["failed"]))


def indexed(out: Path) -> list[str]:
    return [clip.path for clip in read_index(out).clips]


def test_a_file_that_kills_the_build_is_skipped_next_time_and_retried_alone(crash_setup):
    root, gallery, weights = crash_setup
    out = root / "gallery.index"

    first = pvse_index(gallery, out, weights)
    assert first.returncode == -9, first.stderr  # really killed, in the frame CNN
    assert not out.exists() and not list(root.glob(".gallery.index.tmp-*"))  # nothing half-written

    second = pvse_index(gallery, out, weights)
    assert second.returncode == 0, second.stderr
    assert "Traceback" not in second.stderr
    suspects = {path for path, reason in failed(out).items() if reason.startswith(DIED)}
    assert CRASHER in suspects and "--retry-failed" in failed(out)[CRASHER]
    assert f"{CRASHER}: {DIED}" in second.stdout
    assert sorted(indexed(out)) == sorted(set(GOOD) - suspects) and indexed(out)  # the rest is indexed

    again = pvse_index(gallery, out, weights)  # remembered: skipped again, nothing re-encoded
    assert again.returncode == 0, again.stderr
    assert set(failed(out)) == suspects and sorted(indexed(out)) == sorted(set(GOOD) - suspects)
    assert read_index(out).meta.last_build["added"] == 0

    for _ in range(2):  # the first retry may still hold innocent suspects behind the crasher; the second none
        retry = pvse_index(gallery, out, weights, "--retry-failed")
        assert retry.returncode == -9, retry.stderr  # it really crashes again: the build dies, the index stays
        assert set(indexed(out)) <= set(GOOD)
        after = pvse_index(gallery, out, weights)
        assert after.returncode == 0, after.stderr
        assert failed(out)[CRASHER].startswith(DIED_ALONE)  # now known to be the one
        assert CRASHER not in indexed(out)
    assert list(failed(out)) == [CRASHER] and sorted(indexed(out)) == sorted(GOOD)  # every good clip indexed


def test_on_ray_a_file_that_kills_its_worker_costs_only_itself_and_one_line(crash_setup):
    """`--ray local`: the batch whose actor died runs again file by file; the file that kills its actor alone is
    one line of the report, every other clip is indexed, and none of Ray's own lines reach the terminal."""
    pytest.importorskip("ray")
    root, gallery, weights = crash_setup
    out = root / "ray.index"
    done = pvse_index(gallery, out, weights, "--ray", "local", "--ray-workers", "2", "--batch-size", "2")
    assert done.returncode == 0, done.stderr
    assert list(failed(out)) == [CRASHER] and failed(out)[CRASHER].startswith("its Ray worker died while encoding it")
    assert sorted(indexed(out)) == sorted(GOOD)
    terminal = done.stdout + done.stderr
    for ray_line in ("raylet", "worker died or was killed", "Traceback", "core_worker", "WARNING"):
        assert ray_line not in terminal
    assert [line for line in done.stdout.splitlines() if CRASHER in line] == \
        [f"  {CRASHER}: {failed(out)[CRASHER]}"]
