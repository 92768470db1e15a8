"""The bundled model and gallery as a user meets them: words not pieces, unknown queries, per-head results."""
import numpy as np
import pytest
import torch

from pvse.features.filler import filler_share
from pvse.search import Searcher
from pvse.similarity import per_query_head_scores


@pytest.fixture(scope="module")
def bundled():
    return Searcher.load(device="cpu")


@pytest.mark.parametrize("query", ["xqzv blorp", "zxqv!!! blorpf, qwzz"])
def test_nonsense_gets_no_results_and_says_why(bundled, query):
    result = bundled.search(query, top_k=5)
    assert result.hits == [] and result.per_head == []
    assert "None of the words" in result.message and "no results" in result.message
    assert not any(result.words_known)


def test_one_unknown_word_is_named_but_the_rest_searches(bundled):
    result = bundled.search("mrw xqzv laughing", top_k=3)
    assert len(result.hits) == 3 and "'xqzv'" in result.message
    assert result.words == ["mrw", "xqzv", "laughing"] and result.words_known == [True, False, True]


def test_explanations_are_in_words_with_summed_attention(bundled):
    result = bundled.search("my reaction when I can't stop laughing", top_k=3)
    assert result.words == ["my", "reaction", "when", "i", "can't", "stop", "laughing"]
    assert result.words_attention.shape == (4, 7)
    np.testing.assert_allclose(result.words_attention.sum(axis=1), 1.0, atol=1e-5)


def test_per_head_rows_are_each_head_alone(bundled):
    result = bundled.search("when the chili is way too spicy", top_k=5, per_head_k=3)
    words = [h for h in result.per_head if not h.sentence]
    assert [h.head for h in words] == [0, 1, 2, 3]
    # readings numbered from 1; with text heads the sentence head is one more, meeting only the GIFs' words
    assert [h.reading for h in result.per_head] == list(range(1, len(result.per_head) + 1))
    assert len(result.per_head) == 4 + (bundled.layout is not None) and result.sentence_reading == (
        5 if bundled.layout is not None else None)
    query = bundled.query_embeddings(["when the chili is way too spicy"])[0]  # with the sentence head, if any
    alone = per_query_head_scores(query, torch.from_numpy(np.asarray(bundled.index.embeddings)))
    for head in words:
        assert len(head.hits) == 3 and all(h.query_head == head.head for h in head.hits)
        assert [h.row for h in head.hits] == alone[head.head].argsort(descending=True)[:3].tolist()
        assert head.words and set(head.words) <= set(result.words)
    for head in result.per_head[4:]:
        assert all(h.reading == 5 and h.matched_source in ("read text", "name") for h in head.hits)
    # the fused score is the best reading's own score
    best = max(h.hits[0].score for h in result.per_head if h.hits)
    assert result.hits[0].score == pytest.approx(best, abs=1e-6)


def test_bundled_index_has_current_hub_scores(bundled):
    """The shipped index carries hub scores for the shipped reference sentences, so --hub-correction works on it."""
    from pvse.index.hubness import reference_key
    assert bundled.index.hub_scores.shape == (bundled.num_clips,)
    assert bundled.index.meta.hub_scores["reference"] == reference_key()
    fixed = bundled.search("so proud of you", top_k=5, hub_correction=0.25)
    plain = {h.row: h.score for h in bundled.search("so proud of you", top_k=bundled.num_clips).hits}
    assert len(fixed.hits) == 5 and all(plain[h.row] == h.score for h in fixed.hits)  # scores stay eq. 6
    ranked = [h.score - 0.25 * float(bundled.index.hub_scores[h.row]) for h in fixed.hits]
    assert ranked == sorted(ranked, reverse=True)


@pytest.mark.parametrize("query, content", [("my reaction when I can't stop laughing", {"can't", "stop", "laughing"}),
                                            ("when the meeting could have been an email", {"meeting", "email"})])
