"""Every field of index.json and clips.jsonl is checked (type, range, size, nesting) before anything is made from
it; NaN or infinite embeddings are refused; an index folder gets the user's umask like any folder."""
import json
import os
import stat

import numpy as np
import pytest
from test_index_store import make_index

from pvse.errors import GalleryIndexError
from pvse.index.store import read_index, write_index
from pvse.limits import MAX_CLIP_LINE_BYTES, MAX_META_BYTES


@pytest.fixture
def index_dir(tmp_path):
    return write_index(make_index(), tmp_path / "ix")


def edit_meta(index_dir, **changes):
    meta = json.loads((index_dir / "index.json").read_text())
    for key, value in changes.items():
        target = meta
        *parents, last = key.split("__")
        for parent in parents:
            target = target[parent]
        target[last] = value
    (index_dir / "index.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("key, value, message", [
    ("weights", ["x"], "weights must be a JSON object"),
    ("weights__fingerprint", 5, "weights.fingerprint must be text"),
    ("weights__ref", {"a": 1}, "weights.ref must be text"),
    ("gallery_root", 5, "gallery_root must be text"),
    ("gallery_root", "", "gallery_root must name a folder"),
    ("format_version", "1", "format_version must be a whole number"),
    ("num_embeds", 10**12, "num_embeds must be a whole number from 1 to 128"),
    ("num_embeds", True, "num_embeds must be a whole number"),
    ("embed_dim", 2.5, "embed_dim must be a whole number"),
    ("num_frames", -1, "num_frames must be a whole number"),
    ("num_attention_heads", "4", "num_attention_heads must be a whole number"),
    ("text_heads", 2, "text_heads must be a whole number from 0 to 1"),
    ("counts", [], "counts must be a JSON object"),
    ("counts__clips", 10**15, "counts.clips must be a whole number"),
    ("vectors", "flat", "vectors must be a JSON object"),
    ("vectors__bytes", "12", "vectors.bytes must be a whole number"),
    ("config", 3, "config must be a JSON object"),
])
def test_a_wrong_typed_or_out_of_range_index_field_is_one_clear_error(index_dir, key, value, message):
    edit_meta(index_dir, **{key: value})
    with pytest.raises(GalleryIndexError, match=f"damaged or incomplete .*{message}.*Rebuild") as info:
        read_index(index_dir)
    assert "\n" not in str(info.value)


def test_a_missing_field_is_named(index_dir):
    meta = json.loads((index_dir / "index.json").read_text())
    del meta["embed_dim"]
    (index_dir / "index.json").write_text(json.dumps(meta))
    with pytest.raises(GalleryIndexError, match="index.json has no 'embed_dim'"):
        read_index(index_dir)


@pytest.mark.parametrize("text, message", [
    ("[" * 100_000 + "]" * 100_000, "nests deeper than 32 levels"),  # the JSON decoder's own recursion
    ('{"format": "pvse-gif-index", "a": ' + "[" * 40 + "]" * 40 + "}", "nests deeper than 32 levels"),
    ("{" * 3, "not valid JSON"),
    (b"\xff\xfe{}", "not valid JSON"),
])
def test_deep_or_broken_index_json_is_one_clear_error(index_dir, text, message):
    file = index_dir / "index.json"
    file.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(GalleryIndexError, match=message):
        read_index(index_dir)


def test_an_oversized_index_json_is_refused_before_it_is_parsed(index_dir):
    with open(index_dir / "index.json", "r+b") as fh:
        fh.seek(MAX_META_BYTES + 10)
        fh.write(b" ")  # a sparse file: big, nothing read but the limit
    with pytest.raises(GalleryIndexError, match=f"index.json is over {MAX_META_BYTES} bytes"):
        read_index(index_dir)


def edit_clip(index_dir, row: int, text: str | None = None, **changes):
    file = index_dir / "clips.jsonl"
    lines = file.read_text().splitlines()
    record = json.loads(lines[row])
    record.update(changes)
    lines[row] = text if text is not None else json.dumps(record)
    file.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("changes, message", [
    (dict(name=["x"]), "line 2: name must be text"),
    (dict(caption=5), "line 2: caption must be text"),
    (dict(content_hash=None), "line 2: content_hash must be text"),
    (dict(num_source_frames="10"), "line 2: num_source_frames must be a whole number"),
    (dict(num_source_frames=-3), "line 2: num_source_frames must be a whole number"),
    (dict(metadata=[1]), "line 2: metadata must be a JSON object"),
    (dict(name_from_path="yes"), "line 2: name_from_path must be true or false"),
])
def test_a_wrong_typed_clip_field_is_one_clear_error(index_dir, changes, message):
    edit_clip(index_dir, 1, **changes)
    with pytest.raises(GalleryIndexError, match=message):
        read_index(index_dir)


@pytest.mark.parametrize("line, message", [
    ("[" * 50_000, "line 2 nests deeper than 32"), ("[1, 2]", "line 2 is not a JSON object"),
    ("x" * (MAX_CLIP_LINE_BYTES + 5), f"line 2 is over {MAX_CLIP_LINE_BYTES} bytes"),
])
def test_a_deep_foreign_or_huge_clip_line_is_one_clear_error(index_dir, line, message):
    edit_clip(index_dir, 1, text=line)
    with pytest.raises(GalleryIndexError, match=message):
        read_index(index_dir)


def test_more_clip_rows_than_counted_stop_the_read(index_dir):
    file = index_dir / "clips.jsonl"
    file.write_text(file.read_text() * 1000)  # 4000 rows for 4 counted: not all parsed
    with pytest.raises(GalleryIndexError, match="more rows than the 4 clips index.json counts"):
        read_index(index_dir)


@pytest.mark.parametrize("name", ["embeddings.npy", "attention.npy"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_infinite_arrays_are_refused(index_dir, name, bad):
    array = np.load(index_dir / name)
    array[2, 0, 1] = bad
    np.save(index_dir / name, array)
    with pytest.raises(GalleryIndexError, match=f"{name} holds NaN or infinite values"):
        read_index(index_dir, load_vectors=False)
    with pytest.raises(GalleryIndexError, match=f"{name} holds NaN or infinite values"):
        read_index(index_dir, mmap=True, load_vectors=False)


def test_arrays_of_the_wrong_kind_are_refused(index_dir):
    np.save(index_dir / "frame_indices.npy", np.zeros((4, 3), np.float32))
    with pytest.raises(GalleryIndexError, match="frame_indices.npy holds float32 values, not whole numbers"):
        read_index(index_dir)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_the_index_folder_gets_the_users_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        out = write_index(make_index(), tmp_path / "ix")
        write_index(make_index(seed=1), out)  # replaced: the new folder too
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask
    assert stat.S_IMODE((out / "embeddings.npy").stat().st_mode) == 0o666 & ~umask
