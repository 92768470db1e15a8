"""The app's handlers on a real tiny gallery: search views, explanations, and untrusted input."""
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from demo.handlers import DemoHandlers
from demo.markdown_text import escape_markdown
from demo.untrusted_input import DemoLimits, clamp_top_k, clean_query

QUERY = "my reaction when i cannot stop laughing"


@pytest.fixture(scope="module")
def handlers(tiny_gallery):
    return DemoHandlers(tiny_gallery.searcher)


def test_clean_query_normalises_and_bounds_any_value():
    assert clean_query("  so\tproud \n of\x00 you\u200b ", 100) == "so proud of you"
    assert clean_query(None, 10) == "" and clean_query(12, 10) == "12"
    assert clean_query("ａｂｃ", 10) == "abc"  # NFKC
    assert len(clean_query("word " * 100_000, 300)) <= 300


@pytest.mark.parametrize("value, expected", [
    (0, 1), (-5, 1), (3, 3), (3.7, 3), ("4", 4), (10**9, 6), (float("inf"), 6), (float("nan"), 6),
    ("lots", 6), (None, 6), ([1], 6),
])
def test_clamp_top_k(value, expected):
    assert clamp_top_k(value, num_clips=6, limits=DemoLimits(default_top_k=12)) == expected
    assert clamp_top_k(10**9, num_clips=1000, limits=DemoLimits(max_top_k=48)) == 48


def test_escape_markdown_keeps_user_text_inert():
    escaped = escape_markdown("[click](javascript:alert(1)) <img src=x> **bold**")
    assert "\\[" in escaped and "\\<" in escaped and "\\*\\*" in escaped and "](" not in escaped


def test_search_returns_gallery_files_in_rank_order_with_captions(handlers, tiny_gallery):
    view = handlers.search(QUERY, 4)
    expected = tiny_gallery.searcher.search(QUERY, top_k=4)
    assert view.ok and len(view.gallery) == 4
    assert [Path(p).name for p, _ in view.gallery] == [Path(h.path).name for h in expected.hits]
    for (path, caption), hit in zip(view.gallery, expected.hits):
        assert Path(path).is_relative_to(tiny_gallery.gallery_dir.resolve())
        assert caption == hit.display_name
        assert caption == (hit.name or Path(hit.path).stem)  # its name, else the file name without extension
    assert "**4** GIFs" in view.status


def test_every_clip_is_shown_by_name_and_explained_by_name(handlers, tiny_gallery):
    view = handlers.search(QUERY, 6)
    captions = {Path(path).name: caption for path, caption in view.gallery}
    assert captions["007-joy.gif"] == "Joy" and captions["509-droplet.gif"] == "509-droplet"
    assert captions["multi-facepalm.gif"] == "multi-facepalm"
    exp = handlers.explain(view.result, 0)
    assert exp.title == view.gallery[0][1] and exp.payload["name"] == exp.title
    assert exp.path == view.result.hits[0].path and exp.link.startswith("gif/")


def test_search_states_for_empty_unknown_and_huge_queries(handlers):
    for empty in ("", "   ", "\u200b\n", None):
        view = handlers.search(empty, 5)
        assert not view.ok and view.gallery == [] and "Type a few words" in view.status
    unknown = handlers.search("qwzx vbnmk", 5)
    assert not unknown.ok and unknown.gallery == [] and "No GIFs found" in unknown.status
    assert unknown.status.count("other words") == 1  # said once
    huge = handlers.search("happy " * 50_000, 10**9)
    assert huge.ok and len(huge.gallery) == 6 and "query shortened" in huge.status
    assert len(huge.status) < 300 and "happy happy…" in huge.status  # the query is echoed cut short
    for view in (handlers.search("", 3), unknown, huge):  # no icon that needs an emoji font
        assert all(ord(ch) < 0x2600 for ch in view.status), view.status


