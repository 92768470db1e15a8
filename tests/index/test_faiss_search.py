"""Faiss candidate search + exact re-scoring must equal brute-force max-over-K² over the whole gallery."""
import faiss
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pvse.index.faiss_search import build_vector_index, search_top_k
from pvse.index.kinds import INDEX_KINDS
from pvse.index.ranking import brute_force_top_k
from pvse.similarity import max_over_k2_scores
from tests.helpers.ranking import assert_same, reference, unit


@pytest.mark.parametrize("k, num_clips, top_k", [(1, 300, 10), (3, 500, 7), (5, 400, 20), (5, 50, 50), (2, 5, 3)])
def test_flat_search_equals_brute_force_on_random_data(k, num_clips, top_k):
    gallery = unit(num_clips, k, 16, seed=k * 1000 + num_clips)
    index, _ = build_vector_index(gallery.reshape(-1, 16).numpy(), "flat")
    for q in range(8):
        query = unit(k, 16, seed=q)
        # a small starting N' forces the enlarge-until-provably-exact loop to run
        top = search_top_k(query, gallery.numpy(), index, top_k, exact=True, candidates_per_head=2)
        assert top.exact
        assert_same(top, reference(query, gallery, top_k))
        assert_same(brute_force_top_k(query, gallery.numpy(), top_k), reference(query, gallery, top_k))


def test_clustered_query_near_a_clip_finds_it_first():
    gallery = unit(1000, 4, 32, seed=7)
    index, _ = build_vector_index(gallery.reshape(-1, 32).numpy(), "flat")
    query = F.normalize(gallery[123] + 0.05 * unit(4, 32, seed=8), dim=-1)
    top = search_top_k(query, gallery.numpy(), index, 10, exact=True, candidates_per_head=8)
    assert top.rows[0] == 123
    assert top.candidates < 1000  # found without scoring every clip
    assert_same(top, reference(query, gallery, 10))


@pytest.mark.parametrize("top_k", [10, 25])
def test_ties_are_broken_by_row_like_brute_force(top_k):
    # one-hot vectors: every inner product is exactly 0 or 1, so scores tie massively
    eye = torch.eye(6)
    gallery = torch.stack([eye[[r % 6, (r * 5 + 1) % 6, 2]] for r in range(60)])  # (60, 3, 6)
    gallery[10:20] = gallery[3]  # exact duplicate clips
    index, _ = build_vector_index(gallery.reshape(-1, 6).numpy(), "flat")
    for query in (eye[[0, 3, 3]], eye[[5, 5, 5]], eye[[4, 1, 0]]):
        ref = reference(query, gallery, top_k)
        top = search_top_k(query, gallery.numpy(), index, top_k, exact=True, candidates_per_head=1)
        assert_same(top, ref)
        assert ref[1].count(1.0) > 1  # the case really has ties


def test_top_k_is_capped_and_single_clip_works():
    gallery = unit(1, 1, 8, seed=1)
    index, _ = build_vector_index(gallery.reshape(-1, 8).numpy(), "flat")
    top = search_top_k(unit(1, 8, seed=2), gallery.numpy(), index, 10)
    assert top.rows.tolist() == [0] and top.query_heads.tolist() == [0] and top.clip_heads.tolist() == [0]


@pytest.mark.parametrize("kind", [k for k in INDEX_KINDS if k != "flat"])
def test_approximate_kinds_build_and_rescore_exactly(kind):
    gallery = unit(800, 3, 32, seed=11)
    index, params = build_vector_index(gallery.reshape(-1, 32).numpy(), kind)
    assert index.ntotal == 2400
    hits = 0
    for q in range(10):
        query = F.normalize(gallery[q * 79] + 0.1 * unit(3, 32, seed=100 + q), dim=-1)
        top = search_top_k(query, gallery.numpy(), index, 10, exact=False,
                            candidates_per_head=params["candidates_per_head"])
        exact = reference(query, gallery, 10)
        # every returned score is the exact max-over-K² score of that clip
        rows = torch.as_tensor(top.rows)
        np.testing.assert_allclose(top.scores, max_over_k2_scores(query[None], gallery[rows]).scores[0], atol=1e-6)
        assert np.all(np.diff(top.scores) <= 0)
        hits += len(set(top.rows.tolist()) & set(exact[0]))
    assert hits / 100 >= 0.8  # recall@10 on clustered queries (measured at scale in benchmarks/)


def test_index_parameters_derive_from_what_is_given():
    from pvse.errors import GalleryIndexError
    from pvse.index.kinds import default_params
    assert default_params("ivf-pq", 5_000_000, 512, {"nlist": 1024}) == {
        "nlist": 1024, "nprobe": 128, "pq_m": 64, "candidates_per_head": 256}
    assert default_params("ivf", 100, 8)["nlist"] == 2  # >= 39 training vectors per list
    with pytest.raises(GalleryIndexError, match="do not apply"):
        default_params("flat", 10, 8, {"nlist": 4})
    with pytest.raises(GalleryIndexError, match="unknown index kind"):
        default_params("lsh", 10, 8)


def test_an_index_kind_is_one_entry(monkeypatch):
    """A kind added to the table is built, configured and searched with no other change; its knobs apply."""
    from pvse.index import faiss_search as fs
    from pvse.index import kinds
    kind = kinds.IndexKind("ivf-sq6", "IVF{nlist},SQ6", (kinds.NLIST, kinds.NPROBE, kinds.CANDIDATES), False,
                           "test kind")
    monkeypatch.setitem(kinds.KINDS, "ivf-sq6", kind)
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((300, 2, 16)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=-1, keepdims=True)
    index, params = build_vector_index(emb.reshape(-1, 16), "ivf-sq6", {"nprobe": 3})
    assert params == {"nlist": 15, "nprobe": 3, "candidates_per_head": 256}
    assert faiss.extract_index_ivf(index).nlist == 15 and faiss.extract_index_ivf(index).nprobe == 3
    fs.configure_search(index, {"nprobe": 5})
    assert faiss.extract_index_ivf(index).nprobe == 5
    query = torch.from_numpy(emb[7])
    top = search_top_k(query, emb, index, 5, exact=kinds.index_kind("ivf-sq6").exact, candidates_per_head=64)
    assert top.rows[0] == 7 and not top.exact
    assert kinds.factory_string("hnsw-fp16", kinds.default_params("hnsw-fp16", 10, 8)) == "HNSW32_SQfp16"
