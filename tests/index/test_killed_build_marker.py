"""A killed build is recognised as gone even when its process id now belongs to a live process (after a reboot, in a
container): its folders name the build by pid, start time and boot, so a read recovers the index and the next build
leaves no copy behind. Real kills (SIGKILL) of a child writing the index."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_index_store import make_index

from pvse.index import store
from pvse.index.build_marker import STALE_AFTER_S, this_build
from pvse.index.store import read_index, recover_index, write_index


def killed_between_renames(out: Path) -> None:
    """Write a 6-clip index over `out` in a child that is SIGKILLed once the old index is aside (the first rename)
    and before the new one is renamed in."""
    flag = out.parent / "aside"
    pid = os.fork()
    if pid == 0:
        try:
            real = os.replace

            def replace(src, dst):
                real(src, dst)
                if Path(dst).name.startswith(f".{out.name}.old-"):
                    flag.write_text("aside")
                    time.sleep(600)  # killed here

            store.os.replace = replace
            write_index(make_index(num_clips=6, seed=2), out)
        finally:
            os._exit(1)
    deadline = time.monotonic() + 60
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    flag.unlink()
    assert not out.exists()


def give_pid_to(folder: Path, pid: int) -> Path:
    """Rename a build folder so that its process id is `pid` (the rest of its name kept)."""
    renamed = folder.with_name(re.sub(r"\.(tmp|old)-\d+", lambda m: f".{m.group(1)}-{pid}", folder.name))
    os.replace(folder, renamed)
    return renamed


@pytest.fixture
def live_process():
    """Another live process: the id a killed build's pid now belongs to."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def test_a_killed_build_whose_pid_is_reused_is_recovered(tmp_path, live_process):
    out = tmp_path / "ix"
    write_index(make_index(seed=1), out)
    killed_between_renames(out)
    leftovers = sorted(p for p in tmp_path.iterdir() if p.name.startswith(".ix."))
    assert [p.name.split("-")[0] for p in leftovers] == [".ix.old", ".ix.tmp"]
    for folder in leftovers:
        give_pid_to(folder, live_process)
    index = read_index(out)  # not "being replaced by a running pvse index"
    assert (index.fingerprint, index.num_clips) == ("fp2", 6)  # the new index, complete before the kill
    write_index(make_index(num_clips=5, seed=3), out)  # the next build
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]  # no copy of the killed build left behind
    assert read_index(out).num_clips == 5


def test_a_folder_of_a_build_from_before_this_boot_is_recovered(tmp_path):
    out = tmp_path / "ix"
    write_index(make_index(seed=1), out)
    me = this_build()
    if not me.known:
        pytest.skip("no /proc here: builds are told apart by pid and age only")
    os.replace(out, tmp_path / f".ix.old-{me.pid}-{me.start}-{'f' * 8 if me.boot != 'f' * 8 else 'e' * 8}")
    assert recover_index(out) == out and read_index(out).num_clips == 4


def test_a_live_build_is_left_alone_until_its_folder_is_stale(tmp_path):
    """This process's own folder is a running build's; a folder named by a bare live pid (builds before start
    times were recorded, or a system without /proc) is given up once unchanged for STALE_AFTER_S."""
    out = tmp_path / "ix"
    write_index(make_index(seed=1), out)
    aside = tmp_path / f".ix.old-{this_build().token()}"
    os.replace(out, aside)
    assert recover_index(out) is None and not out.exists()
    bare = tmp_path / f".ix.old-{os.getpid()}"
    os.replace(aside, bare)
    assert recover_index(out) is None
    old = time.time() - STALE_AFTER_S - 60
    os.utime(bare, (old, old))
    assert recover_index(out) == out and read_index(out).num_clips == 4
