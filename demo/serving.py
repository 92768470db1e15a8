"""What the demo serves: exactly the media files of the loaded index's clips, and nothing else.

- `served_files(searcher)` is the allow-list, built once before the server starts: row -> real path of
  every clip that resolves (links and '..' followed) to a regular file with a media extension inside the
  gallery folder, with that file's identity (device and inode). A clip that resolves outside the gallery
  refuses the whole index: it was tampered with.
- A gallery folder can change while the app runs (a synced or shared folder), so every read of a clip goes
  through `ServedFiles.open`: at that moment the path must still be its own real path inside the gallery, the
  last component no link (O_NOFOLLOW), and the opened file the same regular file (device, inode) that was
  checked at start. What is sent is read from that one open descriptor, never from the path again.
  A gallery folder index.json names is served only when it lies beside or inside the index folder
  (`pvse.index.trust.check_served_root`).
- Gradio's `allowed_paths` stays empty, so nothing on disk is readable through `/gradio_api/file=` except
  what the app itself produced: a result GIF reaches the browser as Gradio's cached copy of an
  allow-listed file (`cached_copy`), like the app's other outputs (the explanation images).
- `ClosedRoutes` turns away what the app never needs: uploads (it takes no files) and `/file=` requests
  for a URL, which would make the server fetch another site.
"""
from __future__ import annotations

import hashlib
import mimetypes
import os
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from pvse.errors import GalleryIndexError
from pvse.index.trust import check_served_root, resolve_inside

if TYPE_CHECKING:
    from pvse.search.searcher import Searcher
from pvse.media import MEDIA_EXTENSIONS


class ServedFiles(dict[int, Path]):
    """Row -> real path of each servable clip, with the (device, inode) each had when the allow-list was made.

    `open(row)` is the only way a clip's bytes are read for serving: it re-checks what it opens (see the module
    doc) and returns the open descriptor, so what is checked is what is sent."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.identities: dict[int, tuple[int, int]] = {}

    def add(self, row: int, path: Path, info: os.stat_result) -> None:
        """Allow-list `row` as the regular file `path` whose stat is `info`."""
        self[row] = path
        self.identities[row] = (info.st_dev, info.st_ino)

    def open(self, row: int) -> tuple[int, os.stat_result] | None:
        """(a read-only descriptor, its fstat) of row's file if it is still the file checked at start, else None.

        The caller closes the descriptor."""
        path, identity = self.get(row), self.identities.get(row)
        if path is None or identity is None or os.path.realpath(path) != str(path):
            return None  # gone, or a folder on its way became a link
        if resolve_inside(self.root, os.path.relpath(path, self.root)) is None:
            return None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) != identity:
            os.close(fd)
            return None
        return fd, info

    def servable(self, row: int) -> bool:
        """Whether row's file can be served now (the same check as `open`)."""
        opened = self.open(row)
        if opened is None:
            return False
        os.close(opened[0])
        return True

    def row_of(self, path: str | Path) -> int | None:
        """The first allow-listed row whose real path is `path`, or None."""
        return next((row for row, file in self.items() if str(file) == str(path)), None)

    def read(self, row: int) -> bytes | None:
        """The bytes of row's file as `open` checked it (at most its size then), or None."""
        opened = self.open(row)
        if opened is None:
            return None
        fd, info = opened
        try:
            return read_fd(fd, info.st_size)
        finally:
            os.close(fd)


def read_fd(fd: int, size: int) -> bytes:
    """Up to `size` bytes from the open descriptor `fd`."""
    chunks, left = [], size
    while left > 0:
        chunk = os.read(fd, min(left, CHUNK_BYTES))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


CHUNK_BYTES = 64 * 1024


def served_files(searcher: Searcher) -> ServedFiles:
    """Row -> real path of each servable clip; GalleryIndexError if any clip leads outside the gallery."""
    directory = searcher.index.directory
    if isinstance(directory, Path):  # a folder index (a Milvus database is the user's own, not a shared folder)
        check_served_root(searcher.gallery_root, directory)
    root = Path(os.path.realpath(searcher.gallery_root))
    served = ServedFiles(root)
    for row, clip_path in searcher.clip_paths():
        path = resolve_inside(root, clip_path)
        if path is None:
            raise GalleryIndexError(
                f"clip {clip_path!r} of the index at {searcher.index.directory} leads outside the gallery {root} "
                f"(to {os.path.realpath(root / clip_path)}); refusing to serve this gallery. Remove the link and "
                "rebuild the index with `pvse index`.")
        if path.suffix.lower() not in MEDIA_EXTENSIONS:
            continue
        try:
            info = os.stat(path)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            served.add(row, path, info)
    return served


