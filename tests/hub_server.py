"""A local HTTP server that speaks the part of the Hugging Face Hub protocol huggingface_hub downloads with.

- `HEAD` / `GET /{repo}/resolve/{rev}/{file}` (models) and `/datasets/{repo}/resolve/...`: the file, with
  `X-Repo-Commit`, `ETag` and `Content-Length`; the Hub's `X-Error-Code` on 404 (RepoNotFound,
  RevisionNotFound, EntryNotFound).
- `GET /api/{models,datasets}/{repo}/revision/{rev}`: repo info with the commit `sha` a branch or tag points at.
- `GET /api/{models,datasets}/{repo}/tree/{rev}[/{path}]?recursive=true`: the file listing `snapshot_download` asks.
- Large files (`redirect_suffixes`, the Hub's LFS files) answer the resolve URL with 302 to a "CDN" on another
  host name (`localhost` instead of 127.0.0.1, the same server) carrying `X-Linked-Etag` / `X-Linked-Size`, as
  the Hub does; `GET /cdn/{commit}/{file}` serves them there.
- Repos listed in `broken` answer 401 / 500, or stall ("sleep"), for every request.

Files are bytes or paths (served from disk, e.g. the checkout's own weights and gallery). Every request is
recorded in `HubServer.requests`.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass
class Repo:
    """One Hub repo: commits (commit hash -> {path in repo: bytes or local file}) and refs (name -> commit)."""

    commits: dict[str, dict[str, bytes | Path]]
    refs: dict[str, str] = field(default_factory=dict)

    def commit_of(self, revision: str) -> str | None:
        return self.refs.get(revision, revision if revision in self.commits else None)


class HubServer:
    """`with HubServer(repos) as hub: ... hub.url ...`; repos: {("model" | "dataset", "owner/name"): Repo}."""

    def __init__(self, repos: dict[tuple[str, str], Repo], broken: dict[str, int | str] | None = None,
                 redirect_suffixes: tuple[str, ...] = (".safetensors",)) -> None:
        self.repos = repos
        self.redirect_suffixes = redirect_suffixes
        self.cdn: dict[str, bytes | Path] = {}
        self.broken = dict(broken or {})
        self.requests: list[str] = []
        self._etags: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(_Handler):
            hub = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self.cdn_url = f"http://localhost:{self._httpd.server_address[1]}/cdn"

    def __enter__(self) -> HubServer:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def etag(self, commit: str, path: str, data: bytes) -> str:
        with self._lock:
            key = (commit, path)
            if key not in self._etags:
                self._etags[key] = hashlib.sha1(data).hexdigest()
            return self._etags[key]


def read(content: bytes | Path) -> bytes:
    return content if isinstance(content, bytes) else Path(content).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        self.hub.requests.append(f"{self.command} {self.path}")
        parts = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/")]
        if parts[:1] == ["cdn"] and "/".join(parts[1:]) in self.hub.cdn:
            data = read(self.hub.cdn["/".join(parts[1:])])
            return self._send(200, data if body else None, "application/octet-stream", length=len(data))
        if parts[:1] == ["api"]:
            repo_type = {"models": "model", "datasets": "dataset"}.get(parts[1] if len(parts) > 1 else "")
            return self._api(repo_type, parts[2:], body)
        repo_type = "dataset" if parts[:1] == ["datasets"] else "model"
        parts = parts[1:] if repo_type == "dataset" else parts
        repo_id, kind, revision, filename = "/".join(parts[:2]), *(parts[2:4] + ["", ""])[:2], "/".join(parts[4:])
        if self._broken(repo_id):
            return
        repo = self.hub.repos.get((repo_type, repo_id))
        if repo is None or kind != "resolve":
            return self._error(404, "RepoNotFound", "Repository not found", body)
        commit = repo.commit_of(revision)
        if commit is None:
            return self._error(404, "RevisionNotFound", "Invalid rev id", body)
        content = repo.commits[commit].get(filename)
        if content is None:
            return self._error(404, "EntryNotFound", "Entry not found", body)
        data = read(content)
        etag = f'"{self.hub.etag(commit, filename, data)}"'
        if filename.endswith(self.hub.redirect_suffixes):
            self.hub.cdn[f"{commit}/{filename}"] = content
            return self._send(302, None, "text/plain", length=0, headers={
                "Location": f"{self.hub.cdn_url}/{commit}/{filename}", "X-Repo-Commit": commit,
                "X-Linked-Etag": etag, "X-Linked-Size": str(len(data)), "ETag": '"pointer"'})
        self._send(200, data if body else None, "application/octet-stream", length=len(data),
                   headers={"X-Repo-Commit": commit, "ETag": etag})

    def _api(self, repo_type: str | None, parts: list[str], body: bool) -> None:
        repo_id = "/".join(parts[:2])
        if self._broken(repo_id):
            return
        repo = self.hub.repos.get((repo_type, repo_id)) if repo_type else None
        if repo is None or len(parts) < 4 or parts[2] not in ("revision", "tree"):
            return self._error(404, "RepoNotFound", "Repository not found", body)
        commit = repo.commit_of(parts[3])
        if commit is None:
            return self._error(404, "RevisionNotFound", "Invalid rev id", body)
        files = repo.commits[commit]
        if parts[2] == "revision":
            payload = {"id": repo_id, "sha": commit, "siblings": [{"rfilename": name} for name in sorted(files)]}
        else:
            under = "/".join(parts[4:])
            payload = [{"type": "file", "path": name, "size": len(read(content)),
                        "oid": self.hub.etag(commit, name, read(content))}
                       for name, content in sorted(files.items()) if not under or name.startswith(under + "/")]
        data = json.dumps(payload).encode()
        self._send(200, data if body else None, "application/json", length=len(data))

    def _broken(self, repo_id: str) -> bool:
        what = self.hub.broken.get(repo_id)
        if what is None:
            return False
        if what == "sleep":
            time.sleep(3)
        headers = {"X-Error-Code": "RepoNotFound"} if what == 401 else {}  # the Hub's answer for a private repo
        self._send(200 if what == "sleep" else int(what), b"", "text/plain", length=0, headers=headers)
        return True

    def _error(self, status: int, code: str, message: str, body: bool) -> None:
        data = json.dumps({"error": message}).encode()
        self._send(status, data if body else None, "application/json", length=len(data),
                   headers={"X-Error-Code": code, "X-Error-Message": message})

    def _send(self, status: int, data: bytes | None, content_type: str, *, length: int,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if data:
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                pass