def test_a_word_only_the_gallery_knows_finds_the_clip_named_by_it(handlers):
    view = handlers.search("facepalm", 3)
    assert view.ok and view.gallery[0][1] == "multi-facepalm"
    assert "The model does not know 'facepalm'" in view.status and "come first" in view.status
    exp = handlers.explain(view.result, 0)
    assert exp.summary.startswith("Shown first because its file name has “facepalm”")
    assert exp.payload["found_by"] == ["facepalm"] and "facepalm" in exp.numbers
    mixed = handlers.search("total facepalm moment", 3)  # known words too: still first, and the rest ranked
    assert mixed.ok and mixed.gallery[0][1] == "multi-facepalm" and len(mixed.gallery) == 3


def test_errors_become_messages_not_tracebacks(tiny_gallery, caplog):
    handlers = DemoHandlers(tiny_gallery.searcher)

    def broken(text, top_k, per_head_k=0):
        raise RuntimeError("boom")

    handlers._run_search = broken
    view = handlers.search("hello", 3)
    assert not view.ok and "Something went wrong" in view.status and "boom" not in view.status
    assert "boom" in caplog.text  # the traceback goes to the log


def test_spaces_gpu_is_a_no_op_off_zerogpu(handlers, tiny_gallery):
    assert handlers._run_search == tiny_gallery.searcher.search


def test_explain_matches_the_search_numbers(handlers, tiny_gallery):
    view = handlers.search(QUERY, 6)
    for index, hit in enumerate(view.result.hits):
        exp = handlers.explain(view.result, index)
        assert exp.ok, exp.summary
        p = exp.payload
        sims = np.asarray(p["head_similarities"])
        assert sims.shape == (3, 3)
        assert (p["reading"] - 1, p["clip_head"] - 1) == np.unravel_index(sims.argmax(), sims.shape)
        assert (p["reading"], p["matched_by"]) == (hit.reading, hit.matched_by) == (hit.reading, f"GIF head {p['clip_head']}")
        assert math.isclose(p["score"], sims.max(), abs_tol=1e-4)
        np.testing.assert_allclose(p["frame_attention"], hit.frame_attention, atol=1e-5)
        assert np.asarray(p["frame_attention"]).shape == (3, 4)
        np.testing.assert_allclose(np.asarray(p["frame_attention"]).sum(axis=1), 1.0, atol=1e-3)
        assert p["tokens"] == view.result.tokens and len(p["frame_indices"]) == 4
        assert np.asarray(p["word_attention"]).shape == (3, len(p["tokens"]))
        assert isinstance(exp.frames, Image.Image) and exp.frames.width >= 4 * 96
        assert isinstance(exp.heatmap, Image.Image)
        assert len(exp.words) == 3 and [("★" in label) for label in exp.word_labels] == [k + 1 == p["reading"]
                                                                                          for k in range(3)]
        assert exp.summary.startswith("Matched mostly on “") and "head" not in exp.summary  # plain words first
        assert f"reading **{p['reading']}** with **GIF head {p['clip_head']}**" in exp.numbers  # then numbers
        assert "cosine" in exp.numbers and "query head" not in exp.numbers
        assert f"h{p['clip_head']}\\*, is the GIF head that matched" in exp.frames_caption


def test_a_gif_in_a_reading_row_is_explained(handlers):
    view = handlers.search(QUERY, 6)
    for head, row in enumerate(view.result.per_head):
        exp = handlers.explain(view.result, 0, head=head)
        assert exp.ok and exp.payload["reading"] == head + 1 == row.reading and exp.title == row.hits[0].display_name
    assert not handlers.explain(view.result, 0, head=99).ok


@pytest.mark.parametrize("index", [-1, 6, 10**12, "0", None, 1.5, True, (), [99]])
def test_explain_refuses_any_index_it_did_not_show(handlers, index):
    result = handlers.search(QUERY, 6).result
    exp = handlers.explain(result, index)
    assert not exp.ok and exp.frames is None and exp.payload == {}
    assert "Pick one of the 6 results" in exp.summary


def test_explain_before_any_search_and_stateless_form(handlers):
    assert "Search first" in handlers.explain(None, 0).summary
    assert handlers.explain_query(QUERY, 3, 2).ok
    assert not handlers.explain_query(QUERY, 3, 3).ok
    assert not handlers.explain_query(QUERY, 3, "x").ok
    assert "Type a few words" in handlers.explain_query("", 3, 0).summary


