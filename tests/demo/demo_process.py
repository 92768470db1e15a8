"""The demo as a subprocess: wait for the URL it prints, then stop it (shared by the demo tests)."""
from __future__ import annotations

import re
import signal
import subprocess
import time


def wait_for_url(proc: subprocess.Popen, timeout: float) -> str:
    """The local URL the demo prints once it serves; fails with everything it printed otherwise."""
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        match = re.search(r"open (http://127\.0\.0\.1:\d+/?)", line)
        if match:
            return match.group(1)
    raise AssertionError("no URL printed:\n" + "".join(seen))


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Ctrl-C, as a user would; kill it if it does not exit in time."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
