"""A tiny real gallery for the demo tests: 6 Noto GIFs, a random-init 3-head checkpoint, a faiss index.

Built once per session (the CNN runs on 6 clips x 4 frames), then shared: `tiny_gallery` (paths and a
loaded Searcher) and `demo_server` (the app launched on 127.0.0.1 with `prevent_thread_lock=True`).
"""
from __future__ import annotations

import csv
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

# Named clips from the shared Noto folder; the last two are left without a name, like a gallery without captions,
# and one of them is stored under a reaction word no model knows, as in a person's own folder.
TINY_CLIPS = ("007-joy.gif", "009-loudly-crying.gif", "118-alien-monster.gif", "171-blood.gif",
              "509-droplet.gif", "558-shark.gif")
UNNAMED = {"509-droplet.gif", "558-shark.gif"}
STORED_AS = {"558-shark.gif": "multi-facepalm.gif"}


@dataclass
class TinyGallery:
    root: Path  # the tmp folder holding everything
    gallery_dir: Path
    index_dir: Path
    weights_dir: Path
    other_weights_dir: Path  # a second checkpoint the index was NOT built with
    searcher: object  # pvse.search.Searcher


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def free_port():
    """A function returning a currently free TCP port on 127.0.0.1."""
    return _free_port


@pytest.fixture(scope="session")
def tiny_gallery(tmp_path_factory, shared_dir) -> TinyGallery:
    from pvse.build import build_index
    from pvse.search import Searcher
    from tests.helpers.models import tiny_checkpoint

    root = tmp_path_factory.mktemp("demo-gallery")
    gallery = root / "gifs"
    gallery.mkdir()
    names = {}
    with open(shared_dir / "manifest.tsv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            names[row["file"]] = row["name"]
    with open(root / "captions.tsv", "w", encoding="utf-8", newline="") as fh:
        fh.write("file\tname\n")
        for file in TINY_CLIPS:
            shutil.copy(shared_dir / file, gallery / STORED_AS.get(file, file))
            if file not in UNNAMED:
                fh.write(f"{file}\t{names[file]}\n")
    (gallery / "CREDITS.md").write_text("# Credits\n\nNoto Emoji animations by Google, CC BY 4.0.\n\nMore below.\n")
    tiny_checkpoint(root / "weights", seed=0)
    tiny_checkpoint(root / "other-weights", seed=1)
    build_index(gallery, root / "gifs.index", weights=str(root / "weights"), captions=root / "captions.tsv",
                device="cpu", progress=False, decode_workers=1, names=False)  # names: tests/demo/test_user_folder.py
    searcher = Searcher.load(root / "gifs.index", weights=str(root / "weights"), device="cpu")
    return TinyGallery(root, gallery, root / "gifs.index", root / "weights", root / "other-weights", searcher)


@dataclass
class DemoServer:
    url: str
    app: object  # demo.app.DemoApp: the page (gr.Blocks) and its handlers
    gallery: TinyGallery


@pytest.fixture(scope="session")
def demo_server(tiny_gallery) -> DemoServer:
    from demo.app import build_app, launch

    app = build_app(tiny_gallery.searcher)
    _, url, _ = launch(app, host="127.0.0.1", port=_free_port(), prevent_thread_lock=True,
                       quiet=True)
    yield DemoServer(url.rstrip("/"), app, tiny_gallery)
    app.blocks.close()