def test_no_head_reads_only_filler_words(bundled, query, content):
    """A head reading "my, i, when" or "could, have, been" must not decide the result: the heads read content."""
    result = bundled.search(query, top_k=5, per_head_k=3)
    share = filler_share(result.words, result.words_attention)
    top = result.hits[0].query_head  # a query head, or the sentence head (it reads the query less its opener)
    assert top == len(share) or share[top] < 0.5
    for row in result.per_head:
        assert row.sentence or (row.words and set(row.words) <= content)


def test_a_query_of_filler_alone_is_still_searched(bundled):
    result = bundled.search("when i was", top_k=3)
    assert len(result.hits) == 3
    np.testing.assert_allclose(result.words_attention.sum(axis=1), 1.0, atol=1e-5)


# What a fitting GIF for each example query the app and the README offer is: one whose CLDR keywords (the bundled
# manifest's `keywords`) hold one of these words. Written from the queries' meaning, not from any ranking.
FITTING = {
    "my reaction when my code compiles on the first try": "celebrate celebration party happy awesome excited yay "
                                                          "hooray win victory proud tada grinning applause clap yes",
    "mfw the build is green": "celebrate celebration party happy awesome excited yay hooray win victory proud tada "
                              "grinning applause clap yes relieved relief",
    "mrw my team wins the championship": "celebrate celebration party trophy win winner victory excited cheer "
                                         "champion medal happy awesome applause",
    "me pretending everything is fine": "fine awkward nervous sweat grimacing upside sarcasm meh whatever silly "
                                        "okay pretend grimace worried",
    "when the meeting could have been an email": "bored tired whatever meh eyeroll roll rolling annoyed ugh unamused "
                                                 "sleepy yawn yawning mad frustrated weary",
    "I can't stop laughing": "laugh laughing lol haha joy rofl lmao funny hilarious",
    "so proud of you": "proud clap applause love heart celebrate strong awesome hug yay star grateful thanks",
    "nervous sweating before the exam": "nervous sweat anxious scared fear worried stress cold grimacing panic",
    "sending you a big hug": "hug hugging love heart care xoxo friend embrace",
    "good night, sleep well": "night sleep sleepy tired moon zzz bed dream",
}


@pytest.fixture(scope="module")
def keywords():
    import csv
    from pathlib import Path
    manifest = Path(__file__).resolve().parents[2] / "gallery" / "noto-emoji" / "manifest.tsv"
    with open(manifest, encoding="utf-8") as fh:
        return {row["file"]: {k.strip().lower() for k in row["keywords"].split(";")} | set(row["name"].lower().split())
                for row in csv.DictReader(fh, delimiter="\t")}


def test_the_example_queries_cover_the_apps_and_the_readmes():
    from demo.examples import EMOJI_QUERIES
    assert set(EMOJI_QUERIES) <= set(FITTING)


# Example queries the bundled model does not yet answer with a fitting GIF in its top 3 (with names matched, the
# default): "green" meets the name "Green heart", and the meeting and good-night queries find neither a bored nor a
# sleeping face. Strict: a fix makes these fail until they are taken off the list.
KNOWN_MISSES = {"mfw the build is green", "when the meeting could have been an email", "good night, sleep well"}


@pytest.mark.parametrize("query", [pytest.param(q, marks=pytest.mark.xfail(strict=True, reason="a known miss"))
                                   if q in KNOWN_MISSES else q for q in FITTING])
@pytest.mark.parametrize("opener", ["", "my reaction when "])
def test_every_example_query_puts_a_fitting_gif_in_its_top_3(bundled, keywords, query, opener):
    import re
    text = re.sub(r"^(my reaction when|mfw|mrw) ", "", query)  # as offered, less a reaction opener
    text = opener + re.sub(r"^when ", "", text) if opener else text
    hits = bundled.search(text, top_k=3).hits
    wanted = set(FITTING[query].split())
    assert any(keywords[h.path.split("/")[-1]] & wanted for h in hits), [h.display_name for h in hits]
