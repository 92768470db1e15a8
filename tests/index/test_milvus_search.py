"""Milvus (Lite, in-process) grouped search + exact re-scoring must equal brute-force max-over-K²; bad locations,
a missing database, gallery or server are one-line errors."""
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pvse.errors import GalleryIndexError
from pvse.index.milvus_index import open_index, search_top_k
from pvse.index.milvus_store import ClipData, MilvusStore, claims, parse_location
from pvse.index.records import ClipRecord
from tests.helpers.ranking import assert_same, reference, unit

pytest.importorskip("milvus_lite")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One Milvus Lite database for the module (its start-up is paid once); each case writes its own collection."""
    store = MilvusStore(f"milvus://{tmp_path_factory.mktemp('milvus')}/search.db", create=True)
    yield store
    store.close()


def put(store, name, gallery, ids, kind="flat", params=None):
    """Write gallery (M, K, H) under clip ids `ids` into a new collection `name`."""
    gallery = np.asarray(gallery, dtype=np.float32)
    store.create_vectors(name, gallery.shape[2], kind, params or {})
    clips = [ClipData(int(c), ClipRecord(f"{c}.gif", f"h{c}", 1), gallery[i], np.zeros((1, 2)), np.zeros(2))
             for i, c in enumerate(ids)]
    store.write(name, clips, upsert=False)
    store.call("flush", "flush", name)
    return name


@pytest.mark.parametrize("k, num_clips, top_k", [(1, 300, 10), (4, 400, 10), (3, 60, 60), (2, 5, 3)])
def test_flat_search_equals_brute_force_on_random_data(store, k, num_clips, top_k):
    gallery = unit(num_clips, k, 16, seed=k * 1000 + num_clips).numpy()
    ids = [7 + 3 * i for i in range(num_clips)]  # clip ids need not be rows
    name = put(store, f"random_{k}_{num_clips}", gallery, ids)
    for q in range(6):
        query = unit(k, 16, seed=q)
        # two groups per head to start with: the widen-until-provably-exact loop has to run
        top = search_top_k(store, name, query, top_k, num_clips=num_clips, num_embeds=k,
                           params={"candidates_per_head": 2})
        assert top.exact
        assert_same(top, reference(query, gallery, top_k, ids))


def test_ties_are_broken_by_clip_id_like_brute_force(store):
    # one-hot vectors: every inner product is exactly 0 or 1, so scores tie massively
    eye = torch.eye(6)
    gallery = torch.stack([eye[[r % 6, (r * 5 + 1) % 6, 2]] for r in range(60)])
    gallery[10:20] = gallery[3]  # exact duplicate clips
    ids = list(range(60))
    name = put(store, "ties", gallery.numpy(), ids)
    for query in (eye[[0, 3, 3]], eye[[5, 5, 5]], eye[[4, 1, 0]]):
        for top_k in (10, 25):
            top = search_top_k(store, name, query, top_k, num_clips=60, num_embeds=3, params={"candidates_per_head": 4})
            assert_same(top, reference(query, gallery.numpy(), top_k, ids))


def test_past_the_group_limit_every_vector_is_scanned(store):
    gallery = unit(200, 2, 8, seed=5).numpy()
    ids = list(range(200))
    name = put(store, "scan", gallery, ids)
    query = unit(2, 8, seed=6)
    top = search_top_k(store, name, query, 12, num_clips=200, num_embeds=2, params={"candidates_per_head": 2},
                       max_groups=3)
    assert top.exact and top.candidates == 12
    assert_same(top, reference(query, gallery, 12, ids))


def test_hnsw_candidates_are_rescored_exactly(store):
    gallery = unit(500, 4, 32, seed=9).numpy()
    ids = list(range(500))
    name = put(store, "hnsw", gallery, ids, "hnsw", {"hnsw_m": 16, "ef_construction": 40, "ef_search": 64})
    hits = 0
    for q in range(5):
        query = F.normalize(torch.as_tensor(gallery[q * 50]) + 0.1 * unit(4, 32, seed=q), dim=-1)
        top = search_top_k(store, name, query, 10, num_clips=500, num_embeds=4, kind="hnsw",
                           params={"ef_search": 64, "candidates_per_head": 40})
        assert not top.exact
        ref_ids, ref_scores, _ = reference(query, gallery, 500, ids)
        true = dict(zip(ref_ids, ref_scores))
        np.testing.assert_allclose(top.scores, [true[int(c)] for c in top.rows], atol=1e-6)  # exact scores
        hits += len(set(top.rows.tolist()) & set(ref_ids[:10]))
    assert hits >= 45  # recall@10 of HNSW here is near 1


@pytest.mark.parametrize("text, uri, gallery", [
    ("milvus:///abs/dir/gifs.db", "/abs/dir/gifs.db", "pvse_gallery"),
    ("milvus:///abs/gifs.db?collection=team_gifs", "/abs/gifs.db", "team_gifs"),
    ("http://milvus.example:19530?collection=g1&db=prod", "http://milvus.example:19530", "g1"),
    ("https://in01-abc.cloud.example", "https://in01-abc.cloud.example:19530", "pvse_gallery"),
])
def test_locations_parse(text, uri, gallery):
    loc = parse_location(text)
    assert claims(text) and (loc.uri, loc.gallery) == (uri, gallery)
    assert loc.is_lite == text.startswith("milvus://")


def test_relative_lite_path_is_from_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_location("milvus://sub/gifs.db").uri == str(tmp_path / "sub" / "gifs.db")
    assert not claims(str(tmp_path / "gifs.index")) and not claims("gifs.index")


@pytest.mark.parametrize("text, message", [
    ("milvus://gifs", "ends in .db"),
    ("milvus://", "no file"),
    ("milvus://g.db?collection=bad-name", "letters, digits and underscores"),
    ("milvus://g.db?colection=x", "unknown option"),
    ("http://user:secret@host:19530", "PVSE_MILVUS_TOKEN"),
    ("http://host:99999", "port"),
    ("http://host:19530/some/path", "HOST:PORT"),
])
def test_bad_locations_are_one_line_errors(text, message):
    with pytest.raises(GalleryIndexError, match=message):
        parse_location(text)


def test_missing_database_gallery_and_server_are_one_line_errors(store, tmp_path):
    with pytest.raises(GalleryIndexError, match="no Milvus Lite database at .*pvse index GIF_DIR --out"):
        open_index(f"milvus://{tmp_path}/nothing.db")
    with pytest.raises(GalleryIndexError, match="no pvse-gif gallery 'absent' in Milvus"):
        open_index(f"{store.loc.text}?collection=absent")
    with pytest.raises(GalleryIndexError, match="connecting failed.*reachable"):
        open_index("http://127.0.0.1:9")  # discard port: nothing listens


@pytest.mark.parametrize("location", ["milvus://{tmp}/nothing.db", "http://127.0.0.1:9", "milvus://{tmp}/x"])
def test_cli_reports_bad_milvus_locations_in_one_line(tmp_path, location):
    location = location.format(tmp=tmp_path)
    proc = subprocess.run([sys.executable, "-m", "pvse", "search", "happy", "--index", location],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("pvse search: error:") and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_without_pymilvus_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pymilvus", None)
    with pytest.raises(GalleryIndexError, match=r"pip install 'pvse-gif\[milvus\]'"):
        open_index("http://127.0.0.1:9")
