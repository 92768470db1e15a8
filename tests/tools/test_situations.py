"""The situation training pairs: generation, the no-leak rule against the benchmark, the teacher."""
import csv
import json
from pathlib import Path

import pytest

from tools.situations.pairs import (
    BENCHMARK,
    GRAMMAR,
    REACTIONS,
    SentenceTeacher,
    build_reaction_pairs,
    build_situation_pairs,
    fill_slot,
    gallery_stem,
    generate_pool,
    jaccard,
    leaking,
    load_nrc_lexicon,
    reaction_sentences,
    read_benchmark,
    situation_text,
    situation_tokens,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_GALLERY = REPO_ROOT / "gallery" / "noto-emoji"
PAIRS = REPO_ROOT / "gallery" / "situation-pairs.tsv"
FRESH = REPO_ROOT / "benchmarks" / "situations" / "fresh_queries.tsv"


@pytest.mark.parametrize("path, size", [(BENCHMARK, 80), (FRESH, 40)])
def test_benchmark_is_large_and_well_formed(path, size):
    rows = read_benchmark(path)
    assert len(rows) >= size
    assert len({r["topic"] for r in rows}) >= 13
    gallery = {gallery_stem(p.name) for p in BUNDLED_GALLERY.glob("*.gif")}
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


@pytest.fixture(scope="module")
def teacher():
    return SentenceTeacher()


def test_paraphrases_of_benchmark_queries_are_flagged_by_meaning(teacher):
    bench = ["my reaction when the pizza finally arrives"]
    sentences = ["that moment when the pizza delivery finally shows up", "mfw my cat sneezes on the keyboard"]
    assert leaking(sentences, bench) == [False, False]  # different words ...
    assert leaking(sentences, bench, teacher) == [True, False]  # ... same situation
    assert situation_text("MRW the pizza arrives!") == "the pizza arrives"


def test_reaction_grammar_names_only_gallery_emoji_and_covers_every_topic():
    grammar = json.loads(REACTIONS.read_text())
    stems = {gallery_stem(p.name) for p in BUNDLED_GALLERY.glob("*.gif")}
    for name, group in grammar["groups"].items():
        assert set(group["emoji"]) <= stems, name
        assert len(group["emoji"]) >= 5 and len(group["situations"]) >= 8, name
    valence = grammar["valence"]
    topics = {"work", "school", "family", "friends", "love", "food", "weather", "sport", "travel", "tech", "pets",
              "money", "health"}
    assert set(valence["liked"]) == set(valence["dreaded"]) == topics
    assert set(valence["liked_events"].values()) | set(valence["dreaded_events"].values()) <= set(grammar["groups"])


def test_reaction_of_an_event_depends_on_whether_the_thing_is_liked_or_dreaded():
    grammar = {"openers": ["mrw"], "groups": {g: {"emoji": [], "situations": []} for g in ("sad", "celebrate")},
               "valence": {"liked": {"friends": ["the picnic"]}, "dreaded": {"school": ["the math test"]},
                           "liked_events": {"{thing} gets cancelled": "sad"},
                           "dreaded_events": {"{thing} gets cancelled": "celebrate"}}}
    grammar["groups"]["sad"]["situations"] = ["my goldfish dies"]
    sentences = reaction_sentences(grammar, seed=1)
    assert sentences == reaction_sentences(grammar, seed=1)
    assert dict(sentences) == {"mrw my goldfish dies": "sad", "mrw the picnic gets cancelled": "sad",
                               "mrw the math test gets cancelled": "celebrate"}


def test_reaction_pairs_label_with_the_group_and_drop_benchmark_copies(tmp_path, teacher):
    manifest = tmp_path / "manifest.tsv"
    with open(manifest, "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t")
        w.writerow(["file", "name", "cldr_name", "keywords"])
        for i, stem in enumerate(["sad", "cry", "party-popper", "pizza"], 1):
            w.writerow([f"{i:03d}-{stem}.gif", stem, stem, ""])
    grammar = {"openers": ["mfw"], "valence": {"liked": {}, "dreaded": {}, "liked_events": {}, "dreaded_events": {}},
               "groups": {"sad": {"emoji": ["sad", "cry"], "situations": ["my goldfish dies", "the bakery closes"]},
                          "celebrate": {"emoji": ["party-popper"], "situations": ["we win the cup"]}}}
    pairs = build_reaction_pairs(tmp_path, per_sentence=2, grammar=grammar, benchmark=["mrw we win the cup"],
                                 teacher=teacher)
    assert pairs.dropped_as_leak == 1
    assert sorted((f, s) for f, s, _ in pairs.rows) == [
        ("001-sad.gif", "mfw my goldfish dies"), ("001-sad.gif", "mfw the bakery closes"),
        ("002-cry.gif", "mfw my goldfish dies"), ("002-cry.gif", "mfw the bakery closes")]
    grammar["groups"]["sad"]["emoji"].append("clown")
    with pytest.raises(ValueError, match="clown"):
        build_reaction_pairs(tmp_path, grammar=grammar, benchmark=[], teacher=teacher)


def test_pool_is_deterministic_and_grammatical():
    grammar = json.loads(GRAMMAR.read_text())
    lexicon = load_nrc_lexicon()
    a = generate_pool(grammar, lexicon, seed=3, nrc_words=50)
    assert a == generate_pool(grammar, lexicon, seed=3, nrc_words=50)
    assert len(a) == len(set(a)) > 1000
    assert not any(" my my " in s or " my the " in s for s in a)
    assert fill_slot("i lose my {thing}", "the wind") == "i lose the wind"
    assert lexicon["funeral"] == ["sadness"]


def test_shipped_pairs_have_no_benchmark_leak(teacher):
    """No training sentence may be a query of either benchmark or a near copy of one, in words or in meaning."""
    if not PAIRS.is_file():
        pytest.skip("gallery/situation-pairs.tsv has not been built")
    with open(PAIRS, newline="") as fh:
        sentences = sorted({row[1] for row in csv.reader(fh, delimiter="\t")})
    bench = [r["query"] for path in (BENCHMARK, FRESH) for r in read_benchmark(path)]
    assert len(sentences) > 1000
    leaks = [s for s, f in zip(sentences, leaking(sentences, bench, teacher)) if f]
    assert not leaks


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
