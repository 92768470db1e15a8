"""The situation training pairs (issue 6): generation, the no-leak rule against the benchmark, the teacher."""
import csv
import json

import pytest

from pvse.data.situations import (BENCHMARK, GRAMMAR, build_situation_pairs, fill_slot, generate_pool, jaccard,
                                  leaking, load_nrc_lexicon, read_benchmark, situation_tokens)
from pvse.defaults import REPO_ROOT

PAIRS = REPO_ROOT / "gallery" / "situation-pairs.tsv"


def test_benchmark_is_large_and_well_formed():
    rows = read_benchmark()
    assert len(rows) >= 80
    assert len({r["topic"] for r in rows}) >= 13
    gallery = {p.stem.split("-", 1)[1] for p in (REPO_ROOT / "gallery" / "noto-emoji").glob("*.gif")}
    for row in rows:
        acceptable = row["acceptable"].split(",")
        assert acceptable and set(acceptable) <= gallery, row["query"]


def test_opener_is_ignored_when_comparing_situations():
    assert situation_tokens("MFW my boss says hi!") == situation_tokens("my reaction when my boss says hi")
    assert jaccard({"a", "b"}, {"b", "c"}) == pytest.approx(1 / 3)


def test_near_copies_of_benchmark_queries_are_flagged():
    bench = ["my reaction when the pizza finally arrives"]
    flags = leaking(["mrw the pizza finally arrives!", "when the pizza arrives", "me when my cat sneezes"], bench)
    assert flags == [True, True, False]


def test_pool_is_deterministic_and_grammatical():
    grammar = json.loads(GRAMMAR.read_text())
    lexicon = load_nrc_lexicon()
    a = generate_pool(grammar, lexicon, seed=3, nrc_words=50)
    assert a == generate_pool(grammar, lexicon, seed=3, nrc_words=50)
    assert len(a) == len(set(a)) > 1000
    assert not any(" my my " in s or " my the " in s for s in a)
    assert fill_slot("i lose my {thing}", "the wind") == "i lose the wind"
    assert lexicon["funeral"] == ["sadness"]


def test_shipped_pairs_have_no_benchmark_leak():
    """No training sentence may be a benchmark query or a near copy of one."""
    if not PAIRS.is_file():
        pytest.skip("gallery/situation-pairs.tsv has not been built")
    with open(PAIRS, newline="") as fh:
        sentences = sorted({row[1] for row in csv.reader(fh, delimiter="\t")})
    bench = [r["query"] for r in read_benchmark(BENCHMARK)]
    assert not any(leaking(sentences, bench))


def test_teacher_labels_tiny_grammar(tmp_path):
    """End to end with the real MiniLM teacher on a three-emoji gallery."""
    manifest = tmp_path / "manifest.tsv"
    with open(manifest, "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t")
        w.writerow(["file", "name", "cldr_name", "keywords"])
        w.writerow(["a.gif", "Sob", "loudly crying face", "cry; sad; sob; tear"])
        w.writerow(["b.gif", "Party", "partying face", "celebration; hooray; party"])
        w.writerow(["c.gif", "Pizza", "pizza", "cheese; slice; food"])
    grammar = {"openers": ["mfw"], "events": [], "things": {}, "feeling_templates": ["mfw i feel {word}"],
               "situations": ["my dog died", "we won the cup and everyone is celebrating"]}
    pairs = build_situation_pairs(tmp_path, top_n=1, grammar=grammar, nrc_words=0,
                                  benchmark=["mfw my dog died"])
    assert pairs.dropped_as_leak == 1  # the copy of the "benchmark" query is not used
    assert [(f, s) for f, s, _ in pairs.rows] == [("b.gif", "mfw we won the cup and everyone is celebrating")]
