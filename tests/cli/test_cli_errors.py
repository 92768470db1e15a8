"""Bad input to `pvse index` / `pvse search` / `python -m demo` is one line on stderr, never a traceback.

Every case runs as a real subprocess (what a user types); the processes run a few at a time in one fixture.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pvse.build import build_index
from tests.helpers.files import tampered_copy
from tests.helpers.models import tiny_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[2]
SMALL = dict(num_embeds=2, embed_dim=16, num_frames=2)  # the tiny model, smaller still


def damaged_copy(index: Path, out: Path, file: str, content: bytes | None) -> Path:
    shutil.copytree(index, out)
    if content is None:
        (out / file).unlink()
    else:
        (out / file).write_bytes(content)
    return out


def nan_copy(index: Path, out: Path) -> Path:
    shutil.copytree(index, out)
    embeddings = np.load(out / "embeddings.npy")
    embeddings[:] = np.nan
    np.save(out / "embeddings.npy", embeddings)
    return out


def huge_config_copy(weights: Path, out: Path) -> Path:
    shutil.copytree(weights, out)
    config = json.loads((out / "config.json").read_text())
    config["num_embeds"] = 10**12
    (out / "config.json").write_text(json.dumps(config))
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory, shared_dir):
    """Each case's (exit code, stdout, stderr), run as subprocesses from a temporary folder."""
    root = tmp_path_factory.mktemp("cli-errors")
    gallery = root / "gifs"
    gallery.mkdir()
    for name in ("007-joy.gif", "118-alien-monster.gif"):
        shutil.copy(shared_dir / name, gallery / name)
    weights = tiny_checkpoint(root / "weights", seed=0, **SMALL)
    index = root / "gifs.index"
    build_index(gallery, index, str(weights), device="cpu", progress=False, decode_workers=1)
    changed = root / "changed-weights"  # the index's weights, retrained in place after the build
    shutil.copytree(weights, changed)
    moved = root / "moved.index"
    shutil.copytree(index, moved)
    build_index(gallery, moved, str(changed), device="cpu", progress=False, decode_workers=1)
    tiny_checkpoint(changed, seed=1, **SMALL)
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
        # tampered or damaged files, each once a traceback
        "weights-a-list": search + ["--index", str(tampered_copy(index, root / "g.index", weights=["x"]))],
        "demo-weights-a-list": [sys.executable, "-m", "demo", "--index", str(root / "g.index"), "--weights",
                                str(weights)],
        "nested-index-json": search + ["--index", str(tampered_copy(index, root / "h.index", "[" * 100_000))],
        "demo-nested-index-json": [sys.executable, "-m", "demo", "--index", str(root / "h.index")],
        "huge-config": [sys.executable, "-m", "pvse", "search", "laughing", "--device", "cpu", "--index", str(index),
                        "--weights", str(huge_config_copy(weights, root / "huge-weights"))],
        "nan-embeddings": search + ["--index", str(nan_copy(index, root / "i.index"))],
        "gallery-root-a-number": search + ["--index", str(tampered_copy(index, root / "j.index", gallery_root=5))],
        "format-version-text": search + ["--index", str(tampered_copy(index, root / "k.index", format_version="1"))],
        "bad-utf8-query": [os.fsencode(a) for a in search[:4]] + [b"\xff\xfe laughing"]
                          + [os.fsencode(a) for a in search[5:]] + [b"--index", os.fsencode(index), b"--json"],
        "index-over-nested": pvse_index + ["--weights", str(weights), "--out",
                                           str(tampered_copy(index, root / "l.index", "[" * 100_000))],
        # usage errors: one line, like every other error
        "top-k-huge": search + ["--index", str(index), "--top-k", "1000000000"],
        "per-head-huge": search + ["--index", str(index), "--per-head", "1000000000"],
        "unknown-option": search + ["--index", str(index), "--colour"],
        "no-command": [sys.executable, "-m", "pvse"],
        "demo-unknown-option": [sys.executable, "-m", "demo", "--colour"],
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


@pytest.mark.parametrize("case, expected", [
    ("weights-a-list", "weights must be a JSON object"), ("demo-weights-a-list", "weights must be a JSON object"),
    ("nested-index-json", "index.json is unreadable: index.json nests deeper than 32 levels"),
    ("demo-nested-index-json", "nests deeper than 32 levels"),
    ("huge-config", "config.json: num_embeds must be a whole number from 0 to 64, got 1000000000000"),
    ("nan-embeddings", "embeddings.npy holds NaN or infinite values"),
    ("gallery-root-a-number", "gallery_root must be text, got 5"),
    ("format-version-text", "format_version must be a whole number from 0 to 1, got '1'"),
])
def test_tampered_index_and_weights_files_are_one_line(runs, case, expected):
    line = one_line_error(runs[case])
    assert expected in line and ("Rebuild it" in line or "config" in case or case.startswith("huge"))


def test_indexing_over_a_damaged_index_rebuilds_it_and_says_why(runs):
    code, out, err = runs["index-over-nested"]
    assert code == 0 and "Traceback" not in err, err
    assert "could not be read, so it is rebuilt from scratch" in out + err and "nests deeper than 32" in out + err


def test_a_query_with_bytes_that_are_not_utf8_is_answered(runs):
    code, out, err = runs["bad-utf8-query"]
    assert code == 0 and "Traceback" not in err, err
    hits = json.loads(out)
    assert len(hits) == 2 and "not UTF-8" in err  # the two clips, and a note on what was left out


@pytest.mark.parametrize("case, expected", [
    ("top-k-huge", "pvse search: error: argument --top-k: must be a whole number from 1 to 48, got 1000000000"),
    ("per-head-huge", "argument --per-head: must be a whole number from 1 to 48"),
    ("unknown-option", "pvse: error: unrecognized arguments: --colour (see pvse --help)"),
    ("no-command", "pvse: error: the following arguments are required: COMMAND (see pvse --help)"),
    ("demo-unknown-option", "python -m demo: error: unrecognized arguments: --colour (see python -m demo --help)"),
])
def test_usage_errors_are_one_line(runs, case, expected):
    assert expected in one_line_error(runs[case])
    assert runs[case][1] == ""


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
