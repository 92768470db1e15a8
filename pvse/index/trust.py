"""An index is a folder people share and download, so its contents are untrusted input.

These checks run before anything is searched or served: the gallery root an index names must be a
gallery folder, not a filesystem root or a system directory, and a clip must resolve (after links and
'..') to a file inside that root. Relative clip paths without '..' are already enforced when the index
is read (`store.safe_relative_path`); these checks add what only the filesystem can tell.
"""
from __future__ import annotations

import os
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


def resolve_inside(root: str | Path, relative: str) -> Path | None:
    """The real path of `root / relative`, or None when links or '..' lead it outside the real `root`."""
    real_root = os.path.realpath(root)
    path = os.path.realpath(os.path.join(real_root, relative))
    if path != real_root and not path.startswith(real_root.rstrip(os.sep) + os.sep):
        return None
    return Path(path)
