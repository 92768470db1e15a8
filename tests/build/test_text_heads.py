"""Text heads: a clip's name or caption, compared with the query by the sentence model and calibrated onto one
scale with its GIF heads, joins them in the one max-over-heads score. Bundled emoji GIFs under made-up names (they
show no text, so reading finds none), a tiny random-init model, the real CNN on 4 frames."""
import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from pvse.build import build_index
from pvse.checkpoints import load_checkpoint
from pvse.cli import main
from pvse.features.sentence_minilm import MiniLMSentenceEncoder
from pvse.index import read_index
from pvse.index.ranking import brute_force_top_k
from pvse.index.text_layout import CROSS
from pvse.pipeline import PVSEPipeline
from pvse.search import Searcher
from pvse.similarity import max_over_k2_scores
from tests.helpers.models import tiny_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_GALLERY = REPO_ROOT / "gallery" / "noto-emoji"

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
    weights = tiny_checkpoint(root / "weights")
    pipeline = PVSEPipeline(load_checkpoint(weights, device="cpu"), "cpu")
    common = dict(pipeline=pipeline, feature_cache=root / "cache", progress=False)
    build_index(gallery, root / "pixels.index", names=False, **common)
    build_index(gallery, root / "names.index", **common)
    return dict(root=root, gallery=gallery, weights=weights, pipeline=pipeline, common=common,
                pixels=read_index(root / "pixels.index"), names=read_index(root / "names.index"))


def test_pixels_only_with_no_names_for_clips_that_show_no_text(setup):
    index = setup["pixels"]
    assert index.text_heads == 0 and index.gif_heads == 3 and index.embeddings.shape == (5, 3, 32)
    assert all(c.name is None and c.read_text is None for c in index.clips)
    assert index.meta.reader == "ppocr-v4@3" and index.meta.layout is None


def test_names_become_captions_and_text_heads_follow_the_gif_heads(setup):
    index = setup["names"]
    names = {c.path: c.name for c in index.clips}
    assert names == {"IMG_0001.gif": None, "party-time.gif": "party time", "reactions/annoyed/eye-roll.gif":
                     "eye roll (annoyed)", "reactions/sad/loudly-crying.gif": "loudly crying (sad)",
                     "slowClap_2.gif": "slow clap"}
    layout = index.meta.layout
    assert layout.sources == ("name",) and layout.pvse_dim == 32 and layout.sentence_dim == 384
    assert index.text_heads == 1 and index.gif_heads == 3 and index.embeddings.shape == (5, 4, 32 + 384 + 3)
    assert index.vectors.ntotal == 20 and index.attention.shape == (5, 3, 4)
    # the GIF heads are the pixels-only index's, scaled; the text head is the sentence model's vector of the name
    gif = index.embeddings[:, :3, :32]
    np.testing.assert_allclose(gif, setup["pixels"].embeddings, atol=1e-3)  # (cached frame features)
    row = [c.path for c in index.clips].index("slowClap_2.gif")
    text = MiniLMSentenceEncoder().encode(["slow clap"])[0]
    ratio = layout.pixel_scale / layout.text_scale
    np.testing.assert_allclose(index.embeddings[row, 3, 32:32 + 384] / ratio, text, atol=1e-5)
    # a clip without words repeats its first GIF head there
    img = [c.path for c in index.clips].index("IMG_0001.gif")
    np.testing.assert_array_equal(index.embeddings[img, 3], index.embeddings[img, 0])


def test_a_query_naming_a_clip_finds_it_by_its_name(setup):
    searcher = Searcher(setup["names"], setup["pipeline"])
    result = searcher.search("loudly crying (sad)", top_k=5)
    top = result.hits[0]
    assert top.path == "reactions/sad/loudly-crying.gif"
    assert top.query_head == 3 and top.clip_head == 3 and top.matched_by == "its name"
    sims = top.head_similarities
    assert sims.shape == (4, 4) and np.isnan(sims[:3, 3]).all() and np.isnan(sims[3, :3]).all()
    assert sims[3, 3] == pytest.approx(top.score, abs=1e-4) and sims[3, 3] > np.nanmax(sims[:3, :3])
    no_words = next(h for h in result.hits if h.path == "IMG_0001.gif")
    assert no_words.matched_by.startswith("GIF head") and no_words.head_similarities.shape == (4, 3)


