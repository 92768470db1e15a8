"""The demo serves only the media files of the index it loaded, and an index is untrusted input.

Attacks as a user of a running app would try them (raw HTTP, so that `..` and encodings reach the server
as typed), and tampered indexes as someone who shares an index folder would make them.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from demo_process import raw_request, stop, wait_for_url
from gradio_client import Client

from demo.__main__ import main
from demo.serving import served_files
from pvse.errors import GalleryIndexError
from pvse.search import Searcher
from tests.helpers.files import tampered_copy

REPO_ROOT = Path(__file__).resolve().parents[2]


def raw_get(url: str, path: str, method: str = "GET") -> int:
    """Status of a request whose path is sent byte for byte (no client-side normalisation of '..' or '%')."""
    return raw_request(url, path, method)[0]


@pytest.fixture(scope="module")
def served_result(demo_server):
    """The URL of a result GIF as the app hands it out (a cached copy of an allow-listed gallery file)."""
    client = Client(demo_server.url, verbose=False, download_files=False)
    gallery, _ = client.predict("laughing", 3, api_name="/search")
    return gallery[0]["video"]["url"]


def test_result_previews_are_served_and_nothing_else_is(demo_server, served_result):
    response = httpx.get(served_result, timeout=30)
    assert response.status_code == 200 and response.content[4:8] == b"ftyp"  # the result's preview (MP4)
    gallery_dir = demo_server.gallery.gallery_dir
    index_dir = demo_server.gallery.index_dir
    previews = sorted(index_dir.with_name(index_dir.name + ".previews").glob("*.mp4"))
    assert previews  # made on first view, beside the index; the browser gets a cached copy, never the folder
    refused = [gallery_dir / "007-joy.gif",  # the gallery folder itself is never readable, only result copies
               gallery_dir / "CREDITS.md", demo_server.gallery.root / "captions.tsv",
               demo_server.gallery.weights_dir / "config.json", demo_server.gallery.index_dir / "index.json",
               gallery_dir / ".." / "weights" / "config.json", Path(__file__), Path("/etc/passwd"),
               Path("/etc/shadow"), Path("/proc/self/environ"), *previews]
    for path in refused:
        assert raw_get(demo_server.url, f"/gradio_api/file={path}") in (403, 404), path


ESCAPES = ["/gradio_api/file=/etc/passwd", "/gradio_api/file=../../../../etc/passwd",
           "/gradio_api/file={cache}/../../../../etc/passwd", "/gradio_api/file={cache}/%2e%2e/%2e%2e/etc/passwd",
           "/gradio_api/file={cache}/%252e%252e/%252e%252e/etc/passwd", "/gradio_api/file=%2fetc%2fpasswd",
           "/gradio_api/file=%252fetc%252fpasswd", "/gradio_api/file=//etc/passwd", "/gradio_api/file=/etc/./passwd",
           "/gradio_api/file=file:///etc/passwd", "/gradio_api/file=/etc/passwd%00.gif",
           "/gradio_api/file={gallery}/%2e%2e/weights/config.json", "/gradio_api/file={gallery}/CREDITS.md",
           "/file=/etc/passwd", "/gradio_api/file=https://example.com/x.gif"]


@pytest.mark.parametrize("template", ESCAPES)
def test_traversal_and_encoded_paths_are_refused(demo_server, served_result, template):
    cache = Path(urlsplit(served_result).path.split("file=", 1)[1]).parent.parent
    path = template.format(cache=cache, gallery=demo_server.gallery.gallery_dir)
    for method in ("GET", "HEAD"):
        assert raw_get(demo_server.url, path, method) in (400, 403, 404), path


@pytest.mark.parametrize("route", ["/gradio_api/upload", "/gradio_api/upload/", "/upload", "/gradio_api//upload",
                                   "/gradio_api/upload?upload_id=abc"])
def test_uploads_are_refused(demo_server, route):
    response = httpx.post(f"{demo_server.url}{route}", files={"files": ("x.gif", b"GIF89a" + b"\0" * 1000)},
                          timeout=30)
    assert response.status_code == 403 and "takes no files" in response.text


def test_an_empty_upload_is_refused_too(demo_server):
    response = httpx.post(f"{demo_server.url}/gradio_api/upload", files={"files": ("x.txt", b"")}, timeout=30)
    assert response.status_code == 403


def tampered_index(tiny_gallery, tmp_path: Path, **meta_changes) -> Path:
    """A copy of the tiny index (its gallery root made absolute) with some index.json fields changed."""
    return tampered_copy(tiny_gallery.index_dir, tmp_path / "tampered.index",
                         **{"gallery_root": str(tiny_gallery.gallery_dir), **meta_changes})


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("root", ["/", "/etc", "/etc/ssl", "/usr", "/proc", "/home", "/root", "/var", "/tmp",
                                  "~", "/etc/../"])
def test_a_gallery_root_that_is_a_system_folder_is_refused_before_the_server_starts(tiny_gallery, tmp_path, capsys,
                                                                                       root):
    index = tampered_index(tiny_gallery, tmp_path, gallery_root=os.path.expanduser(root))
    assert main(["--index", str(index), "--weights", str(tiny_gallery.weights_dir)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "refusing to search or serve it" in line


def test_a_gallery_root_linking_to_the_filesystem_root_is_refused(tiny_gallery, tmp_path):
    (tmp_path / "innocent").symlink_to("/")
    index = tampered_index(tiny_gallery, tmp_path, gallery_root="../innocent")
    with pytest.raises(GalleryIndexError, match="filesystem root"):
        Searcher.load(index, weights=str(tiny_gallery.weights_dir), device="cpu")


def test_pvse_search_refuses_a_tampered_index_in_one_line(tiny_gallery, tmp_path):
    index = tampered_index(tiny_gallery, tmp_path, gallery_root="/")
    proc = subprocess.run([sys.executable, "-m", "pvse", "search", "laughing", "--index", str(index)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert proc.returncode == 2 and proc.stdout == ""
    assert "filesystem root" in one_error_line(proc.stderr)


def gallery_copy(tiny_gallery, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the tiny gallery and its index side by side, the index pointing at the copy."""
    gallery = tmp_path / "gifs"
    shutil.copytree(tiny_gallery.gallery_dir, gallery)
    return gallery, tampered_index(tiny_gallery, tmp_path, gallery_root="../gifs")


