"""Results show small previews, made for allow-listed clips only; the original stays what open / download give."""
from __future__ import annotations

import shutil
from pathlib import Path

from demo.previews import Previews
from demo.serving import served_files


def test_allow_listed_clips_get_previews_and_nothing_else_does(tiny_gallery, tmp_path):
    served = served_files(tiny_gallery.searcher)
    previews = Previews(served, tmp_path / "gifs.index")
    originals = [str(p) for p in list(served.values())[:3]]
    outsider = tmp_path / "outsider.gif"
    shutil.copy(originals[0], outsider)  # same bytes as an allow-listed clip, but not on the list
    shown = previews.shown([*originals, str(outsider), "/etc/passwd"])
    assert all(Path(p).suffix == ".mp4" and Path(p).parent == tmp_path / "gifs.index.previews" for p in shown[:3])
    assert shown[3:] == [str(outsider), "/etc/passwd"]  # handed back as they are, for the caller's checks to refuse
    assert previews.cache.made == 3
    assert previews.shown(originals) == shown[:3] and previews.cache.made == 3  # made once, then read from disk


def test_a_changed_clip_gets_a_new_preview(tiny_gallery, tmp_path):
    gallery = tmp_path / "g"
    shutil.copytree(tiny_gallery.gallery_dir, gallery)
    served = {row: gallery / path.name for row, path in served_files(tiny_gallery.searcher).items()}
    previews = Previews(served, tmp_path / "g.index")
    first, second = (str(p) for p in list(served.values())[:2])
    before = previews.shown([first])[0]
    shutil.copy(second, first)  # the clip's bytes change under the same name
    after = previews.shown([first])[0]
    assert after != before and after == previews.shown([second])[0]


def test_previews_can_be_switched_off(tiny_gallery, tmp_path, monkeypatch):
    monkeypatch.setenv("PVSE_DEMO_PREVIEWS", "0")
    served = served_files(tiny_gallery.searcher)
    original = str(next(iter(served.values())))
    assert Previews(served, tmp_path / "gifs.index").shown([original]) == [original]


def test_previews_of_clips_no_longer_in_the_index_go_at_start_up(tiny_gallery, tmp_path):
    from pvse.media.previews import preview_name
    served = served_files(tiny_gallery.searcher)
    kept = Previews(served, tmp_path / "gifs.index").shown([str(next(iter(served.values())))])[0]
    stale = tmp_path / "gifs.index.previews" / preview_name("0" * 32)
    stale.write_bytes(b"old")
    hashes = [record.content_hash for _, record in tiny_gallery.searcher.index.records()]
    Previews(served, tmp_path / "gifs.index", keep=hashes)
    assert Path(kept).is_file() and not stale.exists()
