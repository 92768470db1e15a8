"""Which build holds a temporary index folder: its process id, that process's start time and the machine's boot.

`store.write_index` names its folders `.NAME.tmp-TOKEN-xxxxxxxx` (the new index being written) and `.NAME.old-TOKEN`
(the previous one, moved aside during the swap), TOKEN = `build_token()`. A process id alone does not identify a
build: after a reboot, or in a container where every run starts at the same pid, the id of a killed build soon
belongs to another live process, and its folders would be taken for a running build's forever. A folder is held
only while a process with that id runs that started at that time since this boot (Linux: /proc). Where the start
time cannot be read (another system), or for folders named by builds before this one (a pid only), a folder whose
process id is alive still grows stale once it has not changed for STALE_AFTER_S.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

STALE_AFTER_S = 3600.0  # a folder held by a process we cannot identify is given up after this long unchanged
UNKNOWN_START, UNKNOWN_BOOT = "0", "00000000"
_BOOT = re.compile(r"[0-9a-f]{8}")


@dataclass(frozen=True)
class BuildId:
    """Who wrote a folder: the process id, and its start time (clock ticks since boot) and boot id when known."""

    pid: int
    start: str = UNKNOWN_START
    boot: str = UNKNOWN_BOOT

    @property
    def known(self) -> bool:
        return self.start != UNKNOWN_START and self.boot != UNKNOWN_BOOT

    def token(self) -> str:
        return f"{self.pid}-{self.start}-{self.boot}"


def process_start(pid: int) -> str:
    """The start time of process `pid` (clock ticks since boot, /proc/PID/stat field 22), or UNKNOWN_START."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
        start = stat.rsplit(")", 1)[1].split()[19]  # fields after the command name start at field 3
    except (OSError, IndexError):
        return UNKNOWN_START
    return start if start.isdigit() and start != UNKNOWN_START else UNKNOWN_START


def boot_id() -> str:
    """The first 8 hex digits of this boot's id (/proc/sys/kernel/random/boot_id), or UNKNOWN_BOOT."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            value = fh.read().strip().replace("-", "")[:8].lower()
    except (OSError, UnicodeDecodeError):
        return UNKNOWN_BOOT
    return value if _BOOT.fullmatch(value) else UNKNOWN_BOOT


def this_build() -> BuildId:
    """This process as a build."""
    pid = os.getpid()
    return BuildId(pid, process_start(pid), boot_id())


def parse(rest: str) -> BuildId | None:
    """The build named by a folder name's part after `.NAME.tmp-` / `.NAME.old-` (TOKEN[-xxxxxxxx], or a bare
    pid[-xxxxxxxx] from builds before tokens), or None when it names none."""
    parts = rest.split("-")
    if not parts[0].isascii() or not parts[0].isdigit() or len(parts[0]) > 10:
        return None
    if len(parts) >= 3 and parts[1].isascii() and parts[1].isdigit() and _BOOT.fullmatch(parts[2]):
        return BuildId(int(parts[0]), parts[1], parts[2])
    return BuildId(int(parts[0]))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid > 0
    return True


def held(build: BuildId, folder: Path, now: float | None = None) -> bool:
    """Whether the build that named `folder` may still be running (so its folder must be left alone)."""
    if build.known:
        here = boot_id()
        if here != UNKNOWN_BOOT and here != build.boot:
            return False  # written before this boot
        start = process_start(build.pid)
        if start != UNKNOWN_START:
            return start == build.start
    if not _pid_alive(build.pid):
        return False
    try:
        age = (time.time() if now is None else now) - folder.stat().st_mtime
    except OSError:
        return False
    return age < STALE_AFTER_S