def test_scores_are_calibrated_similarities_and_other_kinds_never_win(setup):
    """A GIF head scores its cosine less its clip's hub score plus the gallery's mean; the sentence head against a
    GIF head, or a PVSE query head against a text head, scores -CROSS or less."""
    index, pipeline = setup["names"], setup["pipeline"]
    layout = index.meta.layout
    searcher = Searcher(index, pipeline)
    pvse = pipeline.encode_text(["so sad"]).embeddings[0]
    query = layout.query(pvse, MiniLMSentenceEncoder().encode(["so sad"])[0])
    scores = query.numpy() @ np.asarray(index.embeddings).reshape(-1, layout.dim).T  # (4, 5 * 4)
    scores = scores.reshape(4, 5, 4)
    named = [i for i, c in enumerate(index.clips) if c.name]
    assert len(named) == 4 and (scores[:3, named, 3] <= -CROSS + 50).all() and (scores[3, :, :3] <= -CROSS + 50).all()
    pixels = max_over_k2_scores(pvse[None], torch.from_numpy(np.asarray(setup["pixels"].embeddings))).scores[0]
    row = [c.path for c in index.clips].index("IMG_0001.gif")
    hit = next(h for h in searcher.search("so sad", top_k=5).hits if h.path == "IMG_0001.gif")
    offset = float(index.embeddings[row, 0, 32 + 384])  # the gallery's mean less the clip's hub score
    assert hit.score == pytest.approx(float(pixels[row]) + offset, abs=1e-3)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_flat_faiss_search_with_text_heads_equals_brute_force(setup, kind):
    """The candidate / re-score path sees the text vectors: exact for flat, exactly re-scored for hnsw."""
    build_index(setup["gallery"], setup["root"] / f"names-{kind}.index", index_kind=kind,
                **setup["common"])
    index = read_index(setup["root"] / f"names-{kind}.index")
    searcher = Searcher(index, setup["pipeline"], exhaustive_below=0)  # always through faiss
    queries = ["eye roll", "loudly crying", "my reaction when the party starts", "slow clap", "alien"]
    layout, sentences = index.meta.layout, MiniLMSentenceEncoder().encode(queries)
    embeddings = torch.stack([layout.query(p, s) for p, s in zip(setup["pipeline"].encode_text(queries).embeddings,
                                                                  sentences)])
    for query in embeddings:
        got = searcher.search_embeddings(query, top_k=3)
        ref = brute_force_top_k(query, index.embeddings, 3)
        assert got.rows.tolist() == ref.rows.tolist() and got.clip_heads.tolist() == ref.clip_heads.tolist()
        np.testing.assert_allclose(got.scores, ref.scores, atol=1e-6)
        if kind == "flat":
            assert got.exact
    brute = max_over_k2_scores(embeddings, torch.from_numpy(np.asarray(index.embeddings)))
    assert (brute.gallery_head >= 3).any()  # some text head wins somewhere: the test is not vacuous


def test_a_renamed_file_gets_its_new_name_and_a_no_names_rerun_drops_them(setup, tmp_path):
    gallery = tmp_path / "gifs"
    shutil.copytree(setup["gallery"], gallery)
    out = tmp_path / "g.index"
    build_index(gallery, out, **setup["common"])
    (gallery / "party-time.gif").rename(gallery / "big-celebration.gif")
    report = build_index(gallery, out, **setup["common"])
    assert report.reused == 5
    index = read_index(out)
    clip = next(c for c in index.clips if c.path == "big-celebration.gif")
    assert clip.name == "big celebration" and clip.name_from_path
    row = [c.path for c in index.clips].index("big-celebration.gif")
    text = MiniLMSentenceEncoder().encode(["big celebration"])[0]
    layout = index.meta.layout
    np.testing.assert_allclose(index.embeddings[row, 3, 32:32 + 384] * layout.text_scale / layout.pixel_scale, text,
                               atol=1e-5)
    report = build_index(gallery, out, names=False, **setup["common"])  # --no-names: pixels only, no made-up names
    assert any("no longer matches name" in note for note in report.notes)
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


def test_cli_names_by_default_and_json_says_what_matched(setup, tmp_path, capsys):
    out = tmp_path / "cli.index"
    with contextlib.redirect_stderr(io.StringIO()):
        assert main(["index", str(setup["gallery"]), "--out", str(out), "--weights", str(setup["weights"]),
                     "--device", "cpu", "--quiet"]) == 0
        capsys.readouterr()
        assert main(["search", "slow clap", "--index", str(out), "--json", "--top-k", "2", "--device", "cpu"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["relative_path"] == "slowClap_2.gif" and rows[0]["matched_by"] == "its name"


@pytest.mark.parametrize("part", ["whole", "gif", "text", "offset"])
def test_one_clip_scaled_in_an_index_with_text_heads_is_refused(setup, tmp_path, part):
    """One clip's vectors multiplied by 1e30 (or one part of them) would put it first for every query: refused."""
    from pvse.errors import GalleryIndexError
    index = tmp_path / "names.index"
    shutil.copytree(setup["root"] / "names.index", index)
    layout = setup["names"].meta.layout
    h, e = layout.pvse_dim, layout.sentence_dim
    embeddings = np.load(index / "embeddings.npy")
    columns = {"whole": slice(None), "gif": slice(0, h), "text": slice(h, h + e), "offset": slice(h + e, h + e + 1)}
    embeddings[1, :, columns[part]] *= 1e30
    np.save(index / "embeddings.npy", embeddings)
    with pytest.raises(GalleryIndexError, match="embeddings.npy row 1 .* not of unit length") as info:
        read_index(index)
    assert "\n" not in str(info.value)
