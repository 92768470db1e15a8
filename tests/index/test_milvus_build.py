"""Index real GIFs into Milvus Lite with a tiny random-init model: it answers exactly like the faiss index of the
same gallery; reruns add / change / delete / rename in place; new weights switch to a new collection only once
it is complete (an interrupted build leaves the old gallery searchable); a weights mismatch is refused."""
import functools
import os
import shutil

import pytest

import pvse.build
from demo.clip_frames import sampled_frames
from pvse.errors import GalleryIndexError
from pvse.index import milvus_write, read_index
from pvse.index.milvus_index import open_index
from pvse.index.milvus_store import MilvusStore
from pvse.search import Searcher
from tests.helpers.models import count_cnn_frames, tiny_pipeline
from tests.helpers.ranking import QUERIES, assert_same_answers

# These tests are about the frame index: names (matched by default) are left out unless a test asks for them.
build_index = functools.partial(pvse.build.build_index, names=False)

pytest.importorskip("milvus_lite")

GIFS = ["001-smile.gif", "009-loudly-crying.gif", "118-alien-monster.gif", "171-blood.gif", "509-droplet.gif"]
EXTRA = ["558-shark.gif", "621-baseball.gif"]


@pytest.fixture(scope="module")
def built(tmp_path_factory, shared_dir):
    """5 GIFs (+ one broken), indexed into faiss and into Milvus Lite with one feature cache (the CNN runs once)."""
    root = tmp_path_factory.mktemp("milvus-build")
    gallery = root / "gallery"
    (gallery / "sub").mkdir(parents=True)
    for i, name in enumerate(GIFS):
        shutil.copy(shared_dir / name, gallery / ("sub" if i == 4 else "") / name)
    (gallery / "broken.gif").write_bytes((shared_dir / GIFS[0]).read_bytes()[:2000])
    pipeline = tiny_pipeline(root / "weights", seed=0)
    common = dict(pipeline=pipeline, captions=shared_dir / "manifest.tsv", feature_cache=root / "cache", progress=False)
    build_index(gallery, root / "warm.index", **common)  # fills the cache: both builds below read float16 features
    build_index(gallery, root / "gallery.index", **common)
    location = f"milvus://{root}/gallery.db"
    report = build_index(gallery, location, **common)
    return dict(root=root, gallery=gallery, pipeline=pipeline, location=location, report=report,
                faiss=root / "gallery.index", common=common)


def test_milvus_index_answers_exactly_like_the_faiss_index(built):
    report = built["report"]
    assert (report.indexed, report.added, report.reused) == (5, 5, 0)
    assert [p for p, _ in report.failed] == ["broken.gif"] and "gallery.db" in report.summary()
    searcher = Searcher.load(built["location"], device="cpu")  # weights: the ones recorded at build time
    assert searcher.num_clips == 5 and searcher.fingerprint == built["pipeline"].fingerprint
    assert searcher.gallery_root == built["gallery"]
    assert_same_answers(searcher, Searcher(read_index(built["faiss"]), built["pipeline"]))
    hit = searcher.search("happy", top_k=1).hits[0]
    assert len(sampled_frames(searcher, hit.row)) == 4
    searcher.index.close()


def test_other_weights_get_the_faiss_mismatch_message(built):
    other = tiny_pipeline(built["root"] / "other-weights", seed=1)
    index = open_index(built["location"])
    with pytest.raises(GalleryIndexError, match="built with the weights") as info:
        Searcher(index, other)
    assert f"--out {built['location']}" in str(info.value) and "\n" not in str(info.value)
    index.close()


def test_rerun_adds_changes_deletes_and_renames_in_place(built, tmp_path, shared_dir, monkeypatch):
    gallery = tmp_path / "gallery"
    shutil.copytree(built["gallery"], gallery)
    location = f"milvus://{tmp_path}/g.db?collection=gifs"
    build_index(gallery, location, **built["common"])
    before = open_index(location)
    collection, ids = before.collection, stored_paths(before)
    before.close()

    (gallery / "broken.gif").unlink()
    shutil.copy(shared_dir / EXTRA[0], gallery / EXTRA[0])  # added
    shutil.copy(shared_dir / EXTRA[1], gallery / GIFS[1])  # changed content under an old name
    (gallery / GIFS[2]).unlink()  # deleted
    os.rename(gallery / GIFS[3], gallery / "renamed.gif")  # renamed: reused by content hash
    calls = count_cnn_frames(built["pipeline"], monkeypatch)
    report = build_index(gallery, location, pipeline=built["pipeline"], captions=shared_dir / "manifest.tsv",
                         progress=False)
    assert sum(calls) == 2 * 4  # only the added and the changed clip went through the CNN
    assert (report.added, report.changed, report.reused, report.removed, report.indexed) == (1, 1, 3, 2, 5)

    after = open_index(location)
    assert after.collection == collection and after.num_clips == 5  # updated in place
    paths = stored_paths(after)
    assert set(paths) == {GIFS[0], GIFS[1], EXTRA[0], "renamed.gif", "sub/" + GIFS[4]}
    assert paths[GIFS[0]] == ids[GIFS[0]] and paths[GIFS[1]] == ids[GIFS[1]]  # kept their clip ids
    # the same answers as a faiss index built from scratch on the changed gallery
    build_index(gallery, tmp_path / "fresh.index", **built["common"])
    assert_same_answers(Searcher(after, built["pipeline"]), Searcher(read_index(tmp_path / "fresh.index"),
                                                                     built["pipeline"]))
    after.close()
    again = build_index(gallery, location, pipeline=built["pipeline"], progress=False)
    assert (again.added, again.changed, again.removed, again.reused) == (0, 0, 0, 5)


