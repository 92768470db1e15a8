"""What every surface says about the query's readings (pure functions of the per-head rows and the hits)."""
from pathlib import Path

import numpy as np

from pvse.search.readings import cut, describe_match, heads_summary, opener_note, reading_label
from pvse.search.results import HeadHits, SearchHit


def hit(row, name, reading, found_by=(), matched_by="GIF head 1"):
    """A hit as the searcher makes it: found by `reading` (1-based), shown as `name`."""
    return SearchHit(rank=1, row=row, path=f"{name}.gif", abs_path=Path(f"/gallery/{name}.gif"), score=0.5,
                     query_head=reading - 1, clip_head=0, matched_by=matched_by, name=name, caption=None, metadata={},
                     frame_indices=[0], frame_attention=np.ones((1, 1)), head_similarities=np.ones((1, 1)),
                     found_by=list(found_by), display_name=name)


def head(k, words, row, name, sentence=False, matched_by="GIF head 1"):
    return HeadHits(k, words, [hit(row, name, k + 1, matched_by=matched_by)], sentence)


def test_disagreeing_readings_say_what_each_reads_and_finds():
    rows = [head(0, ["can't", "stop"], 1, "Joy"), head(1, ["laughing"], 2, "Rofl"), head(2, ["can't"], 1, "Joy"),
            head(3, ["my", "i", "when"], 3, "Scream cat")]
    assert heads_summary(rows, [hit(1, "Joy", 1)]) == (
        "Your words can be read 4 ways, which find 3 different best GIFs: readings 1 and 3 (“can't”, “stop”) find "
        "Joy; reading 2 (“laughing”) finds Rofl; reading 4 (only filler words: “my”, “i”, “when”) finds Scream cat. "
        "The results above take the best match of all.")


def test_agreeing_readings_name_the_one_gif():
    rows = [head(k, ["laughing"], 7, "Joy") for k in range(4)]
    assert heads_summary(rows, [hit(7, "Joy", 2)]) == "All 4 readings of your words agree on the best GIF: Joy."


def test_a_text_match_is_a_reading_and_the_summary_counts_it():
    """The first result came by the sentence reading (the query as a whole against a clip's words): it is reading 5,
    the summary counts it and says which text it met, and never claims the readings agree on another GIF."""
    rows = [head(k, ["awkward"], 7, "bender") for k in range(4)]
    rows.append(head(4, [], 9, "calvin-faces", sentence=True, matched_by="the words it shows: “calvin and”"))
    summary = heads_summary(rows, [hit(9, "calvin-faces", 5)])
    assert summary == (
        "Your words can be read 5 ways, which find 2 different best GIFs: readings 1, 2, 3 and 4 (“awkward”) find "
        "bender; reading 5 (your words as a whole) finds calvin-faces by the words it shows: “calvin and”. The results "
        "above take the best match of all.")
    assert reading_label(rows[4]) == "Reading 5: your words as a whole"
    assert reading_label(rows[0]) == "Reading 1: mostly “awkward”"


def test_a_first_result_found_by_a_word_only_its_name_has_is_said_first():
    rows = [head(k, ["facepalm"], 3, "Joy") for k in range(3)]
    summary = heads_summary(rows, [hit(8, "multi-facepalm", 2, [("facepalm", "file name")])])
    assert summary == ("multi-facepalm comes first because its file name has “facepalm”, a word the model does not "
                       "know. All 3 readings of your words agree on the best GIF: Joy.")
    assert heads_summary([], [hit(8, "multi-facepalm", 1, [("facepalm", "name")])]).startswith("multi-facepalm comes")


def test_a_first_result_no_reading_ranks_first_is_said_so():
    rows = [head(k, ["laughing"], 7, "Joy") for k in range(2)]
    assert heads_summary(rows, [hit(4, "Rofl", 1)]) == (
        "All 2 readings of your words agree on the best GIF: Joy. The first result, Rofl, comes first with all "
        "readings weighed together.")


def test_nothing_to_say_with_one_head_or_none():
    assert heads_summary([]) == "" and heads_summary([head(0, ["x"], 1, "Joy")]) == ""


def test_a_match_says_which_head_or_text_won():
    assert describe_match(None, None, 2) == "GIF head 3"
    assert describe_match("name", "so awkward") == "its name"
    assert describe_match("caption", "x") == "its caption"
    assert describe_match("read text", "DID I BREAK\n YOUR CONCENTRATION") == (
        "the words it shows: “DID I BREAK YOUR CONCENTRATION”")


def test_cut_keeps_columns_and_marks_the_cut():
    assert cut("short", 10) == "short"
    assert cut("the words it shows: “did i break your concentration”", 24) == "the words it shows:…"
    assert len(cut("x" * 50, 12)) == 12 and cut("x" * 50, 12).endswith("…")


def test_the_opener_the_sentence_model_leaves_out_is_named():
    assert opener_note("my reaction when I can't stop laughing") == " (without “my reaction when”)"
    assert opener_note("mrw, the build passes") == " (without “mrw”)"
    assert opener_note("so happy") == "" and opener_note("when") == ""
