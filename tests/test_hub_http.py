"""Checkpoint files from the Hub over real HTTP: a local server speaks the Hub's file-download protocol.

The server answers what `huggingface_hub.hf_hub_download` asks: `HEAD` / `GET /{repo_id}/resolve/{revision}/{file}`
with `X-Repo-Commit`, `ETag` and `Content-Length`, the Hub's `X-Error-Code` on 404, and errors on request.
Each load runs in a fresh process with `HF_ENDPOINT` pointed at the server and its own `HF_HOME` cache.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hub_server import HubServer, Repo

from pvse.defaults import DEFAULT_ASSETS, DEFAULT_MODEL, asset_files

REPO_ROOT = Path(__file__).resolve().parents[1]
REPO = "pvse-gif/test-model"
COMMITS = {"main": "a" * 40, "v1": "b" * 40}
FILES = {COMMITS["main"]: {"config.json": b'{"rev": "main"}'}, COMMITS["v1"]: {"config.json": b'{"rev": "v1"}'}}
BROKEN = {"pvse-gif/private": 401, "pvse-gif/broken": 500, "pvse-gif/slow": "sleep"}
ASSET_COMMIT = "c" * 40

PROBE = """
import sys
from pvse._hub import fetch_file
from pvse.errors import PVSEError
try:
    print(open(fetch_file(sys.argv[1], "config.json")).read())
except PVSEError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)
"""


@pytest.fixture(scope="module")
def hub():
    repos = {("model", REPO): Repo(commits=FILES, refs={"main": COMMITS["main"], "v1": COMMITS["v1"]})}
    for asset in DEFAULT_ASSETS:  # the default assets at their pinned revision; "main" has moved on
        files = asset_files(asset, REPO_ROOT / asset.checkout)
        repos[(asset.repo_type, asset.repo_id)] = Repo(
            commits={ASSET_COMMIT: files, "d" * 40: {**files, asset.marker: b"newer, unpinned"}},
            refs={asset.revision: ASSET_COMMIT, "main": "d" * 40})
    with HubServer(repos, broken=BROKEN) as server:
        yield server


def load(hub: HubServer, home: Path, *args: str, offline: bool = False, probe: str = PROBE) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_") and k != "TRANSFORMERS_OFFLINE"}
    env.update(HF_ENDPOINT=hub.url, HF_HOME=str(home), HF_HUB_ETAG_TIMEOUT="1", HF_HUB_DOWNLOAD_TIMEOUT="1",
               HF_HUB_DISABLE_TELEMETRY="1", PYTHONPATH=str(REPO_ROOT))
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    return subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, env=env, timeout=120,
                          cwd=home)


def one_line(proc: subprocess.CompletedProcess) -> str:
    """Our error: one line. (On a 500, huggingface_hub's own retry warnings come before it, 23 s of back-off.)"""
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith(("HTTP Error 5",
                                                                                                  "Retrying in"))]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr
    return lines[0]


def test_first_load_downloads_then_offline_reads_the_cache(hub, tmp_path):
    hub.requests.clear()
    first = load(hub, tmp_path, REPO)
    assert first.returncode == 0 and "\"rev\": \"main\"" in first.stdout, first.stderr
    assert any(r.startswith("GET /pvse-gif/test-model/resolve/main/config.json") for r in hub.requests)
    hub.requests.clear()
    again = load(hub, tmp_path, REPO, offline=True)
    assert again.returncode == 0 and '"rev": "main"' in again.stdout and hub.requests == []
    (tmp_path / "empty-cache").mkdir()
    cold = load(hub, tmp_path / "empty-cache", REPO, offline=True)
    assert "HF_HUB_OFFLINE" in one_line(cold)


def test_a_revision_is_honoured(hub, tmp_path):
    proc = load(hub, tmp_path, f"{REPO}@v1")
    assert proc.returncode == 0 and '"rev": "v1"' in proc.stdout, proc.stderr
    assert "does not exist" in one_line(load(hub, tmp_path, f"{REPO}@no-such-branch"))


@pytest.mark.parametrize("repo, expected", [("pvse-gif/missing", "does not exist or is private"),
                                            ("pvse-gif/private", "does not exist or is private"),
                                            ("pvse-gif/broken", "500"),
                                            ("pvse-gif/slow", "not available")])
def test_hub_errors_are_one_line(hub, tmp_path, repo, expected):
    line = one_line(load(hub, tmp_path, repo))
    assert repo in line and expected in line


ASSET_PROBE = """
import dataclasses, sys
from pvse import defaults
from pvse.errors import PVSEError
asset = {a.repo_id: a for a in defaults.DEFAULT_ASSETS}.get(sys.argv[1], defaults.DEFAULT_MODEL)
asset = dataclasses.replace(asset, repo_id=sys.argv[1], revision=sys.argv[2] if len(sys.argv) > 2 else asset.revision)
try:
    print(defaults.download_asset(asset))
except PVSEError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)
"""


def contents(folder: Path) -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in asset_files(DEFAULT_MODEL, folder).items()}


def test_the_default_model_downloads_at_its_pinned_revision_once_then_offline(hub, tmp_path):
    hub.requests.clear()
    first = load(hub, tmp_path, DEFAULT_MODEL.repo_id, probe=ASSET_PROBE)
    assert first.returncode == 0, first.stderr
    folder = Path(first.stdout.strip())
    assert folder.is_relative_to(tmp_path) and not any(p.is_symlink() for p in folder.rglob("*"))
    assert contents(folder) == contents(REPO_ROOT / DEFAULT_MODEL.checkout)  # the pinned commit, not "main"
    assert any("/resolve/" + ASSET_COMMIT + "/model.safetensors" in r for r in hub.requests)
    assert f"GET /cdn/{ASSET_COMMIT}/model.safetensors" in hub.requests  # followed the Hub's redirect to its CDN
    for offline in (False, True):  # a complete pinned copy is used as it is: no request at all
        hub.requests.clear()
        again = load(hub, tmp_path, DEFAULT_MODEL.repo_id, offline=offline, probe=ASSET_PROBE)
        assert again.returncode == 0 and Path(again.stdout.strip()) == folder and hub.requests == [], again.stderr
    (tmp_path / "empty").mkdir()
    line = one_line(load(hub, tmp_path / "empty", DEFAULT_MODEL.repo_id, offline=True, probe=ASSET_PROBE))
    assert "HF_HUB_OFFLINE" in line and "run once online" in line and "PVSE_WEIGHTS" in line


@pytest.mark.parametrize("repo, revision, expected", [("pvse-gif/missing", "v1", "does not exist"),
                                                      ("pvse-gif/private", "v1", "does not exist"),
                                                      (DEFAULT_MODEL.repo_id, "no-such-tag", "does not exist")])
def test_default_asset_hub_errors_are_one_line(hub, tmp_path, repo, revision, expected):
    line = one_line(load(hub, tmp_path, repo, revision, probe=ASSET_PROBE))
    assert repo in line and expected in line and "PVSE_WEIGHTS" in line