def stored_paths(index):
    """{path: clip id} as stored in the gallery's collection."""
    return {row["path"]: row["clip"] for batch in index.store.iterate(index.collection, ["clip", "path"], "head == 0")
            for row in batch}


def test_new_weights_switch_collections_only_when_complete(built, tmp_path, monkeypatch):
    location = f"milvus://{tmp_path}/w.db"
    build_index(built["gallery"], location, **built["common"])
    first = open_index(location)
    old_collection = first.collection
    first.close()
    other = tiny_pipeline(tmp_path / "other-weights", seed=1)
    common = {**built["common"], "pipeline": other}

    # killed half-way through writing the new collection: the old gallery stays whole and searchable
    real_write, writes = MilvusStore.write, []

    def crash_after_first(self, collection, clips, upsert):
        if writes:
            raise KeyboardInterrupt
        writes.append(collection)
        real_write(self, collection, clips, upsert)

    monkeypatch.setattr(milvus_write, "WRITE_CLIPS", 2)
    monkeypatch.setattr(MilvusStore, "write", crash_after_first)
    with pytest.raises(KeyboardInterrupt):
        build_index(built["gallery"], location, **common)
    assert writes and writes[0] != old_collection
    monkeypatch.setattr(MilvusStore, "write", real_write)
    index = open_index(location)
    assert index.collection == old_collection and index.fingerprint == built["pipeline"].fingerprint
    assert index.num_clips == 5
    assert_same_answers(Searcher(index, built["pipeline"]), Searcher(read_index(built["faiss"]), built["pipeline"]))
    # a collection left by a build that was killed outright is dropped by the next build
    index.store.create_vectors("pvse_gallery__left_by_a_killed_build", 32, "flat", {})
    index.close()

    report = build_index(built["gallery"], location, **common)
    assert report.added == 5 and "other weights" in " ".join(report.notes)
    switched = open_index(location)
    assert switched.collection != old_collection and switched.fingerprint == other.fingerprint
    assert switched.store.build_collections() == [switched.collection]  # the old one and the orphan are gone
    Searcher(switched, other).search("happy")
    switched.store.drop(switched.collection)  # a collection dropped behind pvse's back: a one-line error
    switched.close()
    with pytest.raises(GalleryIndexError, match="is damaged \\(its collection .* is gone\\)"):
        open_index(location)


def test_approximate_kind_is_rebuilt_into_a_new_collection_and_rescored(built, tmp_path):
    location = f"milvus://{tmp_path}/k.db"
    build_index(built["gallery"], location, **built["common"])
    flat = open_index(location)
    flat_collection = flat.collection
    flat.close()
    report = build_index(built["gallery"], location, **built["common"], index_kind="hnsw")
    assert report.reused == 5 and report.encoded == 0  # vectors copied from the flat collection
    hnsw = open_index(location)
    assert hnsw.collection != flat_collection and hnsw.meta.vectors["index_type"] == "HNSW"
    assert_same_answers(Searcher(hnsw, built["pipeline"]), Searcher(read_index(built["faiss"]), built["pipeline"]))
    hnsw.close()
    with pytest.raises(GalleryIndexError, match="not available in Milvus"):
        build_index(built["gallery"], location, **built["common"], index_kind="flat-fp16")


def test_text_heads_answer_like_the_faiss_index(built, tmp_path):
    common = {**built["common"], "names": True}
    build_index(built["gallery"], tmp_path / "named.index", **common)
    location = f"milvus://{tmp_path}/named.db"
    build_index(built["gallery"], location, **common)
    index = open_index(location)
    assert (index.gif_heads, index.text_heads, index.num_embeds) == (3, 1, 4) and index.meta.layout.sources == ("name",)
    milvus, faiss = Searcher(index, built["pipeline"]), Searcher(read_index(tmp_path / "named.index"), built["pipeline"])
    assert_same_answers(milvus, faiss)
    for query in QUERIES:
        assert [h.matched_by for h in milvus.search(query, 5).hits] == [h.matched_by for h in faiss.search(query, 5).hits]
    collection = index.collection
    index.close()
    report = build_index(built["gallery"], location, **built["common"])  # pixels only again: a new collection
    assert report.reused == 5 and report.encoded == 0
    plain = open_index(location)
    assert plain.collection != collection and plain.text_heads == 0 and plain.num_embeds == 3
    assert_same_answers(Searcher(plain, built["pipeline"]), Searcher(read_index(built["faiss"]), built["pipeline"]))
    plain.close()


def test_pvse_index_environment_variable_may_name_a_milvus_gallery(built, monkeypatch):
    monkeypatch.setenv("PVSE_INDEX", built["location"])
    searcher = Searcher.load(weights=str(built["root"] / "weights"), device="cpu")
    assert searcher.index.directory == built["location"] and searcher.num_clips == 5
    searcher.index.close()
