"""The demo test helper never blocks the suite: a demo that hangs silently fails at the deadline."""
import subprocess
import sys
import threading
import time

import pytest
from demo_process import stop, wait_for_url


def test_waiting_for_a_silent_hung_demo_ends_at_its_deadline():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    outcome = []

    def wait() -> None:
        try:
            wait_for_url(proc, timeout=1)
        except AssertionError as exc:
            outcome.append(str(exc))

    try:
        started = time.monotonic()
        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        waiter.join(timeout=20)
        assert not waiter.is_alive(), "wait_for_url blocked past its deadline"
        assert outcome and "no URL printed within 1 s (still running)" in outcome[0]
        assert time.monotonic() - started < 10
    finally:
        stop(proc, timeout=5)
    assert proc.poll() is not None


def test_a_demo_that_exits_without_a_url_fails_with_what_it_printed():
    proc = subprocess.Popen([sys.executable, "-c", "print('python -m demo: error: no index')"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with pytest.raises(AssertionError, match="(?s)exited with 0.*no index"):
        wait_for_url(proc, timeout=30)