def test_sampled_frames_are_cached(handlers, tiny_gallery, monkeypatch):
    first = handlers.sampled_frames(0)
    monkeypatch.setattr("demo.clip_frames.decode_clip", lambda *a, **k: pytest.fail("decoded twice"))
    assert handlers.sampled_frames(0) is first
    assert len(first) == 4 and first[0].dtype == np.uint8


def test_gallery_credits_drop_the_title_and_stay_short(tiny_gallery, tmp_path):
    from demo.credits import gallery_credits
    assert gallery_credits(tiny_gallery.gallery_dir).startswith("Noto Emoji animations by Google, CC BY 4.0.")
    assert gallery_credits(tmp_path) is None
    (tmp_path / "CREDITS").write_text("# T\n\n" + "\n\n".join(["word " * 50] * 20))
    text = gallery_credits(tmp_path, max_chars=600)
    assert len(text) <= 600 and text.endswith("…") and not text.startswith("#")


def test_first_load_message_says_what_runs_where(handlers):
    message = handlers.ready_message()
    assert "6 GIFs indexed" in message and "3 heads" in message and "running on **CPU**" in message


def test_a_hit_off_the_allow_list_is_neither_shown_nor_selectable(tiny_gallery):
    handlers = DemoHandlers(tiny_gallery.searcher)
    real = tiny_gallery.searcher.search(QUERY, top_k=3)
    real.hits[0].abs_path = Path("/etc/passwd")  # what a hit claims does not matter: the allow-list decides
    del handlers.served[real.hits[0].row]  # as if the index row were not a media file of the gallery
    handlers._run_search = lambda text, top_k, per_head_k=0: real
    view = handlers.search(QUERY, 3)
    assert len(view.gallery) == 2 and all("passwd" not in p for p, _ in view.gallery)
    assert [p for p, _ in view.gallery] == [str(handlers.served[h.row]) for h in real.hits[1:]]
    assert [h.rank for h in view.result.hits] == [2, 3]
    assert handlers.explain(view.result, 0).payload["rank"] == 2
    assert not handlers.explain(view.result, 2).ok


def test_bundled_app_answers_nonsense_with_no_results_and_why():
    from demo.handlers import DemoHandlers
    from pvse.search import Searcher
    handlers = DemoHandlers(Searcher.load(device="cpu"))
    view = handlers.search("xqzv blorp", 5)
    assert not view.ok and view.gallery == []
    assert "No GIFs found" in view.status and "None of the words" in view.status
    explained = handlers.explain_query("my reaction when I can't stop laughing", 3, 0)
    assert explained.ok and "can't" in explained.payload["words"] and "##" not in " ".join(explained.payload["words"])


def test_per_head_rows_label_each_head_by_its_words(handlers):
    view = handlers.search("so happy I could cry", 3)
    assert view.ok and len(view.per_head) == handlers.num_heads
    for k, (label, items) in enumerate(view.per_head):
        assert label.startswith(f"Reading {k + 1}: mostly “") and 1 <= len(items) <= 4
        # two words: readings that share their strongest word still read differently
        assert re.fullmatch(rf"Reading {k + 1}: mostly “[^”]+”, then “[^”]+”", label), label
    assert view.heads_note.startswith(("All 3 readings of your words agree", "Your words can be read 3 ways"))


def test_plain_summary_names_words_and_frames():
    from demo.explain_words import plain_summary
    words = ["i", "can't", "stop", "laughing"]
    summary = plain_summary(words, np.array([0.1, 0.05, 0.05, 0.8]), np.array([0.05, 0.5, 0.05, 0.4]),
                            "GIF head 1", [])
    assert summary == "Matched mostly on “laughing”; frames 2 and 4 weigh most."
    assert plain_summary(words, np.array([0.1, 0.4, 0.1, 0.4]), np.full(4, 0.25), "GIF head 2", []) == (
        "Matched mostly on “can't” and “laughing”; all frames count about the same.")
    assert plain_summary(["facepalm"], np.array([1.0]), None, "its name", [("facepalm", "file name")]) == (
        "Shown first because its file name has “facepalm”, a word the model does not know; "
        "matched mostly on “facepalm”, through its name rather than its frames.")
    assert plain_summary(words, np.full(4, 0.25), None, "the words it shows: “CAN'T STOP”", [], whole=True) == (
        "Matched by the words it shows: “CAN'T STOP”, close in meaning to your words as a whole.")


