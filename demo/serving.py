"""What the demo serves: exactly the media files of the loaded index's clips, and nothing else.

- `served_files(searcher)` is the allow-list, built once before the server starts: row -> real path of
  every clip that resolves (links and '..' followed) to a regular file with a media extension inside the
  gallery folder. A clip that resolves outside the gallery refuses the whole index: it was tampered with.
  A gallery folder index.json names is served only when it lies beside or inside the index folder
  (`pvse.index.trust.check_served_root`).
- Gradio's `allowed_paths` stays empty, so nothing on disk is readable through `/gradio_api/file=` except
  what the app itself produced: a result GIF reaches the browser as Gradio's cached copy of an
  allow-listed file (`cached_copy`), like the app's other outputs (the explanation images).
- `ClosedRoutes` turns away what the app never needs: uploads (it takes no files) and `/file=` requests
  for a URL, which would make the server fetch another site.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, unquote

from pvse.errors import GalleryIndexError
from pvse.index.trust import check_served_root, resolve_inside
from pvse.media import MEDIA_EXTENSIONS


def served_files(searcher) -> dict[int, Path]:
    """Row -> real path of each servable clip; GalleryIndexError if any clip leads outside the gallery."""
    directory = getattr(searcher.index, "directory", None)
    if isinstance(directory, Path):  # a folder index (a Milvus database is the user's own, not a shared folder)
        check_served_root(searcher.gallery_root, directory)
    root = Path(os.path.realpath(searcher.gallery_root))
    served: dict[int, Path] = {}
    for row, clip_path in searcher.clip_paths():
        path = resolve_inside(root, clip_path)
        if path is None:
            raise GalleryIndexError(
                f"clip {clip_path!r} of the index at {searcher.index.directory} leads outside the gallery {root} "
                f"(to {os.path.realpath(root / clip_path)}); refusing to serve this gallery. Remove the link and "
                "rebuild the index with `pvse index`.")
        if path.suffix.lower() in MEDIA_EXTENSIONS and path.is_file():
            served[row] = path
    return served


def cached_copy(path: str | Path, cache_dir: str) -> str:
    """Gradio's cached copy of an allow-listed file (made once per content), the only form a GIF is served in."""
    from gradio.processing_utils import save_file_to_cache

    return save_file_to_cache(path, cache_dir=cache_dir)


GIF_ROUTE = "/gif/"  # GIF_ROUTE + "<row>/<file name>": one allow-listed clip's original file


def gif_link(row: int, path: Path) -> str:
    """The page-relative link to an allow-listed clip's original (relative, so it works under a proxy's prefix)."""
    return f"{GIF_ROUTE.lstrip('/')}{int(row)}/{quote(path.name)}"


def linked_file(path: str, files: dict[int, Path]) -> Path | None:
    """The allow-listed file a GIF_ROUTE request names (its row and its own file name), or None."""
    _, found, rest = path.partition(GIF_ROUTE)
    row, slash, name = rest.partition("/")
    if not found or not path.startswith(GIF_ROUTE) or not slash or not row.isdigit():
        return None
    file = files.get(int(row))
    return file if file is not None and unquote(name) == file.name and file.is_file() else None


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

    def __init__(self, app, files: dict[int, Path] | None = None) -> None:
        self.app = app
        self.files = files or {}

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
        from starlette.responses import FileResponse, PlainTextResponse

        file = linked_file(path, self.files) if scope.get("method") in ("GET", "HEAD") else None
        if file is None:
            response = PlainTextResponse("No such GIF in this gallery.", status_code=404)
        else:
            response = FileResponse(file, content_disposition_type="inline", filename=file.name,
                                    headers={"Cache-Control": "no-cache"})
        await response(scope, receive, send)