def cached_copy(files: ServedFiles, path: str | Path, cache_dir: str, previews: Path | None = None) -> str:
    """Gradio's cached copy of the allow-listed clip at `path` (one per content, written whole then renamed into
    place), the only form a result GIF is served in. Its bytes come from `files.read` (checked at this moment);
    a clip that no longer passes that check is a FileNotFoundError (the request fails, nothing is served).
    `previews`: the folder of the app's own previews (`demo.previews`); a regular file there, reached without a
    link, is copied too (the app made it from an allow-listed clip)."""
    if previews is not None and _own_preview(Path(path), previews):
        return _cached_bytes(Path(path).read_bytes(), Path(path).name, cache_dir)
    row = files.row_of(path)
    data = files.read(row) if row is not None else None
    if data is None:
        raise FileNotFoundError(f"{path} is no longer the gallery file the app checked at start; not served")
    return _cached_bytes(data, files[row].name, cache_dir)


def _own_preview(path: Path, previews: Path) -> bool:
    """A regular file directly inside the previews folder, not a link (the app's own output)."""
    try:
        return path.parent.resolve() == previews.resolve() and not path.is_symlink() and path.is_file()
    except OSError:
        return False


def _cached_bytes(data: bytes, name: str, cache_dir: str) -> str:
    """`data` saved as `name` in a folder of the cache named by its content (written whole, then renamed in)."""
    folder = Path(cache_dir) / hashlib.sha256(data).hexdigest()[:40]
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / name
    if not copy.is_file():
        fd, staging = tempfile.mkstemp(dir=folder, prefix=f".{copy.name}.")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(staging, copy)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
    return str(copy.resolve())


GIF_ROUTE = "/gif/"  # GIF_ROUTE + "<row>/<file name>": one allow-listed clip's original file


def gif_link(row: int, path: Path) -> str:
    """The page-relative link to an allow-listed clip's original (relative, so it works under a proxy's prefix)."""
    return f"{GIF_ROUTE.lstrip('/')}{int(row)}/{quote(path.name)}"


MAX_ROW_DIGITS = 12


def linked_row(path: str, files: dict[int, Path]) -> int | None:
    """The allow-listed row a GIF_ROUTE request names (its row in ASCII digits and its own file name), or None.

    `path` is the request path as the server decoded it, once: the name is compared as it is, never decoded again
    (a file named `pct%41.gif` is linked as `pct%2541.gif` and only that)."""
    if not path.startswith(GIF_ROUTE):
        return None
    row, slash, name = path[len(GIF_ROUTE):].partition("/")
    if not slash or not row.isascii() or not row.isdigit() or len(row) > MAX_ROW_DIGITS:
        return None
    file = files.get(int(row))
    return int(row) if file is not None and name == file.name else None


UPLOAD_REFUSED = b"This app takes no files."
URL_REFUSED = b"This app does not fetch other sites."


def refusal(path: str) -> bytes | None:
    """Why a request for `path` (already percent-decoded by the server) is refused, or None to let it through."""
    if path.rstrip("/").rsplit("/", 1)[-1] == "upload":
        return UPLOAD_REFUSED
    _, found, target = path.partition("/file=")
    if found and target.lstrip("/").lower().startswith(("http:", "https:")):
        return URL_REFUSED
    return None


class ClosedRoutes:
    """ASGI middleware answering 403 to the routes `refusal` names, before Gradio reads a byte of the body, and
    serving GIF_ROUTE links to the allow-listed `files` (row -> path) itself; any other GIF_ROUTE path is a 404."""

    def __init__(self, app, files: ServedFiles | None = None) -> None:
        self.app = app
        self.files = files if files is not None else ServedFiles(Path(os.sep))

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith(GIF_ROUTE):
            await self._gif(path, scope, receive, send)
            return
        reason = refusal(path) if path else None
        if reason is None:
            await self.app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(reason)).encode())]})
        await send({"type": "http.response.body", "body": reason})

    async def _gif(self, path: str, scope, receive, send) -> None:
        from anyio import to_thread
        from starlette.responses import PlainTextResponse

        row = linked_row(path, self.files) if scope.get("method") in ("GET", "HEAD") else None
        opened = await to_thread.run_sync(self.files.open, row) if row is not None else None
        if opened is None:
            await PlainTextResponse("No such GIF in this gallery.", status_code=404)(scope, receive, send)
            return
        fd, info = opened
        try:
            name = self.files[row].name
            await send({"type": "http.response.start", "status": 200, "headers": file_headers(name, info.st_size)})
            if scope.get("method") == "HEAD":
                await send({"type": "http.response.body", "body": b""})
                return
            left = info.st_size
            while True:  # at most the size checked, from the descriptor checked
                chunk = await to_thread.run_sync(os.read, fd, min(left, CHUNK_BYTES)) if left > 0 else b""
                left -= len(chunk)
                more = bool(chunk) and left > 0
                await send({"type": "http.response.body", "body": chunk, "more_body": more})
                if not more:
                    return
        finally:
            os.close(fd)


def file_headers(name: str, size: int) -> list[tuple[bytes, bytes]]:
    """The response headers of a clip's original: its type, length, shown inline under its own name, no caching."""
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    quoted = quote(name)
    disposition = f'inline; filename="{name}"' if quoted == name else f"inline; filename*=utf-8''{quoted}"
    return [(b"content-type", kind.encode()), (b"content-length", str(size).encode()),
            (b"content-disposition", disposition.encode("latin-1")), (b"cache-control", b"no-cache"),
            (b"x-content-type-options", b"nosniff")]
