"""Clip previews (`pvse.media.previews`): a small looping H.264 of the clip, made once, kept beside the index under
its content hash, made again when the clip's bytes change, and pruned when its clip leaves the index."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest
from PIL import Image

from pvse.integrity import content_hash
from pvse.media.previews import PREVIEW_SIDE, PreviewCache, encode_preview, preview_dir, preview_name
from tests.helpers.files import save_gif


def write_gif(path: Path, size: tuple[int, int], colours: list[tuple[int, int, int]]) -> Path:
    """One solid frame of each colour, 7 cs each, saved with Pillow's defaults."""
    return save_gif(path, [Image.new("RGB", size, c) for c in colours], 7, whole_frames=False)


COLOURS = [(230, 25, 25), (25, 200, 40), (30, 40, 220), (240, 220, 30), (200, 30, 200), (30, 210, 210)]


def test_a_preview_is_a_small_h264_of_the_whole_clip_at_its_own_pace(tmp_path):
    gif = write_gif(tmp_path / "wide.gif", (640, 360), COLOURS)
    out = tmp_path / "wide.mp4"
    encode_preview(gif, out)
    assert out.stat().st_size < gif.stat().st_size
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.width, stream.height) == (PREVIEW_SIDE, 136)  # aspect kept, even sides
        frames = list(container.decode(stream))
    assert len(frames) == len(COLOURS)
    assert frames[-1].time - frames[0].time == pytest.approx(float(Fraction(7, 100) * (len(COLOURS) - 1)), abs=0.011)
    middle = frames[2].to_ndarray(format="rgb24")[68, 120]
    assert abs(int(middle[2]) - 220) < 30 and int(middle[0]) < 80  # the third frame is blue: frames kept in order


def test_a_small_clip_is_not_enlarged(tmp_path):
    gif = write_gif(tmp_path / "small.gif", (100, 80), COLOURS[:3])
    encode_preview(gif, tmp_path / "small.mp4")
    with av.open(str(tmp_path / "small.mp4")) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (100, 80)


def test_previews_are_made_once_made_again_when_the_clip_changes_and_pruned(tmp_path):
    gif = write_gif(tmp_path / "clip.gif", (120, 90), COLOURS[:4])
    cache = PreviewCache(tmp_path / "gallery.index.previews")
    first = cache.get(gif, content_hash(gif))
    assert first is not None and first.is_file() and first.name == preview_name(content_hash(gif))
    made = first.stat().st_mtime_ns
    assert cache.get(gif, content_hash(gif)) == first and cache.made == 1  # served from disk the second time
    assert first.stat().st_mtime_ns == made

    write_gif(gif, (120, 90), COLOURS[2:])  # the clip changes: a new hash, a new preview
    second = cache.get(gif, content_hash(gif))
    assert second != first and cache.made == 2
    with av.open(str(second)) as container:
        assert container.streams.video[0].frames in (0, 4)
        assert len(list(container.decode(video=0))) == 4

    assert cache.prune({content_hash(gif)}) == 1  # the old clip's preview goes, the current one stays
    assert not first.exists() and second.exists()


def test_a_clip_that_cannot_be_decoded_has_no_preview(tmp_path):
    bad = tmp_path / "bad.gif"
    bad.write_bytes(b"GIF89a" + b"\0" * 20)
    cache = PreviewCache(tmp_path / "p")
    assert cache.get(bad, content_hash(bad)) is None
    assert not any(p.suffix == ".mp4" for p in (tmp_path / "p").glob("*"))  # no half-written file left


def test_previews_live_beside_the_index_in_every_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("PVSE_FEATURE_CACHE", str(tmp_path / "cache"))
    assert preview_dir(tmp_path / "films.index") == tmp_path / "films.index.previews"
    assert preview_dir(f"milvus://{tmp_path}/gifs.db") == tmp_path / "gifs.db.previews"
    server = preview_dir("https://milvus.example:19530?collection=films")
    assert server != preview_dir("https://milvus.example:19530?collection=other")
    with pytest.raises(ValueError):
        preview_name("../../etc/passwd")