def test_the_frames_caption_names_a_red_row_only_when_one_is_drawn():
    from demo.explain_words import frames_caption
    assert "the row outlined in red, h2\\*, is the GIF head that matched" in frames_caption(1, "GIF head 2")
    text = frames_caption(None, "its name")
    assert "red" not in text and text.endswith("No GIF head matched: this GIF was found by its name.")


def test_frame_attention_note_says_when_the_heads_look_at_one_frame():
    from demo.explain_words import frame_attention_note
    spike = np.array([[0.0, 0.0, 0.99, 0.01]] * 4)
    assert frame_attention_note(spike).startswith("All 4 GIF heads look at frame 3 (99 % of their attention each)")
    agree = np.array([[0.1, 0.6, 0.2, 0.1], [0.2, 0.5, 0.2, 0.1]])
    assert frame_attention_note(agree).startswith("All 2 GIF heads weigh frame 2 most (50 %–60 %")
    differ = frame_attention_note(np.array([[0.95, 0.05, 0, 0], [0, 0, 0.3, 0.7], [0.25, 0.25, 0.25, 0.25]]))
    assert differ.startswith("The 3 GIF heads look at different frames: h1 looks at frame 1 (95 %); "
                             "h2 weighs frame 4 most (70 %); h3 spreads its attention")
    assert frame_attention_note(np.full((3, 8), 1 / 8)).startswith("All 3 GIF heads spread their attention")
    assert frame_attention_note(np.zeros((0, 4))) == ""


def test_pair_note_says_ties_and_near_ties_of_the_printed_map():
    from demo.explain_words import pair_note
    assert pair_note(np.array([[0.3, 0.3], [0.1, 0.2]]), (0, 0)).startswith("A tie: q1×g2 scores the same as q1×g1")
    near = pair_note(np.array([[0.26612, 0.26598], [0.1, 0.2]]), (0, 0))
    assert near == "q1×g2 also shows 0.266, but q1×g1 is higher by 0.00014 (0.26612 vs 0.26598)."
    assert "near copies" in pair_note(np.array([[0.263, 0.264], [0.262, 0.2605]]), (0, 1))
    assert pair_note(np.array([[0.5, 0.1], [0.2, 0.3]]), (0, 0)) == ""
    assert pair_note(np.array([[0.5, 0.5]]), (0, 0), gif_heads=1).startswith("A tie: q1×t1")


def test_explanation_has_a_phone_strip_and_says_what_the_gif_heads_do(handlers):
    view = handlers.search(QUERY, 3)
    exp = handlers.explain(view.result, 0)
    from demo.drawing import strip_layout
    assert exp.ok and exp.frames_compact.size == (strip_layout(4, 3, columns=4)["width"],
                                                  strip_layout(4, 3, columns=4)["height"])  # at most 4 frames a row
    assert exp.frames.mode == "RGBA" and exp.frames.getpixel((0, 0))[3] == 0  # transparent: light and dark pages
    assert exp.frames_note.startswith(("All 3 GIF heads", "The 3 GIF heads")) and exp.payload["frames_note"]


def test_bundled_app_answers_a_query_with_bytes_that_are_not_utf8():
    """Lone surrogates (a shell's undecodable bytes, or unpaired halves a browser sends) reach no tokenizer."""
    import os

    from demo.handlers import DemoHandlers
    from pvse.search import Searcher
    handlers = DemoHandlers(Searcher.load(device="cpu"))
    for query in (os.fsdecode(b"\xff\xfe laughing"), "laughing \ud83d", "\udcff\udcfe"):
        view = handlers.search(query, 3)
        assert "Something went wrong" not in view.status, query
        assert view.ok == ("laughing" in query) and len(view.gallery) == (3 if view.ok else 0)
