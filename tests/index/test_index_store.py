"""On-disk index format: round trip, atomic replacement, and clear errors for damaged or tampered indexes."""
import json

import faiss
import numpy as np
import pytest

from pvse.errors import GalleryIndexError
from pvse.index.faiss_search import build_vector_index
from pvse.index.meta import FORMAT_NAME, FORMAT_VERSION
from pvse.index.records import ClipRecord
from pvse.index.store import GalleryIndex, read_index, write_index


def make_index(num_clips=4, k=2, h=8, t=3, seed=0):
    rng = np.random.default_rng(seed)
    emb = rng.standard_normal((num_clips, k, h)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=-1, keepdims=True)
    vectors, params = build_vector_index(emb.reshape(-1, h), "flat")
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
            "weights": {"ref": "w", "fingerprint": f"fp{seed}", "ref_is_relative_path": False},
            "num_embeds": k, "num_attention_heads": k, "embed_dim": h, "num_frames": t,
            "gallery_root": "../gallery", "vectors": {"kind": "flat", "params": params},
            "counts": {"clips": num_clips, "vectors": num_clips * k}}
    clips = [ClipRecord(f"sub/clip{i}.gif", f"hash{i}", 10 + i, name=f"Clip {i}", metadata={"i": str(i)})
             for i in range(num_clips)]
    att = np.full((num_clips, k, t), 1 / t, np.float32)
    idx = np.tile(np.arange(t, dtype=np.int32), (num_clips, 1))
    return GalleryIndex(meta, clips, emb, att, idx, vectors)


def test_round_trip(tmp_path):
    original = make_index()
    write_index(original, tmp_path / "ix")
    loaded = read_index(tmp_path / "ix")
    np.testing.assert_array_equal(loaded.embeddings, original.embeddings)
    np.testing.assert_array_equal(loaded.attention, original.attention)
    np.testing.assert_array_equal(loaded.frame_indices, original.frame_indices)
    assert loaded.clips == original.clips
    assert loaded.vectors.ntotal == 8 and loaded.fingerprint == "fp0"
    assert loaded.gallery_root == (tmp_path / "gallery").resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]  # no temporaries left


def test_interrupted_write_keeps_the_previous_index(tmp_path, monkeypatch):
    write_index(make_index(seed=1), tmp_path / "ix")

    def crash(*args):
        raise KeyboardInterrupt  # e.g. Ctrl-C while the new vectors are written

    monkeypatch.setattr(faiss, "write_index", crash)
    with pytest.raises(KeyboardInterrupt):
        write_index(make_index(num_clips=6, seed=2), tmp_path / "ix")
    loaded = read_index(tmp_path / "ix")
    assert loaded.fingerprint == "fp1" and loaded.num_clips == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]


def test_stale_temporaries_of_dead_builds_are_cleaned(tmp_path):
    stale = tmp_path / ".ix.tmp-999999999-abc"
    stale.mkdir()
    (stale / "embeddings.npy").write_bytes(b"partial")
    write_index(make_index(), tmp_path / "ix")
    assert not stale.exists()


def test_missing_and_damaged_indexes_are_clear_errors(tmp_path):
    with pytest.raises(GalleryIndexError, match="no gallery index at .*pvse index"):
        read_index(tmp_path / "nothing")
    write_index(make_index(), tmp_path / "ix")
    (tmp_path / "ix" / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(GalleryIndexError, match="damaged .*Rebuild"):
        read_index(tmp_path / "ix")
    with pytest.raises(GalleryIndexError, match="vectors.faiss has 7 bytes"):  # even when it would not be loaded
        read_index(tmp_path / "ix", load_vectors=False)
    meta = json.loads((tmp_path / "ix" / "index.json").read_text())
    del meta["vectors"]["bytes"]  # an index written before sizes were recorded: caught when the file is read
    (tmp_path / "ix" / "index.json").write_text(json.dumps(meta))
    lazy = read_index(tmp_path / "ix", load_vectors=False)
    with pytest.raises(GalleryIndexError, match="damaged .*vectors.faiss"):
        lazy.load_vectors()
    (tmp_path / "ix" / "vectors.faiss").unlink()
    with pytest.raises(GalleryIndexError, match="vectors.faiss is missing"):
        read_index(tmp_path / "ix", load_vectors=False)
    write_index(make_index(), tmp_path / "ix2")
    np.save(tmp_path / "ix2" / "attention.npy", np.zeros((3, 2, 3), np.float32))
    with pytest.raises(GalleryIndexError, match="attention.npy has shape"):
        read_index(tmp_path / "ix2")


@pytest.mark.parametrize("evil", ["/etc/passwd", "../../etc/passwd", "a/../../b.gif", "~/x.gif", "a\\..\\b"])
def test_tampered_clip_paths_are_refused(tmp_path, evil):
    write_index(make_index(), tmp_path / "ix")
    clips = tmp_path / "ix" / "clips.jsonl"
    lines = clips.read_text().splitlines()
    row = json.loads(lines[1])
    row["path"] = evil
    lines[1] = json.dumps(row)
    clips.write_text("\n".join(lines) + "\n")
    with pytest.raises(GalleryIndexError, match="not a relative path inside the gallery"):
        read_index(tmp_path / "ix")


def test_refuses_to_replace_a_folder_that_is_not_an_index(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "keep.jpg").write_bytes(b"x")
    with pytest.raises(GalleryIndexError, match="not a pvse-gif index"):
        write_index(make_index(), tmp_path / "photos")
    assert (tmp_path / "photos" / "keep.jpg").exists()


def test_newer_format_is_refused(tmp_path):
    write_index(make_index(), tmp_path / "ix")
    meta = json.loads((tmp_path / "ix" / "index.json").read_text())
    meta["format_version"] = 99
    (tmp_path / "ix" / "index.json").write_text(json.dumps(meta))
    with pytest.raises(GalleryIndexError, match="newer pvse-gif"):
        read_index(tmp_path / "ix")
