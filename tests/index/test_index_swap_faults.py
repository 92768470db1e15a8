"""A build killed at any instant of writing its index leaves a loadable index at --out, the old or the new one.

Each case forks the test process; the child writes a new index over an old one and is killed (`os._exit`, no
clean-up runs, as with SIGKILL) just before, or halfway through, its n-th file write, rename, sync or delete.
The parent then loads the index, as `pvse search` would, or starts the next build, as `pvse index` would.
"""
from __future__ import annotations

import builtins
import io
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
import pytest
from test_index_store import make_index

from pvse.errors import GalleryIndexError
from pvse.index import store
from pvse.index.store import read_index, recover_index, write_index

KILLED = 77


class Kill:
    """Counts the write-side operations of `write_index`; dies before (or halfway through) operation `at`."""

    def __init__(self, at: int | None = None, halfway: bool = False) -> None:
        self.at, self.halfway, self.ops = at, halfway, []

    def step(self, name: str, partial=None) -> None:
        if self.at is not None and len(self.ops) == self.at:
            if self.halfway and partial is not None:
                partial()
            os._exit(KILLED)
        self.ops.append(name)

    def install(self, monkeypatch) -> None:
        def counted(name, fn, partial_for=None):
            def wrapper(*args, **kwargs):
                self.step(name, (lambda: partial_for(*args, **kwargs)) if partial_for else None)
                return fn(*args, **kwargs)
            return wrapper

        def half_bytes(file, data: bytes) -> None:
            with builtins.open(file, "wb") as fh:
                fh.write(data[: len(data) // 2])

        def half_npy(file, array, *args, **kwargs):
            buffer = io.BytesIO()
            np.save(buffer, array)
            half_bytes(file, buffer.getvalue())

        def half_text(path, text, *args, **kwargs):
            half_bytes(path, text.encode("utf-8"))

        def writes(file, mode="r", *args, **kwargs):
            if "w" in mode:
                self.step(f"open {Path(file).name}", lambda: half_bytes(file, b'{"path": "sub/cl'))
            return builtins.open(file, mode, *args, **kwargs)

        monkeypatch.setattr(np, "save", counted("np.save", np.save, half_npy))
        monkeypatch.setattr(faiss, "write_index", counted("faiss.write_index", faiss.write_index,
                                                          lambda index, file: half_bytes(file, b"IxF2" * 64)))
        monkeypatch.setattr(Path, "write_text", counted("write_text", Path.write_text, half_text))
        monkeypatch.setattr(os, "replace", counted("os.replace", os.replace))
        monkeypatch.setattr(os, "fsync", counted("os.fsync", os.fsync))
        monkeypatch.setattr(Path, "unlink", counted("unlink", Path.unlink))
        monkeypatch.setattr(shutil, "rmtree", counted("rmtree", shutil.rmtree))
        monkeypatch.setattr(tempfile, "mkdtemp", counted("mkdtemp", tempfile.mkdtemp))
        monkeypatch.setattr(store, "open", writes, raising=False)


def killed_write(out: Path, at: int, halfway: bool) -> int:
    """Write a 6-clip index over `out` in a child process killed at operation `at`; its exit status."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            with pytest.MonkeyPatch.context() as monkeypatch:
                Kill(at, halfway).install(monkeypatch)
                write_index(make_index(num_clips=6, seed=2), out)
            code = 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"the child writing the index hung (operation {at})")


def write_operations(tmp_path: Path, monkeypatch) -> list[str]:
    write_index(make_index(seed=1), tmp_path / "count")
    kill = Kill()
    with monkeypatch.context() as patch:
        kill.install(patch)
        write_index(make_index(num_clips=6, seed=2), tmp_path / "count")
    shutil.rmtree(tmp_path / "count")
    return kill.ops


def test_the_write_path_is_what_the_fault_cases_cover(tmp_path, monkeypatch):
    ops = write_operations(tmp_path, monkeypatch)
    # every file, each fsync, the two renames of the swap, then the old copy deleted
    assert ops.count("np.save") == 3 and ops.count("faiss.write_index") == 1 and ops.count("write_text") == 1
    assert ops.count("os.fsync") == 6 and ops.count("os.replace") == 2 and ops[-1] == "rmtree"


def index_state(index) -> tuple[str, int]:
    return index.fingerprint, index.num_clips


OLD, NEW = ("fp1", 4), ("fp2", 6)


@pytest.mark.parametrize("halfway", [False, True], ids=["before", "halfway"])
@pytest.mark.parametrize("then", ["load", "build"])
def test_a_kill_at_every_write_and_rename_leaves_a_loadable_index(tmp_path, monkeypatch, halfway, then):
    ops = write_operations(tmp_path, monkeypatch)
    outcomes = []
    for at in range(len(ops) + 1):
        case = tmp_path / f"case{at}"
        case.mkdir()
        out = case / "ix"
        write_index(make_index(seed=1), out)
        code = killed_write(out, at, halfway)
        assert code == (0 if at == len(ops) else KILLED), (at, ops[at:at + 1])
        if then == "load":  # `pvse search` right after the kill
            state = index_state(read_index(out))
        else:  # the next `pvse index`: recovery, then it reads the previous index to reuse its rows
            recover_index(out)
            state = index_state(read_index(out, load_vectors=False))
            write_index(make_index(num_clips=5, seed=3), out)
            assert sorted(p.name for p in case.iterdir()) == ["ix"], at  # leftovers of the killed build removed
            assert index_state(read_index(out)) == ("fp3", 5)
        assert state in (OLD, NEW), (at, ops[at:at + 1], state)
        outcomes.append(state)
    renames = [i for i, op in enumerate(ops) if op == "os.replace"]
    # old until the old folder is moved aside; the new one as soon as it is complete and the old one is aside
    assert outcomes[:renames[0] + 1] == [OLD] * (renames[0] + 1)
    assert outcomes[renames[0] + 1:] == [NEW] * (len(ops) - renames[0])


def test_recovery_is_left_alone_while_the_build_is_alive_and_never_overwrites(tmp_path):
    out = tmp_path / "ix"
    write_index(make_index(seed=1), out)
    aside = tmp_path / f".ix.old-{os.getpid()}"  # this process is alive: its build may still be swapping
    os.replace(out, aside)
    assert recover_index(out) is None and not out.exists()
    dead = tmp_path / ".ix.old-999999999"
    os.replace(aside, dead)
    out.mkdir()
    (out / "notes.txt").write_text("user's file")  # a folder that is not an index: never replaced
    assert recover_index(out) is None and dead.exists()
    (out / "notes.txt").unlink()
    assert recover_index(out) == out and index_state(read_index(out)) == OLD


def test_a_search_between_a_running_builds_two_renames_waits_for_the_new_index(tmp_path):
    """The old index is aside and the new one not yet renamed in by a build that is still running (this process):
    a reader waits for it instead of finding no index."""
    import threading
    out = tmp_path / "ix"
    write_index(make_index(seed=1), out)
    new = tmp_path / "new"
    write_index(make_index(num_clips=5, seed=3), new)
    os.replace(out, tmp_path / f".ix.old-{os.getpid()}")
    timer = threading.Timer(0.3, os.replace, args=(new, out))
    timer.start()
    try:
        assert index_state(read_index(out)) == ("fp3", 5)
    finally:
        timer.join()


def test_a_swap_that_never_finishes_is_one_line_saying_so(tmp_path, monkeypatch):
    out = tmp_path / "ix"
    write_index(make_index(seed=1), out)
    os.replace(out, tmp_path / f".ix.old-{os.getpid()}")
    monkeypatch.setattr(store, "SWAP_WAIT_S", 0.05)
    with pytest.raises(GalleryIndexError, match="being replaced by a running `pvse index`"):
        read_index(out)
