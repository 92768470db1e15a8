"""Bad input to `pvse index` / `pvse search` / `python -m demo` is one line on stderr, never a traceback.

Every case runs as a real subprocess (what a user types); the processes run a few at a time in one fixture.
"""
from __future__ import annotations

import concurrent.futures
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pvse.checkpoints import save_checkpoint
from pvse.config import PVSEConfig
from pvse.index import build_index
from pvse.model import PVSE

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = dict(num_embeds=2, embed_dim=16, frame_features="efficientnet-lite0", frame_dim=1280,
              word_features="glove-6b-50d", word_dim=50, num_frames=2)


def checkpoint(path: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    return save_checkpoint(PVSE(PVSEConfig(**CONFIG)).eval(), path)


def damaged_copy(index: Path, out: Path, file: str, content: bytes | None) -> Path:
    shutil.copytree(index, out)
    if content is None:
        (out / file).unlink()
    else:
        (out / file).write_bytes(content)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory, shared_dir):
    """Each case's (exit code, stdout, stderr), run as subprocesses from a temporary folder."""
    root = tmp_path_factory.mktemp("cli-errors")
    gallery = root / "gifs"
    gallery.mkdir()
    for name in ("007-joy.gif", "118-alien-monster.gif"):
        shutil.copy(shared_dir / name, gallery / name)
    weights = checkpoint(root / "weights", seed=0)
    index = root / "gifs.index"
    build_index(gallery, index, str(weights), device="cpu", progress=False, decode_workers=1)
    changed = root / "changed-weights"  # the index's weights, retrained in place after the build
    shutil.copytree(weights, changed)
    moved = root / "moved.index"
    shutil.copytree(index, moved)
    build_index(gallery, moved, str(changed), device="cpu", progress=False, decode_workers=1)
    checkpoint(changed, seed=1)
    vectors = (index / "vectors.faiss").read_bytes()
    search = [sys.executable, "-m", "pvse", "search", "laughing", "--device", "cpu", "--weights", str(weights)]
    pvse_index = [sys.executable, "-m", "pvse", "index", str(gallery), "--device", "cpu", "--quiet"]
    cases = {
        "empty-embeddings": search + ["--index", str(damaged_copy(index, root / "a.index", "embeddings.npy", b""))],
        "missing-vectors": search + ["--index", str(damaged_copy(index, root / "b.index", "vectors.faiss", None))],
        "truncated-vectors": search + ["--index", str(damaged_copy(index, root / "c.index", "vectors.faiss",
                                                                   vectors[: len(vectors) // 2]))],
        "changed-weights": [sys.executable, "-m", "pvse", "search", "laughing", "--device", "cpu", "--index",
                            str(moved)],
        "out-in-proc": pvse_index + ["--out", "/proc/x.index"],
        "nlist-not-a-number": pvse_index + ["--out", str(root / "d.index"), "--index-kind", "ivf-pq",
                                            "--index-param", "nlist=abc"],
        "unknown-param": pvse_index + ["--out", str(root / "e.index"), "--weights", str(root / "no-such-weights"),
                                       "--index-param", "foo=1"],
        "no-hub-scores": search + ["--hub-correction", "0.5", "--index",
                                   str(damaged_copy(index, root / "f.index", "hub_scores.npy", None))],
        "negative-hub-correction": search + ["--index", str(index), "--hub-correction", "-1"],
        "search-cuda": search + ["--index", str(index), "--device", "cuda"],
        "demo-cuda": [sys.executable, "-m", "demo", "--index", str(index), "--weights", str(weights), "--device",
                      "cuda"],
        "demo-foreign-host": [sys.executable, "-m", "demo", "--index", str(index), "--host", "10.255.255.1"],
    }
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "CUDA_VISIBLE_DEVICES": ""}

    def run(item):
        name, argv = item
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=root, env=env, timeout=300)
        return name, (proc.returncode, proc.stdout, proc.stderr)

    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(pool.map(run, cases.items()))
    results["paths"] = dict(index=index, weights=weights, changed=changed, root=root)
    return results


def one_line_error(result) -> str:
    code, _, err = result
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "error:" in lines[0]
    return lines[0]


@pytest.mark.parametrize("case, expected", [
    ("empty-embeddings", "embeddings.npy is unreadable"), ("missing-vectors", "vectors.faiss is missing"),
    ("truncated-vectors", "vectors.faiss has"), ("out-in-proc", "cannot write the index to /proc/x.index"),
    ("nlist-not-a-number", "nlist='abc' must be a positive whole number"),
    ("unknown-param", "foo do not apply"),
    ("no-hub-scores", "has no hub scores"), ("negative-hub-correction", "--hub-correction must be a number >= 0"),
])
def test_bad_index_input_is_one_line(runs, case, expected):
    assert expected in one_line_error(runs[case])


def test_unknown_index_parameter_is_refused_before_the_model_loads(runs):
    line = one_line_error(runs["unknown-param"])
    assert "no-such-weights" not in line  # checked before the (missing) weights were even looked for


def test_changed_weights_say_rebuild_not_use_the_same_weights(runs):
    line = one_line_error(runs["changed-weights"])
    changed = str(runs["paths"]["changed"])
    assert "changed since" in line and "pvse index" in line
    assert f"--weights {changed}`" in line and f"(--weights {changed})" not in line


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
@pytest.mark.parametrize("case", ["search-cuda", "demo-cuda"])
def test_cuda_without_cuda_is_one_line_without_unrelated_hints(runs, case):
    line = one_line_error(runs[case])
    assert "CUDA is not available" in line and "--weights" not in line


def test_a_host_that_is_not_this_machine_is_named(runs):
    line = one_line_error(runs["demo-foreign-host"])
    assert "10.255.255.1 is not an address of this machine" in line and "empty port" not in line