def test_a_clip_linking_out_of_the_gallery_refuses_the_whole_gallery(tiny_gallery, tmp_path, capsys):
    gallery, index = gallery_copy(tiny_gallery, tmp_path)
    outside = tmp_path / "secret.gif"
    shutil.copy(gallery / "007-joy.gif", outside)
    (gallery / "007-joy.gif").unlink()
    (gallery / "007-joy.gif").symlink_to(outside)
    assert main(["--index", str(index), "--weights", str(tiny_gallery.weights_dir)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "007-joy.gif" in line and "leads outside the gallery" in line


def test_links_inside_the_gallery_and_non_media_clips_are_handled(tiny_gallery, tmp_path):
    gallery, index = gallery_copy(tiny_gallery, tmp_path)
    (gallery / "118-alien-monster.gif").unlink()
    (gallery / "118-alien-monster.gif").symlink_to(gallery / "171-blood.gif")  # stays inside: served
    rows = {c.path: r for r, c in enumerate(Searcher.load(index, weights=str(tiny_gallery.weights_dir),
                                                          device="cpu").index.clips)}
    clips_file = index / "clips.jsonl"  # a clip record renamed to a non-media file of the gallery
    lines = clips_file.read_text().splitlines()
    record = json.loads(lines[rows["509-droplet.gif"]])
    record["path"] = "CREDITS.md"
    lines[rows["509-droplet.gif"]] = json.dumps(record)
    clips_file.write_text("\n".join(lines) + "\n")
    served = served_files(Searcher.load(index, weights=str(tiny_gallery.weights_dir), device="cpu"))
    assert served[rows["118-alien-monster.gif"]] == (gallery / "171-blood.gif").resolve()
    assert rows["509-droplet.gif"] not in served  # CREDITS.md is never served
    assert {p.suffix for p in served.values()} == {".gif"} and len(served) == 5


def test_a_clip_linking_into_a_sibling_folder_sharing_the_gallery_name_is_refused(tiny_gallery, tmp_path):
    gallery, index = gallery_copy(tiny_gallery, tmp_path)  # tmp/gifs
    private = tmp_path / "gifs-private"  # same name prefix as the gallery: a string prefix test would let it in
    private.mkdir()
    shutil.copy(gallery / "007-joy.gif", private / "secret.gif")
    (gallery / "007-joy.gif").unlink()
    (gallery / "007-joy.gif").symlink_to(private / "secret.gif")
    with pytest.raises(GalleryIndexError, match="leads outside the gallery"):
        served_files(Searcher.load(index, weights=str(tiny_gallery.weights_dir), device="cpu"))


def test_a_gallery_root_away_from_the_index_folder_is_not_served(tiny_gallery, tmp_path):
    # a real folder of GIFs, not a system folder, but elsewhere than beside the index: what a shared index
    # naming e.g. /usr/share would do (served_files is what `python -m demo` checks before it serves)
    index = tampered_index(tiny_gallery, tmp_path)  # gallery_root: the tiny gallery's absolute path, another folder
    searcher = Searcher.load(index, weights=str(tiny_gallery.weights_dir), device="cpu")
    with pytest.raises(GalleryIndexError, match="not beside or inside the index folder") as info:
        served_files(searcher)
    assert str(tiny_gallery.gallery_dir) in str(info.value) and "\n" not in str(info.value)
    assert searcher.search("laughing", top_k=2).hits  # searching it (the CLI) is allowed: it serves no file


def test_a_gallery_root_in_a_sibling_folder_sharing_the_index_folder_name_is_not_served(tiny_gallery, tmp_path):
    home = tmp_path / "shared"
    home.mkdir()
    index = tampered_index(tiny_gallery, home, gallery_root="../../shared-private/gifs")  # tmp/shared-private/gifs
    shutil.copytree(tiny_gallery.gallery_dir, tmp_path / "shared-private" / "gifs")
    with pytest.raises(GalleryIndexError, match="not beside or inside the index folder"):
        served_files(Searcher.load(index, weights=str(tiny_gallery.weights_dir), device="cpu"))
    inside = tampered_index(tiny_gallery, home / "gifs", gallery_root="..")  # the index inside its gallery
    shutil.copytree(tiny_gallery.gallery_dir, home / "gifs", dirs_exist_ok=True)
    assert len(served_files(Searcher.load(inside, weights=str(tiny_gallery.weights_dir), device="cpu"))) == 6


SECRET = "pvse-test-secret-4c1d"


def tampered_credits(gallery: Path, tmp_path: Path) -> None:
    """Every credits name the app looks for made a link out of the gallery: the server's environment, the
    password file, and a file in a sibling folder sharing the gallery's name prefix."""
    private = tmp_path / f"{gallery.name}-private"
    private.mkdir()
    (private / "notes.md").write_text(f"# Notes\n\n{SECRET} from a sibling folder\n")
    for name, target in (("CREDITS.md", "/proc/self/environ"), ("CREDITS", "/etc/passwd"),
                         ("CREDITS.txt", private / "notes.md")):
        if (gallery / name).exists():
            (gallery / name).unlink()
        (gallery / name).symlink_to(target)


def test_credits_are_read_only_from_a_regular_file_inside_the_gallery(tiny_gallery, tmp_path):
    from demo.credits import gallery_credits

    gallery, _ = gallery_copy(tiny_gallery, tmp_path)
    assert "Noto Emoji animations by Google" in gallery_credits(gallery)
    (gallery / "CREDITS.md").write_text("# Credits\n\n<script>alert(1)</script> by **someone**\n")
    assert gallery_credits(gallery) == "&lt;script&gt;alert(1)&lt;/script&gt; by **someone**"  # text, not HTML
    tampered_credits(gallery, tmp_path)
    assert gallery_credits(gallery) is None
    for name in ("CREDITS", "CREDITS.txt"):
        (gallery / name).unlink()
    (gallery / "CREDITS.md").unlink()
    (gallery / "CREDITS.md").symlink_to(gallery / "007-joy.gif")  # a link, even inside the gallery, is not read
    assert gallery_credits(gallery) is None
    (gallery / "CREDITS.md").unlink()
    os.mkfifo(gallery / "CREDITS.md")  # not a regular file: never opened for reading (would block)
    assert gallery_credits(gallery) is None
    (gallery / "CREDITS.md").unlink()
    (gallery / "CREDITS.md").write_text("x" * (64 * 1024 + 1))  # over the size limit
    assert gallery_credits(gallery) is None


def test_a_credits_link_to_a_small_text_file_inside_the_gallery_is_not_read(tmp_path):
    """A link is never followed, even one to a small text file of the gallery itself (a GIF would be refused for its
    size alone, so the target here is text)."""
    from demo.credits import gallery_credits
    from pvse.index.trust import read_gallery_text

    gallery = tmp_path / "gifs"
    (gallery / "private").mkdir(parents=True)
    (gallery / "private" / "notes.md").write_text(f"# Notes\n\n{SECRET} kept in the gallery folder\n")
    (gallery / "CREDITS.md").symlink_to(gallery / "private" / "notes.md")
    assert read_gallery_text(gallery, "CREDITS.md", 64 * 1024) is None
    assert gallery_credits(gallery) is None
    assert SECRET in read_gallery_text(gallery, "private/notes.md", 64 * 1024)  # the file itself is readable


def test_a_running_demo_on_a_gallery_with_linked_credits_shows_none_of_their_targets(tiny_gallery, free_port,
                                                                                      tmp_path):
    """`python -m demo` as a user starts it, on a gallery whose credits files link to the server's secrets."""
    gallery, index = gallery_copy(tiny_gallery, tmp_path)
    tampered_credits(gallery, tmp_path)
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(REPO_ROOT),
           "PVSE_TEST_TOKEN": SECRET}
    proc = subprocess.Popen([sys.executable, "-m", "demo", "--index", str(index), "--weights",
                             str(tiny_gallery.weights_dir), "--device", "cpu", "--port", str(free_port())],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = wait_for_url(proc, timeout=180).rstrip("/")
        pages = {route: httpx.get(url + route, timeout=30) for route in ("/", "/config", "/gradio_api/info")}
        for route, response in pages.items():
            assert response.status_code == 200, route
            for leaked in (SECRET, "PVSE_TEST_TOKEN", "root:x:0:0", "/bin/bash"):
                assert leaked not in response.text, (route, leaked)
        assert "Gallery credits" not in pages["/config"].text
        gallery_list, _ = Client(url, verbose=False, download_files=False).predict("laughing", 3, api_name="/search")
        assert len(gallery_list) == 3  # the app still answers: only the credits are left out
    finally:
        stop(proc)


def test_the_credits_of_an_untampered_gallery_are_on_the_page(demo_server):
    page = httpx.get(f"{demo_server.url}/config", timeout=30).text
    assert "Gallery credits" in page and "Noto Emoji animations by Google, CC BY 4.0." in page
