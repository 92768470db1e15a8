"""Checkpoint files from the Hub over real HTTP: a local server speaks the Hub's file-download protocol.

The server answers what `huggingface_hub.hf_hub_download` asks: `HEAD` / `GET /{repo_id}/resolve/{revision}/{file}`
with `X-Repo-Commit`, `ETag` and `Content-Length`, the Hub's `X-Error-Code` on 404, and errors on request.
Each load runs in a fresh process with `HF_ENDPOINT` pointed at the server and its own `HF_HOME` cache.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REPO = "pvse-gif/test-model"
COMMITS = {"main": "a" * 40, "v1": "b" * 40}
FILES = {COMMITS["main"]: {"config.json": b'{"rev": "main"}'}, COMMITS["v1"]: {"config.json": b'{"rev": "v1"}'}}
BROKEN = {"pvse-gif/private": 401, "pvse-gif/broken": 500, "pvse-gif/slow": "sleep"}

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


class HubHandler(BaseHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args) -> None:  # quiet
        pass

    def _answer(self, body: bool) -> None:
        type(self).requests.append(f"{self.command} {self.path}")
        owner, name, resolve, revision, filename = (self.path.lstrip("/").split("/", 4) + [""] * 5)[:5]
        repo = f"{owner}/{name}"
        if repo in BROKEN:
            if BROKEN[repo] == "sleep":
                time.sleep(3)
            self.send_response(BROKEN[repo] if BROKEN[repo] != "sleep" else 200)
            if BROKEN[repo] == 401:  # what the Hub answers for a private repo without a token
                self.send_header("X-Error-Code", "RepoNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if repo != REPO or resolve != "resolve":
            return self._not_found("RepoNotFound", "Repository not found")
        commit = COMMITS.get(revision, revision if revision in FILES else None)
        if commit is None:
            return self._not_found("RevisionNotFound", "Invalid rev id")
        data = FILES[commit].get(filename)
        if data is None:
            return self._not_found("EntryNotFound", "Entry not found")
        self.send_response(200)
        self.send_header("X-Repo-Commit", commit)
        self.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _not_found(self, code: str, message: str) -> None:
        payload = f'{{"error": "{message}"}}'.encode()
        self.send_response(404)
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(payload)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(body=True)


@pytest.fixture(scope="module")
def hub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), HubHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def load(hub: str, home: Path, ref: str, offline: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_") and k != "TRANSFORMERS_OFFLINE"}
    env.update(HF_ENDPOINT=hub, HF_HOME=str(home), HF_HUB_ETAG_TIMEOUT="1", HF_HUB_DOWNLOAD_TIMEOUT="1",
               HF_HUB_DISABLE_TELEMETRY="1", PYTHONPATH=str(REPO_ROOT))
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    return subprocess.run([sys.executable, "-c", PROBE, ref], capture_output=True, text=True, env=env, timeout=120,
                          cwd=home)


def one_line(proc: subprocess.CompletedProcess) -> str:
    """Our error: one line. (On a 500, huggingface_hub's own retry warnings come before it, 23 s of back-off.)"""
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith(("HTTP Error 5",
                                                                                                  "Retrying in"))]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr
    return lines[0]


def test_first_load_downloads_then_offline_reads_the_cache(hub, tmp_path):
    HubHandler.requests.clear()
    first = load(hub, tmp_path, REPO)
    assert first.returncode == 0 and "\"rev\": \"main\"" in first.stdout, first.stderr
    assert any(r.startswith("GET /pvse-gif/test-model/resolve/main/config.json") for r in HubHandler.requests)
    HubHandler.requests.clear()
    again = load(hub, tmp_path, REPO, offline=True)
    assert again.returncode == 0 and '"rev": "main"' in again.stdout and HubHandler.requests == []
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
