"""The `/gif/<row>/<name>` route of a running app (`python -m demo`, raw HTTP on 127.0.0.1): it serves a clip's
original under its one link, decoded once, and only while the file on disk is still the one checked at start.

A gallery folder can change under a running app (a synced or shared folder): a clip swapped for a link to a
secret, for another gallery file, or for another regular file is refused, and nothing of it is sent.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from demo_process import raw_request, stop, wait_for_url

from demo.serving import gif_link
from tests.helpers.files import tampered_copy

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = b"pvse-gif-route-secret-91b7\n"
PERCENT = "pct%41.gif"  # a real file name with a %XX in it: its link must work (decoded once, not twice)
MARKUP = "<img src=x onerror=alert(1)>.gif"  # a name that double decoding would reach from %253Cimg...
RENAMED = {"009-loudly-crying.gif": PERCENT, "118-alien-monster.gif": MARKUP}


get = raw_request


@pytest.fixture(scope="module")
def app(tiny_gallery, tmp_path_factory, free_port):
    """A copy of the tiny gallery (two clips renamed to awkward names) served by `python -m demo`:
    (url, gallery folder, {clip path: row}, the folder beside it holding a secret)."""
    root = tmp_path_factory.mktemp("gif-route")
    gallery, index = root / "gifs", root / "gifs.index"
    shutil.copytree(tiny_gallery.gallery_dir, gallery)
    tampered_copy(tiny_gallery.index_dir, index, gallery_root="../gifs")
    records = [json.loads(line) for line in (index / "clips.jsonl").read_text().splitlines() if line.strip()]
    for record in records:  # as an index built on a folder with these names records them
        if record["path"] in RENAMED:
            os.rename(gallery / record["path"], gallery / RENAMED[record["path"]])
            record["path"] = RENAMED[record["path"]]
    (index / "clips.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (root / "private").mkdir()
    (root / "private" / "secret.gif").write_bytes(SECRET)
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "demo", "--index", str(index), "--weights",
                             str(tiny_gallery.weights_dir), "--device", "cpu", "--port", str(free_port())],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = wait_for_url(proc, timeout=180).rstrip("/")
        yield url, gallery, {r["path"]: row for row, r in enumerate(records)}, root / "private"
    finally:
        stop(proc)


def link(rows: dict[str, int], name: str) -> str:
    """The absolute path of the link the app hands out for the clip `name`."""
    return "/" + gif_link(rows[name], Path(name))


def test_every_clip_is_served_under_its_own_link_even_with_percent_signs_and_markup_in_its_name(app):
    url, gallery, rows, _ = app
    assert link(rows, PERCENT).endswith("/pct%2541.gif")
    for name in rows:
        status, body, headers = get(url, link(rows, name))
        assert status == 200, name
        assert body == (gallery / name).read_bytes() and headers["content-type"] == "image/gif"
        assert headers["content-disposition"].startswith("inline") and headers["x-content-type-options"] == "nosniff"
        status, body, headers = get(url, link(rows, name), "HEAD")
        assert status == 200 and body == b"" and int(headers["content-length"]) == (gallery / name).stat().st_size


def test_a_name_is_decoded_once_and_must_be_the_rows_own(app):
    url, _, rows, _ = app
    row = rows[MARKUP]
    others = [name for name in rows if rows[name] != row]
    forged = [f"/gif/{row}/{quote(quote(MARKUP))}",  # %253Cimg...: the server decodes it once, to %3Cimg...
              f"/gif/{rows[PERCENT]}/{quote(PERCENT.replace('%41', 'A'))}",  # pctA.gif
              f"/gif/{rows[PERCENT]}/{PERCENT}",  # sent as typed: the server decodes %41 itself
              *(f"/gif/{row}/{quote(name)}" for name in others),  # another row's file under this row
              f"/gif/{row}/", f"/gif/{row}", f"/gif/{row}/x.gif", f"/gif/{row}/{quote(MARKUP)}/x"]
    for path in forged:
        for method in ("GET", "HEAD"):
            status, body, _ = get(url, path, method)
            assert status == 404 and b"GIF8" not in body, (path, method)


@pytest.mark.parametrize("row", ["%D9%A0", "%EF%BC%90", "%C2%B2", "+0", "-0", "0x0", "%200", "0" * 5000, "9" * 5000],
                         ids=lambda row: row if len(row) < 20 else f"{row[0]}x{len(row)}")
def test_a_row_is_ascii_digits_only(app, row):
    """Arabic-Indic and fullwidth zero, superscript two, signs, and digits past what int() takes: not a row."""
    url, _, rows, _ = app
    name = next(n for n, r in rows.items() if r == 0)
    status, body, _ = get(url, f"/gif/{row}/{quote(name)}")
    assert status == 404 and b"GIF8" not in body, row


def test_a_clip_swapped_after_start_is_not_served(app):
    """After start-up: one clip made a link to a secret beside the gallery, one a link to another clip of the
    gallery, one replaced by another regular file; each of their links is refused, the others still work."""
    url, gallery, rows, private = app
    to_secret, to_clip, replaced = "007-joy.gif", "171-blood.gif", MARKUP
    for name in (to_secret, to_clip):
        (gallery / name).unlink()
    (gallery / to_secret).symlink_to(private / "secret.gif")
    (gallery / to_clip).symlink_to(gallery / PERCENT)
    shutil.copy(private / "secret.gif", private / "copy.gif")
    os.replace(private / "copy.gif", gallery / replaced)  # a regular file, but not the one the index has
    for name in (to_secret, to_clip, replaced):
        for method in ("GET", "HEAD"):
            status, body, _ = get(url, link(rows, name), method)
            assert status == 404 and SECRET not in body and b"GIF8" not in body, (name, method)
    status, body, _ = get(url, link(rows, PERCENT))
    assert status == 200 and body == (gallery / PERCENT).read_bytes()
