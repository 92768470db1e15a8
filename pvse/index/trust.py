"""An index is a folder people share and download, so its contents are untrusted input.

These checks run before anything is searched or served: the gallery root an index names must be a
gallery folder, not a filesystem root or a system directory, and a clip must resolve (after links and
'..') to a file inside that root. Relative clip paths without '..' are already enforced when the index
is read (`store.safe_relative_path`); these checks add what only the filesystem can tell.

What `gallery_root` may name: for searching, any folder but a filesystem root or a system / home folder
(`check_gallery_root`); for serving its files (the demo), only a folder beside or inside the index, i.e. inside
the folder that holds the index folder (`check_served_root`), which is how `pvse index GIF_DIR` lays them out,
so a shared index cannot make the app serve another folder of the machine such as `/usr/share`.

Files a gallery offers besides its clips (its credits) are read only through `read_gallery_text`: the same
containment as a clip, plus no link at all, a regular file, and a size limit.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import GalleryIndexError

# Folders that are never a gallery themselves: the filesystem root, the standard top-level directories
# of Linux / macOS, and the folder holding every user's home.
SYSTEM_DIRS = frozenset({
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt",
    "/opt", "/proc", "/root", "/run", "/sbin", "/snap", "/srv", "/sys", "/tmp", "/usr", "/usr/local", "/var",
    "/var/tmp", "/Applications", "/Library", "/System", "/Users", "/Volumes", "/private", "/private/tmp",
    "/private/var",
})
# Trees nothing below which is a gallery (system configuration, kernel and device files).
SYSTEM_TREES = ("/boot", "/dev", "/etc", "/proc", "/sys", "/private/etc")


def unsafe_root_reason(root: str | Path) -> str | None:
    """Why `root` may not be a gallery root (None when it may): a filesystem root, a system or home folder."""
    candidates = {os.path.abspath(root), os.path.realpath(root)}
    home = os.path.realpath(os.path.expanduser("~"))
    for path in candidates:
        if path == os.path.splitdrive(path)[0] + os.sep:
            return "it is a filesystem root"
        if path in SYSTEM_DIRS:
            return "it is a system directory"
        if any(path == tree or path.startswith(tree + os.sep) for tree in SYSTEM_TREES):
            return "it is inside a system directory"
        if path == home:
            return "it is a whole home folder"
    return None


def check_gallery_root(root: str | Path, index_dir: str | Path | None = None) -> None:
    """Refuse (GalleryIndexError) an index whose gallery root is a filesystem root or a system folder."""
    reason = unsafe_root_reason(root)
    if reason:
        where = f"the index at {index_dir}" if index_dir is not None else "the index"
        raise GalleryIndexError(f"{where} names {root} as its gallery folder, but {reason}: refusing to search or "
                                "serve it (a tampered or careless index). Index a folder of GIFs with "
                                "`pvse index GIF_DIR --out INDEX_DIR`.")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def check_served_root(root: str | Path, index_dir: str | Path) -> None:
    """Refuse (GalleryIndexError) to serve a gallery that is not beside or inside its index folder `index_dir`."""
    real_root = os.path.realpath(root)
    homes = {os.path.dirname(os.path.abspath(index_dir)), os.path.dirname(os.path.realpath(index_dir))}
    if not any(_inside(real_root, os.path.realpath(home)) for home in homes):
        raise GalleryIndexError(
            f"the index at {index_dir} names {root} as its gallery folder, which is not beside or inside the index "
            "folder: the app serves only a gallery kept next to its index. Build the index next to the gallery "
            "with `pvse index GIF_DIR` (it writes GIF_DIR.index beside GIF_DIR).")


def resolve_inside(root: str | Path, relative: str) -> Path | None:
    """The real path of `root / relative`, or None when links or '..' lead it outside the real `root`."""
    real_root = os.path.realpath(root)
    path = os.path.realpath(os.path.join(real_root, relative))
    if not _inside(path, real_root):
        return None
    return Path(path)


def read_gallery_text(root: str | Path, relative: str, max_bytes: int) -> str | None:
    """The text of the file `root / relative` (UTF-8, bad bytes replaced), or None unless it is a regular file of
    at most `max_bytes` bytes, not a link, whose real path lies inside the real `root`.

    For the files a gallery offers to be shown (credits): a link, even one that stays inside the gallery, is
    never followed, so a shared gallery cannot make the app show `/proc/self/environ` or `/etc/passwd`.
    """
    path = resolve_inside(root, relative)
    if path is None or os.path.islink(os.path.join(root, relative)):
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            return None
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew after the check
        return None
    return data.decode("utf-8", errors="replace")
