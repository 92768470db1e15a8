"""The demo as a subprocess: wait for the URL it prints, then stop it (shared by the demo tests).

Every wait is bounded: the demo's output is read by a thread, so a demo that hangs without printing a line
fails the test at its deadline instead of blocking the suite in `readline`.
"""
from __future__ import annotations

import http.client
import queue
import re
import signal
import subprocess
import threading
import time
from urllib.parse import urlsplit


def _lines(proc: subprocess.Popen) -> queue.Queue:
    """The lines the process prints, read in a daemon thread (None once its output closes)."""
    lines = getattr(proc, "_pvse_lines", None)
    if lines is None:
        lines = proc._pvse_lines = queue.Queue()

        def pump() -> None:
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
    return lines


def wait_for_url(proc: subprocess.Popen, timeout: float) -> str:
    """The local URL the demo prints once it serves; fails with everything it printed otherwise (or at `timeout`)."""
    deadline, seen, lines = time.monotonic() + timeout, [], _lines(proc)
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:  # output closed: the process is exiting
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            break
        seen.append(line)
        match = re.search(r"open (http://127\.0\.0\.1:\d+/?)", line)
        if match:
            return match.group(1)
    state = "still running" if proc.poll() is None else f"exited with {proc.returncode}"
    raise AssertionError(f"no URL printed within {timeout:.0f} s ({state}):\n" + "".join(seen))


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Ctrl-C, as a user would; kill it if it does not exit in time."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def raw_request(url: str, path: str, method: str = "GET") -> tuple[int, bytes, dict[str, str]]:
    """(status, body, headers) of a request to the server at `url` whose path is sent byte for byte (no client-side
    normalisation of '..' or '%')."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()
