"""Index real GIFs with a tiny random-init model, then search: round trip, incremental updates, bad files,
interrupted builds, weights mismatch and awkward queries. The CNN (real EfficientNet-Lite0) runs on few frames."""

import functools
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import pvse.build
from demo.clip_frames import sampled_frames
from pvse.checkpoints import load_checkpoint
from pvse.errors import GalleryIndexError, MediaError, QueryError
from pvse.index import faiss_backend, read_index
from pvse.index.ranking import brute_force_top_k
from pvse.media import MediaLimits, decode_clip, sample_frame_indices
from pvse.pipeline import PVSEPipeline
from pvse.search import Searcher
from pvse.similarity import max_over_k2_scores
from tests.helpers.models import count_cnn_frames, tiny_checkpoint

# These tests are about the frame index: names (matched by default) are left out unless a test asks for them.
build_index = functools.partial(pvse.build.build_index, names=False)

REPO_ROOT = Path(__file__).resolve().parents[2]
GIFS = ["001-smile.gif", "009-loudly-crying.gif", "118-alien-monster.gif", "171-blood.gif", "509-droplet.gif"]
EXTRA = ["558-shark.gif", "621-baseball.gif"]


@pytest.fixture(scope="module")
def built(tmp_path_factory, shared_dir):
    """A 5-GIF gallery (+ a truncated, an empty, a fake, a too-big and a non-media file) indexed once."""
    root = tmp_path_factory.mktemp("idx")
    gallery = root / "gallery"
    (gallery / "sub").mkdir(parents=True)
    for i, name in enumerate(GIFS):
        shutil.copy(shared_dir / name, gallery / ("sub" if i == 4 else "") / name)
    data = (shared_dir / GIFS[0]).read_bytes()
    (gallery / "broken.gif").write_bytes(data[: len(data) // 3])
    (gallery / "empty.gif").write_bytes(b"")
    (gallery / "fake.gif").write_text("this is not a GIF at all")
    (gallery / "notes.txt").write_text("not media")
    (gallery / "huge.gif").write_bytes(data * (512 * 1024 // len(data) + 2))  # over the 512 kB limit given below
    weights = tiny_checkpoint(root / "weights", seed=0)
    pipeline = PVSEPipeline(load_checkpoint(weights, device="cpu"), "cpu")
    report = build_index(gallery, root / "gallery.index", pipeline=pipeline, captions=shared_dir / "manifest.tsv",
                         feature_cache=root / "cache", limits=MediaLimits(max_file_bytes=512 * 1024), progress=False)
    return dict(root=root, gallery=gallery, weights=weights, pipeline=pipeline, report=report,
                index_dir=root / "gallery.index")


@pytest.fixture(scope="module")
def searcher(built):
    return Searcher(read_index(built["index_dir"]), built["pipeline"])


def test_report_lists_every_bad_file_with_its_reason(built):
    report = built["report"]
    assert report.indexed == 5 and report.added == 5 and report.reused == 0
    failed = dict(report.failed)
    assert set(failed) == {"broken.gif", "empty.gif", "fake.gif", "huge.gif"}
    assert "over the limit" in failed["huge.gif"]
    assert "truncated" in failed["broken.gif"] or "corrupt" in failed["broken.gif"]
    assert "empty" in failed["empty.gif"]
    assert dict(report.skipped)["notes.txt"].startswith("not a media file")
    text = report.summary()
    assert "indexed 5 clips" in text and "broken.gif" in text and "notes.txt" in text


def test_index_contents_match_a_fresh_encoding(built):
    index = read_index(built["index_dir"])
    assert [c.path for c in index.clips] == sorted(GIFS[:4]) + ["sub/" + GIFS[4]]
    assert index.embeddings.shape == (5, 3, 32) and index.attention.shape == (5, 3, 4)
    assert index.vectors.ntotal == 15 and index.fingerprint == built["pipeline"].fingerprint
    np.testing.assert_allclose(np.linalg.norm(index.embeddings, axis=-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(index.attention.sum(-1), 1.0, atol=1e-5)
    smile = index.clips[0]
    assert smile.name == "Smile" and smile.metadata["cldr_name"] == "grinning face"
    assert index.frame_indices[0].tolist() == sample_frame_indices(smile.num_source_frames, 4)
    # independent path: decode + CNN + encoder for one clip gives the stored embedding and attention
    pipeline = built["pipeline"]
    clip = decode_clip(built["gallery"] / smile.path, num_frames=4)
    out = pipeline.encode_frame_features(pipeline.frame_extractor.extract(clip.frames)[None])
    np.testing.assert_allclose(out.embeddings[0].numpy(), index.embeddings[0], atol=1e-4)
    np.testing.assert_allclose(out.attention[0].numpy(), index.attention[0], atol=1e-4)
    meta = json.loads((built["index_dir"] / "index.json").read_text())
    assert meta["gallery_root"] == "../gallery" and meta["weights"]["ref"] == "../weights"  # relative: the pair can move


def test_search_round_trip(searcher, built):
    started = time.perf_counter()
    result = searcher.search("my reaction when I laugh so hard I cry", top_k=10)
    wall_ms = (time.perf_counter() - started) * 1000
    assert result.message is None and len(result.hits) == 5  # top_k capped to the gallery
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True) and [h.rank for h in result.hits] == [1, 2, 3, 4, 5]
    # scores and head pairs equal brute-force max-over-K² of the encoded query against every stored clip
    query = built["pipeline"].encode_text([result.query]).embeddings
    brute = max_over_k2_scores(query, torch.from_numpy(searcher.index.embeddings))
    for hit in result.hits:
        assert hit.score == pytest.approx(float(brute.scores[0, hit.row]), abs=1e-6)
        assert (hit.query_head, hit.clip_head) == (int(brute.query_head[0, hit.row]), int(brute.gallery_head[0, hit.row]))
        assert hit.head_similarities.shape == (3, 3)
        assert hit.head_similarities.max() == pytest.approx(hit.score, abs=1e-5)
        assert hit.abs_path.is_file() and hit.abs_path.is_relative_to(built["gallery"].resolve())
        assert hit.frame_attention.shape == (3, 4) and len(hit.frame_indices) == 4
    assert result.word_attention.shape == (3, len(result.tokens)) and len(result.token_known) == len(result.tokens)
    assert result.tokens[:3] == ["my", "reaction", "when"] and all(result.token_known)
    assert 0 < result.elapsed_ms <= wall_ms  # the search's own time, in milliseconds, within the call's


def test_a_clips_own_embedding_finds_it_first(searcher):
    for row in range(searcher.num_clips):
        top = searcher.search_embeddings(torch.from_numpy(searcher.index.embeddings[row].copy()), top_k=3)
        assert top.rows[0] == row and top.scores[0] == pytest.approx(1.0, abs=1e-5)
        assert top.exact


def test_sampled_frames_decode_the_clip(searcher):
    frames = sampled_frames(searcher, 0)
    assert len(frames) == 4 and frames[0].ndim == 3 and frames[0].dtype == np.uint8


@pytest.mark.parametrize("query", ["", "   ", "\t\n"])
def test_empty_queries_raise_a_friendly_query_error(searcher, query):
    with pytest.raises(QueryError, match="empty"):
        searcher.search(query)


@pytest.mark.parametrize("query, expect_hits, note", [
    pytest.param("qwxzvb blorptastic", False, "None of the words", id="no-known-word"),
    pytest.param("猫が好き", False, "None of the words", id="non-latin"),
    pytest.param("😂", True, "face with tears of joy", id="emoji-only"),
    pytest.param("🇫🇷", False, "no words", id="flag-only"),
    pytest.param("so happy " * 12_000, True, "very long", id="100kB"),
    pytest.param("happy qwxzvb", True, "'qwxzvb'", id="one-unknown-word"),
])
def test_awkward_queries_get_an_answer_not_a_traceback(searcher, query, expect_hits, note):
    result = searcher.search(query, top_k=3)
    assert bool(result.hits) == expect_hits
    assert note in result.message
    assert result.word_attention.shape[0] == 3


def test_top_k_is_capped_to_at_least_one(searcher):
    threads = torch.get_num_threads()
    assert len(searcher.search("happy", top_k=0).hits) == 1
    assert torch.get_num_threads() == threads  # the single-threaded query does not leak its setting
    assert len(searcher.search("happy", top_k=10**9).hits) == 5


def test_exhaustive_and_faiss_paths_agree(searcher, built):
    query = searcher.pipeline.encode_text(["a big happy grin"]).embeddings[0]
    via_faiss = Searcher(read_index(built["index_dir"]), built["pipeline"], exhaustive_below=0)
    assert via_faiss.index.uses_faiss and not searcher.index.uses_faiss
    for top_k in (1, 3, 5):
        got = via_faiss.search_embeddings(query, top_k)
        brute = brute_force_top_k(query, searcher.index.embeddings, top_k)
        assert got.rows.tolist() == brute.rows.tolist()
        assert got.query_heads.tolist() == brute.query_heads.tolist() and got.clip_heads.tolist() == brute.clip_heads.tolist()
        np.testing.assert_allclose(got.scores, brute.scores, atol=1e-6)
    result = via_faiss.search("a big happy grin", top_k=5)
    assert [h.row for h in result.hits] == brute_force_top_k(query, searcher.index.embeddings, 5).rows.tolist()


def copy_built(built, tmp_path):
    shutil.copytree(built["gallery"], tmp_path / "gallery")
    shutil.copytree(built["index_dir"], tmp_path / "gallery.index")
    (tmp_path / "gallery" / "huge.gif").unlink()  # only too big for the fixture's limits
    return tmp_path / "gallery", tmp_path / "gallery.index"


def test_incremental_rerun_encodes_only_new_and_changed_clips(built, tmp_path, shared_dir, monkeypatch):
    gallery, index_dir = copy_built(built, tmp_path)
    before = read_index(index_dir)
    for bad in ("broken.gif", "empty.gif", "fake.gif"):
        (gallery / bad).unlink()
    shutil.copy(shared_dir / EXTRA[0], gallery / EXTRA[0])  # added
    shutil.copy(shared_dir / EXTRA[1], gallery / GIFS[1])  # changed content under an old name
    (gallery / GIFS[2]).unlink()  # deleted
    os.rename(gallery / GIFS[3], gallery / "renamed.gif")  # renamed: reused by content hash
    calls = count_cnn_frames(built["pipeline"], monkeypatch)
    report = build_index(gallery, index_dir, pipeline=built["pipeline"], progress=False)
    assert sum(calls) == 2 * 4  # only the added and the changed clip went through the CNN
    assert (report.added, report.changed, report.reused, report.removed) == (1, 1, 3, 2)
    after = read_index(index_dir)
    assert [c.path for c in after.clips] == sorted([GIFS[0], GIFS[1], EXTRA[0], "renamed.gif"]) + ["sub/" + GIFS[4]]
    old = {c.path: i for i, c in enumerate(before.clips)}
    new = {c.path: i for i, c in enumerate(after.clips)}
    np.testing.assert_array_equal(after.embeddings[new[GIFS[0]]], before.embeddings[old[GIFS[0]]])
    np.testing.assert_array_equal(after.embeddings[new["renamed.gif"]], before.embeddings[old[GIFS[3]]])
    assert after.clips[new["renamed.gif"]].name == before.clips[old[GIFS[3]]].name  # captions kept
    assert after.clips[new[GIFS[1]]].content_hash != before.clips[old[GIFS[1]]].content_hash
    assert not np.allclose(after.embeddings[new[GIFS[1]]], before.embeddings[old[GIFS[1]]])
    assert after.vectors.ntotal == 15
    assert after.hub_scores[new["renamed.gif"]] == before.hub_scores[old[GIFS[3]]]  # kept for reused clips
    # nothing changed -> nothing encoded (no frame, and no reference sentence for the hub scores), same index
    calls.clear()
    monkeypatch.setattr(built["pipeline"], "encode_text", lambda texts: pytest.fail("the text encoder ran"))
    again = build_index(gallery, index_dir, pipeline=built["pipeline"], progress=False)
    assert sum(calls) == 0 and again.reused == 5 and again.encoded == 0
    np.testing.assert_array_equal(read_index(index_dir).hub_scores, after.hub_scores)


def test_interrupted_build_leaves_the_previous_index_usable(built, tmp_path, shared_dir, monkeypatch):
    gallery, index_dir = copy_built(built, tmp_path)
    shutil.copy(shared_dir / EXTRA[0], gallery / EXTRA[0])

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(faiss_backend, "build_vector_index", crash)  # after encoding, in the writer
    with pytest.raises(KeyboardInterrupt):
        build_index(gallery, index_dir, pipeline=built["pipeline"], feature_cache=built["root"] / "cache",
                    progress=False)
    survivor = Searcher(read_index(index_dir), built["pipeline"])
    assert survivor.num_clips == 5 and len(survivor.search("happy").hits) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gallery", "gallery.index"]


KILLED_AT_SWAP = """
import os, sys
from pvse.build import build_index

rename = os.replace
def replace(src, dst, *args, **kwargs):
    if ".gallery.index.tmp-" in str(src):  # the new index about to be renamed in, the old one already aside
        os._exit(77)  # SIGKILL: no clean-up runs
    return rename(src, dst, *args, **kwargs)
os.replace = replace
build_index(sys.argv[1], sys.argv[2], weights=sys.argv[3], feature_cache=sys.argv[4], progress=False, names=False)
"""


def test_a_build_killed_between_the_renames_of_its_swap_loses_no_work(built, tmp_path, shared_dir):
    gallery, index_dir = copy_built(built, tmp_path)
    shutil.copy(shared_dir / EXTRA[0], gallery / EXTRA[0])
    cache = built["root"] / "cache"
    proc = subprocess.run([sys.executable, "-c", KILLED_AT_SWAP, str(gallery), str(index_dir), str(built["weights"]),
                           str(cache)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert proc.returncode == 77, proc.stderr
    assert not index_dir.exists()  # the moment the old index is aside and the new one not yet in
    report = build_index(gallery, index_dir, pipeline=built["pipeline"], feature_cache=cache, progress=False)
    assert report.reused == 6 and report.encoded == 0  # the killed build's complete index came back and is reused
    assert Searcher(read_index(index_dir), built["pipeline"]).num_clips == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gallery", "gallery.index"]


def test_other_weights_are_a_clear_error_and_a_rebuild(built, tmp_path):
    other = tiny_checkpoint(tmp_path / "other-weights", seed=1)
    with pytest.raises(GalleryIndexError, match=r"built with the weights .*weights .*pvse index .*--weights"):
        Searcher.load(built["index_dir"], weights=str(other), device="cpu")
    # building over an index made with other weights re-encodes everything (frame features come from the cache)
    gallery, index_dir = copy_built(built, tmp_path)
    other_pipeline = PVSEPipeline(load_checkpoint(other, device="cpu"), "cpu")
    report = build_index(gallery, index_dir, pipeline=other_pipeline, feature_cache=built["root"] / "cache",
                         progress=False)
    assert report.reused == 0 and report.encoded == 5 and "other weights" in report.notes[0]
    assert read_index(index_dir).fingerprint == other_pipeline.fingerprint


def test_load_uses_the_recorded_weights(built):
    loaded = Searcher.load(built["index_dir"], device="cpu")
    assert loaded.fingerprint == built["pipeline"].fingerprint
    assert loaded.gallery_root == built["gallery"].resolve()
    assert loaded.index.vectors is None  # a flat index is scanned exhaustively: the faiss copy stays on disk


def test_a_clip_swapped_for_a_link_outside_the_gallery_is_not_served(built, tmp_path):
    gallery, index_dir = copy_built(built, tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    (gallery / GIFS[0]).unlink()
    (gallery / GIFS[0]).symlink_to(secret)
    searcher = Searcher(read_index(index_dir), built["pipeline"])
    result = searcher.search("happy", top_k=5)
    assert len(result.hits) == 4 and "outside the gallery" in result.message
    assert all(h.path != GIFS[0] for h in result.hits)
    with pytest.raises(GalleryIndexError, match="outside the gallery"):
        sampled_frames(searcher, 0)
    (gallery / GIFS[0]).unlink()
    with pytest.raises(MediaError, match="no longer in the gallery"):
        sampled_frames(searcher, 0)


def test_gallery_without_clips_is_a_clear_error(built, tmp_path):
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "readme.txt").write_text("x")
    with pytest.raises(GalleryIndexError, match="no clip to index"):
        build_index(tmp_path / "g", tmp_path / "g.index", pipeline=built["pipeline"], progress=False)
    assert not (tmp_path / "g.index").exists()


def test_approximate_index_kind_is_kept_across_reruns(built, tmp_path):
    gallery, index_dir = copy_built(built, tmp_path)
    report = build_index(gallery, index_dir, pipeline=built["pipeline"], index_kind="hnsw", progress=False)
    assert report.reused == 5 and report.encoded == 0  # a new faiss index over the same embeddings
    searcher = Searcher.load(index_dir, device="cpu")
    assert searcher.meta.kind == "hnsw" and not searcher.meta.vectors["exact"]
    assert searcher.index.vectors.ntotal == 15
    for row in range(5):
        top = searcher.search_embeddings(torch.from_numpy(searcher.index.embeddings[row].copy()), 2)
        assert top.rows[0] == row and not top.exact
    build_index(gallery, index_dir, pipeline=built["pipeline"], progress=False)
    assert read_index(index_dir).meta.kind == "hnsw"
    build_index(gallery, index_dir, pipeline=built["pipeline"], rebuild=True, feature_cache=built["root"] / "cache",
                progress=False, index_params=None)
    assert read_index(index_dir).meta.kind == "hnsw"  # --rebuild re-encodes, keeps the kind
    with pytest.raises(GalleryIndexError, match="do not apply"):
        build_index(gallery, index_dir, pipeline=built["pipeline"], index_kind="flat", index_params={"nlist": 4})


def test_index_stores_hub_scores_and_zero_correction_changes_nothing(searcher, built):
    from pvse.index.hubness import hub_scores, reference_sentences
    index = searcher.index
    reference = built["pipeline"].encode_text(list(reference_sentences())).embeddings
    np.testing.assert_allclose(index.hub_scores, hub_scores(reference, np.asarray(index.embeddings)), atol=1e-5)
    plain, zero = searcher.search("laughing smile", top_k=5), searcher.search("laughing smile", top_k=5,
                                                                               hub_correction=0.0)
    assert [(h.row, h.score) for h in plain.hits] == [(h.row, h.score) for h in zero.hits]


def test_hub_correction_sinks_a_planted_hub_and_keeps_the_explained_score(built, tmp_path):
    index = read_index(built["index_dir"])
    plain = Searcher(index, built["pipeline"]).search("laughing smile", top_k=5)
    top = plain.hits[0].row
    index.hub_scores = np.zeros(index.num_clips, np.float32)
    index.hub_scores[top] = 1.0  # the first hit becomes the one hub, the others alike
    fixed = Searcher(index, built["pipeline"]).search("laughing smile", top_k=5, hub_correction=0.5)
    assert [h.row for h in fixed.hits] == [h.row for h in plain.hits[1:]] + [top]  # last, the rest in order
    assert {h.row: h.score for h in fixed.hits} == {h.row: h.score for h in plain.hits}  # scores stay eq. 6


def test_hub_correction_on_an_index_without_hub_scores_says_rebuild(built, tmp_path):
    gallery, index_dir = copy_built(built, tmp_path)
    (index_dir / "hub_scores.npy").unlink()
    searcher = Searcher(read_index(index_dir), built["pipeline"])
    assert searcher.search("laughing", top_k=3).hits  # an older index still searches ...
    with pytest.raises(GalleryIndexError, match="no hub scores.*rebuild it with `pvse index"):
        searcher.search("laughing", top_k=3, hub_correction=0.5)  # ... but cannot correct hubs
