"""Text heads: a clip's name or caption, embedded by the sentence encoder, joins its GIF heads in the one
max-over-K² score. Bundled emoji GIFs under made-up names, a tiny random-init model, the real CNN on 4 frames."""
import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from pvse.checkpoints import load_checkpoint, save_checkpoint
from pvse.cli import main
from pvse.config import PVSEConfig
from pvse.index import Searcher, build_index, read_index
from pvse.index.faiss_search import brute_force_top_k
from pvse.model import PVSE
from pvse.pipeline import PVSEPipeline
from pvse.similarity import max_over_k2_scores

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_GALLERY = REPO_ROOT / "gallery" / "noto-emoji"

CONFIG = dict(num_embeds=3, embed_dim=32, frame_features="efficientnet-lite0", frame_dim=1280,
              word_features="glove-6b-50d", word_dim=50, num_frames=4)
FILES = {"reactions/annoyed/eye-roll.gif": "001-smile.gif", "reactions/sad/loudly-crying.gif": "009-loudly-crying.gif",
         "slowClap_2.gif": "005-laughing.gif", "IMG_0001.gif": "118-alien-monster.gif",
         "party-time.gif": "140-party-popper.gif"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("text-heads")
    gallery = root / "gifs"
    for rel, source in FILES.items():
        (gallery / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(BUNDLED_GALLERY / source, gallery / rel)
    torch.manual_seed(0)
    weights = save_checkpoint(PVSE(PVSEConfig(**CONFIG)).eval(), root / "weights")
    pipeline = PVSEPipeline(load_checkpoint(weights, device="cpu"), "cpu")
    common = dict(pipeline=pipeline, feature_cache=root / "cache", progress=False)
    build_index(gallery, root / "pixels.index", **common)
    build_index(gallery, root / "names.index", names_as_captions=True, **common)
    return dict(root=root, gallery=gallery, weights=weights, pipeline=pipeline, common=common,
                pixels=read_index(root / "pixels.index"), names=read_index(root / "names.index"))


def test_pixels_only_is_the_default(setup):
    index = setup["pixels"]
    assert index.text_heads == 0 and index.gif_heads == 3 and index.embeddings.shape == (5, 3, 32)
    assert all(c.name is None for c in index.clips)


def test_names_become_captions_and_text_heads_follow_the_gif_heads(setup):
    index = setup["names"]
    names = {c.path: c.name for c in index.clips}
    assert names == {"IMG_0001.gif": None, "party-time.gif": "party time", "reactions/annoyed/eye-roll.gif":
                     "eye roll (annoyed)", "reactions/sad/loudly-crying.gif": "loudly crying (sad)",
                     "slowClap_2.gif": "slow clap"}
    assert index.text_heads == 3 and index.gif_heads == 3 and index.embeddings.shape == (5, 6, 32)
    assert index.vectors.ntotal == 30 and index.attention.shape == (5, 3, 4)
    # the GIF heads are the pixels-only index's; the text heads are the sentence encoder's embedding of the name
    np.testing.assert_allclose(index.embeddings[:, :3], setup["pixels"].embeddings, atol=1e-3)  # cached features
    row = [c.path for c in index.clips].index("slowClap_2.gif")
    text = setup["pipeline"].encode_text(["slow clap"]).embeddings[0].numpy()
    np.testing.assert_allclose(index.embeddings[row, 3:], text, atol=1e-5)
    # a clip without words repeats its GIF heads there
    img = [c.path for c in index.clips].index("IMG_0001.gif")
    np.testing.assert_array_equal(index.embeddings[img, 3:], index.embeddings[img, :3])


def test_a_query_naming_a_clip_finds_it_by_its_name(setup):
    searcher = Searcher(setup["names"], setup["pipeline"])
    result = searcher.search("loudly crying (sad)", top_k=5)
    top = result.hits[0]
    assert top.path == "reactions/sad/loudly-crying.gif" and top.score == pytest.approx(1.0, abs=1e-5)
    assert top.clip_head >= 3 and top.matched_by == "its name"
    assert top.head_similarities.shape == (3, 6)
    no_words = next(h for h in result.hits if h.path == "IMG_0001.gif")
    assert no_words.matched_by.startswith("GIF head") and no_words.head_similarities.shape == (3, 3)


def test_a_clip_without_words_scores_as_in_the_pixels_only_index(setup):
    pixels, names = Searcher(setup["pixels"], setup["pipeline"]), Searcher(setup["names"], setup["pipeline"])
    row = [c.path for c in names.index.clips].index("IMG_0001.gif")
    for query in ("my reaction when the build is green", "so sad", "party"):
        a = {h.path: (h.score, h.clip_head) for h in pixels.search(query, top_k=5).hits}
        b = {h.path: (h.score, h.clip_head) for h in names.search(query, top_k=5).hits}
        assert b["IMG_0001.gif"][1] == a["IMG_0001.gif"][1] and names.index.clips[row].name is None
        assert b["IMG_0001.gif"][0] == pytest.approx(a["IMG_0001.gif"][0], abs=1e-3)  # (cached frame features)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_flat_faiss_search_with_text_heads_equals_brute_force(setup, kind):
    """The candidate / re-score path sees the text vectors: exact for flat, exactly re-scored for hnsw."""
    build_index(setup["gallery"], setup["root"] / f"names-{kind}.index", names_as_captions=True, index_kind=kind,
                **setup["common"])
    index = read_index(setup["root"] / f"names-{kind}.index")
    searcher = Searcher(index, setup["pipeline"], exhaustive_below=0)  # always through faiss
    queries = ["eye roll", "loudly crying", "my reaction when the party starts", "slow clap", "alien"]
    embeddings = setup["pipeline"].encode_text(queries).embeddings
    for query in embeddings:
        got = searcher.search_embeddings(query, top_k=3)
        ref = brute_force_top_k(query, index.embeddings, 3)
        assert got.rows.tolist() == ref.rows.tolist() and got.clip_heads.tolist() == ref.clip_heads.tolist()
        np.testing.assert_allclose(got.scores, ref.scores, atol=1e-6)
        if kind == "flat":
            assert got.exact
    brute = max_over_k2_scores(embeddings, torch.from_numpy(np.asarray(index.embeddings)))
    assert (brute.gallery_head[0] >= 3).any()  # some text head wins somewhere: the test is not vacuous


def test_a_renamed_file_gets_its_new_name_and_a_pixels_rerun_drops_names(setup, tmp_path):
    gallery = tmp_path / "gifs"
    shutil.copytree(setup["gallery"], gallery)
    out = tmp_path / "g.index"
    build_index(gallery, out, names_as_captions=True, **setup["common"])
    (gallery / "party-time.gif").rename(gallery / "big-celebration.gif")
    report = build_index(gallery, out, names_as_captions=True, **setup["common"])
    assert report.reused == 5
    index = read_index(out)
    clip = next(c for c in index.clips if c.path == "big-celebration.gif")
    assert clip.name == "big celebration" and clip.name_from_path
    row = [c.path for c in index.clips].index("big-celebration.gif")
    text = setup["pipeline"].encode_text(["big celebration"]).embeddings[0].numpy()
    np.testing.assert_allclose(index.embeddings[row, 3:], text, atol=1e-5)
    build_index(gallery, out, **setup["common"])  # without the option: pixels only again, no made-up names
    index = read_index(out)
    assert index.text_heads == 0 and index.embeddings.shape == (5, 3, 32) and all(c.name is None for c in index.clips)


def test_captions_file_words_become_text_heads_on_request(setup, tmp_path):
    captions = tmp_path / "captions.tsv"
    captions.write_text("file\tcaption\nIMG_0001.gif\ta little green alien waving\n", encoding="utf-8")
    out = tmp_path / "c.index"
    build_index(setup["gallery"], out, captions=captions, text_heads=True, **setup["common"])
    searcher = Searcher(read_index(out), setup["pipeline"])
    top = searcher.search("a little green alien waving", top_k=1).hits[0]
    assert top.path == "IMG_0001.gif" and top.matched_by == "its caption"


def test_cli_names_as_captions_and_json_says_what_matched(setup, tmp_path, capsys):
    out = tmp_path / "cli.index"
    with contextlib.redirect_stderr(io.StringIO()):
        assert main(["index", str(setup["gallery"]), "--out", str(out), "--weights", str(setup["weights"]),
                     "--device", "cpu", "--quiet", "--names-as-captions"]) == 0
        capsys.readouterr()
        assert main(["search", "slow clap", "--index", str(out), "--json", "--top-k", "2", "--device", "cpu"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["relative_path"] == "slowClap_2.gif" and rows[0]["matched_by"] == "its name"
