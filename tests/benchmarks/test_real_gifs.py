"""The real-GIF benchmark's measures, and one end-to-end run on a few bundled emoji standing in for real GIFs."""
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmarks import real_gifs

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_GALLERY = REPO_ROOT / "gallery" / "noto-emoji"


def test_category_hit_precision_and_chance():
    scores = np.array([[0.9, 0.8, 0.1, 0.2, 0.3, 0.4, 0.5], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]])
    result = real_gifs.category_metrics(scores, ["a", "b"], [{0, 2}, {0}])
    first, second = result["per_category"]
    assert (first["hit5"], first["p5"]) == (1.0, 0.2)  # top 5 = 0, 1, 6, 5, 4: only 0 carries "a"
    assert (second["hit5"], second["p5"]) == (0.0, 0.0)  # 0 has the lowest score
    assert first["chance_p5"] == pytest.approx(2 / 7)
    assert first["chance_hit5"] == pytest.approx(1 - math.comb(5, 5) / math.comb(7, 5))
    assert result["hit5"] == 0.5


def test_situation_ranks_break_ties_by_column_and_chance_is_the_middle():
    scores = np.array([[0.5, 0.5, 0.1], [0.5, 0.5, 0.1], [0.9, 0.0, 0.1]])
    result = real_gifs.situation_metrics(scores, [0, 1, 2])
    assert result["ranks"] == [1, 2, 2]
    assert result["median_rank"] == 2 and result["chance_median_rank"] == 2
    assert result["r5"] == 1.0


def test_hubness_counts_the_gif_in_most_top_lists():
    scores = np.tile(np.arange(10, dtype=np.float32), (4, 1))  # the same ranking for every query
    hub = real_gifs.hubness(scores, scores[:2], k=5)
    assert hub["column"] == 9 and hub["count"] == 6 and hub["max_share"] == 1.0
    assert hub["chance_share"] == 0.5


def test_lexical_baseline_matches_stemmed_content_words():
    scores = real_gifs.lexical_scores(["my reaction when I am laughing so hard"], ["laugh out loud", "so sad", None])
    assert scores.tolist() == [[1.0, 0.0, 0.0]]  # "so" and "my reaction when" are stop words


def test_every_category_of_the_labels_has_a_query():
    assert all(q.startswith("my reaction when ") for q in real_gifs.CATEGORY_QUERIES.values())
    assert len(set(real_gifs.CATEGORY_QUERIES.values())) == len(real_gifs.CATEGORY_QUERIES)


def test_end_to_end_on_a_small_labelled_folder(tmp_path, capsys):
    """Seven bundled emoji laid out like the real collections (<set>/<path>), a broken file among them."""
    gifs = {"005-laughing.gif": "laugh,happy", "022-happy-cry.gif": "laugh,cry", "009-loudly-crying.gif": "cry,sad",
            "068-cry.gif": "cry,sad", "061-angry.gif": "angry", "062-rage.gif": "angry", "054-screaming.gif": "angry"}
    lines = ["set\tpath\tcategories\tquery\tface\tkind"]
    for i, (name, categories) in enumerate(gifs.items()):
        folder = tmp_path / "gifs" / "demo" / ("sub" if i % 2 else "")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(BUNDLED_GALLERY / name, folder / name)
        lines.append(f"demo\t{'sub/' if i % 2 else ''}{name}\t{categories}\twhen something happens number {i}\tno\tanimation")
    (tmp_path / "gifs" / "demo" / "broken.gif").write_bytes(b"GIF89a not really")
    labels = tmp_path / "labels.tsv"
    labels.write_text("\n".join(lines) + "\n", encoding="utf-8")

    code = real_gifs.main([str(tmp_path / "gifs"), "--labels", str(labels), "--tracks", "pixels,names-lexical",
                           "--feature-cache", str(tmp_path / "cache"), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["categories"] == ["cry", "angry"]  # laugh and sad have 2 GIFs: fewer than 3, not scored
    pixels, lexical = out["tracks"]["pixels"], out["tracks"]["names-lexical"]
    assert pixels["situation"]["queries"] == 7 and pixels["situation"]["chance_median_rank"] == 4
    assert pixels["category"]["queries"] == 2 and pixels["category"]["chance_p5"] == pytest.approx(3 / 7)
    assert pixels["hubness"]["lists"] == 9
    # the names alone: "my reaction when I just want to cry" finds "happy cry", "cry", "loudly crying" first
    assert lexical["category"]["per_category"][0]["p5"] == pytest.approx(3 / 5)


def test_feature_probe_neighbours_and_pixel_motion():
    from benchmarks.real_gifs_probe import neighbour_hits, pixel_motion
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(2, 8)) * 10
    x = np.vstack([centres[0] + rng.normal(size=(6, 8)), centres[1] + rng.normal(size=(6, 8))])
    categories = [["happy"]] * 6 + [["sad", "cry"]] * 6
    result = neighbour_hits(x, categories, draws=5)
    assert result["any"] == 1.0 and result["main"] == 1.0  # two clean clusters
    assert 0.9 < result["chance_any"] <= 1.0  # with 12 items in 2 classes a random 5 almost always shares one
    still = np.zeros((4, 32, 32, 3), np.uint8)
    moving = still.copy()
    moving[1::2] = 255
    assert pixel_motion(still).max() == 0.0 and pixel_motion(moving)[-3] == pytest.approx(1.0)
