"""A third gallery backend, written here in one file against the `GalleryBackend` contract (a toy that keeps each
gallery in memory), registered and used by the build, the searcher and the CLI like faiss and Milvus: it answers
exactly like the faiss index of the same gallery, reruns reuse clips the same way, and hub scores work."""
import shutil
from pathlib import Path

import pytest

from pvse.build import build_index
from pvse.errors import GalleryIndexError
from pvse.index import read_index
from pvse.index.backend import BuiltGallery, Target, register_backend, unregister_backend
from pvse.index.kinds import KINDS
from pvse.index.meta import MetaView
from pvse.index.ranking import brute_force_top_k
from pvse.search import Searcher
from tests.helpers.models import tiny_pipeline
from tests.helpers.ranking import assert_same_answers

GIFS = ["001-smile.gif", "009-loudly-crying.gif", "118-alien-monster.gif", "171-blood.gif", "509-droplet.gif"]
GALLERIES: dict[str, BuiltGallery] = {}


class MemoryGallery(MetaView):
    """A gallery kept in this process: the arrays the build handed over, searched by brute force."""

    def __init__(self, location: str, built: BuiltGallery) -> None:
        self.directory, self.meta = location, built.meta
        self.clips, self.embeddings, self.attention = built.records, built.embeddings, built.attention
        self.frame_indices, self.hub_scores = built.frame_indices, built.hub_scores

    num_clips = property(lambda self: len(self.clips))
    gallery_root = property(lambda self: Path(self.meta.gallery_root))

    def weights_ref(self):
        return self.meta.weights.ref

    def prepare_search(self, scan_below=None):
        pass

    def top_k(self, query, top_k):
        return brute_force_top_k(query, self.embeddings, top_k)

    def clip_paths(self):
        return ((row, clip.path) for row, clip in enumerate(self.clips))

    def records(self):
        return enumerate(self.clips)

    def stored(self, rows):
        from pvse.index.records import StoredClip
        return {r: StoredClip(self.clips[r], self.embeddings[r], self.attention[r], self.frame_indices[r]) for r in rows}

    def close(self):
        pass


class MemoryBackend:
    name, title, kinds = "memory", "memory", {"flat": KINDS["flat"]}

    def claims(self, location):
        return isinstance(location, str) and location.startswith("memory://")

    def open(self, location):
        if location not in GALLERIES:
            raise GalleryIndexError(f"no gallery at {location}")
        return MemoryGallery(location, GALLERIES[location])

    def target(self, location, gallery_root):
        return Target(location, location)

    def existing_vectors(self, target):
        return dict(GALLERIES[target.location].meta.vectors) if target.location in GALLERIES else {}

    def previous(self, target):
        return self.open(target.location) if target.location in GALLERIES else None

    def write(self, target, built, previous):
        GALLERIES[target.location] = built


@pytest.fixture(scope="module")
def built(tmp_path_factory, shared_dir):
    register_backend(MemoryBackend())
    root = tmp_path_factory.mktemp("memory-backend")
    gallery = root / "gallery"
    gallery.mkdir()
    for name in GIFS:
        shutil.copy(shared_dir / name, gallery / name)
    pipeline = tiny_pipeline(root / "w")
    common = dict(pipeline=pipeline, captions=shared_dir / "manifest.tsv", feature_cache=root / "cache", progress=False)
    build_index(gallery, root / "warm.index", **common)  # fills the cache: both builds below read float16 features
    build_index(gallery, root / "gallery.index", **common)
    report = build_index(gallery, "memory://gallery", **common)
    yield dict(root=root, gallery=gallery, pipeline=pipeline, report=report, common=common)
    unregister_backend("memory")
    GALLERIES.clear()


def test_a_backend_written_in_one_file_answers_like_faiss(built):
    assert (built["report"].indexed, built["report"].added, built["report"].index_dir) == (5, 5, "memory://gallery")
    searcher = Searcher.load("memory://gallery", weights=str(built["root"] / "w"), device="cpu")
    faiss = Searcher(read_index(built["root"] / "gallery.index"), built["pipeline"])
    assert searcher.num_clips == 5 and searcher.gallery_root == built["gallery"]
    assert_same_answers(searcher, faiss)
    for weight in (0.5, 2.0):  # hub scores are kept by every backend
        got = searcher.search("happy", top_k=3, hub_correction=weight)
        assert [h.path for h in got.hits] == [h.path for h in faiss.search("happy", 3, hub_correction=weight).hits]


def test_rerun_reuses_by_content_like_faiss(built, tmp_path, shared_dir):
    gallery = tmp_path / "gallery"
    shutil.copytree(built["gallery"], gallery)
    location = "memory://rerun"
    build_index(gallery, location, **built["common"])
    (gallery / GIFS[2]).unlink()
    (gallery / GIFS[3]).rename(gallery / "renamed.gif")
    shutil.copy(shared_dir / "558-shark.gif", gallery / GIFS[1])  # new content under an old name
    build_index(gallery, tmp_path / "warm.index", **built["common"])  # its features cached, as both builds read them
    report = build_index(gallery, location, **built["common"])
    assert (report.added, report.changed, report.reused, report.removed, report.indexed) == (0, 1, 3, 2, 4)
    build_index(gallery, tmp_path / "fresh.index", **built["common"])
    assert_same_answers(Searcher.load(location, weights=str(built["root"] / "w"), device="cpu"),
                        Searcher(read_index(tmp_path / "fresh.index"), built["pipeline"]))
    with pytest.raises(GalleryIndexError, match="not available in memory"):
        build_index(gallery, location, **built["common"], index_kind="hnsw")
