"""A person's own folder (GIFs the test makes, named as people name them): the example queries the app offers for
it, and one search explained alike by the Python API, `pvse search --json`, the CLI table and the app."""
from __future__ import annotations

import contextlib
import io
import json

import pytest

from tests.media.gif_writer import Frame, gif_bytes
from tests.reading.text_gifs import HEIGHT, PALETTE, WIDTH, scene

FILES = ("aint-nobody-got-time-for-that.gif", "so-awkward.gif", "what-the-fuck.gif", "IMG_0042.gif",
         "happy-dance.gif", "crying.gif")
CAPTIONS = {"aint-nobody-got-time-for-that.gif": "AIN'T NOBODY GOT TIME FOR THAT"}  # the words it shows, as written
QUERY = "my reaction when it is so awkward"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from pvse.build import build_index
    from pvse.search import Searcher
    from tests.helpers.models import tiny_checkpoint

    root = tmp_path_factory.mktemp("user-folder")
    gallery = root / "gifs"
    gallery.mkdir()
    for k, name in enumerate(FILES):
        (gallery / name).write_bytes(gif_bytes(WIDTH, HEIGHT, [Frame(scene(9 * k + i)) for i in range(4)], PALETTE))
    (root / "captions.tsv").write_text("file\tcaption\n" + "".join(f"{f}\t{c}\n" for f, c in CAPTIONS.items()))
    weights = tiny_checkpoint(root / "weights")
    build_index(gallery, root / "gifs.index", weights=str(weights), captions=root / "captions.tsv",
                names=True, read_text=False, device="cpu", progress=False, decode_workers=1)
    searcher = Searcher.load(root / "gifs.index", weights=str(weights), device="cpu")
    return dict(index=root / "gifs.index", weights=weights, searcher=searcher)


def test_examples_keep_names_as_written_and_skip_profane_ones(folder):
    from demo.examples import examples_for
    examples = examples_for(folder["searcher"])
    # "aint nobody got time for that" (its name) and "AIN'T NOBODY …" (its caption) are offered once, as written;
    # neither the profane name nor a camera's "IMG_0042" is offered
    assert examples == ("ain't nobody got time for that", "crying", "happy dance", "so awkward")


def test_examples_from_texts_drop_profanity_whatever_its_case():
    from demo.examples import examples_from_texts, is_profane
    assert is_profane("What The FUCK") and is_profane("fuckin' hell") and not is_profane("ain't nobody")
    assert examples_from_texts(["Bullshit!", "dick punches brain", "don’t stop", "so-awkward_2"], lambda w: True) == (
        "don't stop", "so awkward")


def _cli(args: list[str]) -> str:
    from pvse.cli import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(args) == 0
    return out.getvalue()


def _table(text: str) -> list[tuple[int, int, str]]:
    """(rank, reading, matched by) of each row of the CLI table, read at the header's columns."""
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("rank"))
    head = lines[header]
    reading_end = head.index("reading") + len("reading")
    by, path = head.index("matched by"), head.index("path")
    rows = []
    for line in lines[header + 1:]:
        if not line[:4].strip().isdigit():
            break
        rows.append((int(line[:4]), int(line[reading_end - 7:reading_end]), line[by:path].strip()))
    return rows


def test_one_search_reads_the_same_in_the_api_the_cli_and_the_app(folder):
    """The query names a clip: the sentence reading (the query as a whole against the clips' words) finds it by its
    name, and every surface numbers that reading, and each other hit's, the same way."""
    from demo.handlers import DemoHandlers
    from pvse.cli.search import COLUMNS
    from pvse.search.readings import cut

    searcher = folder["searcher"]
    result = searcher.search(QUERY, top_k=5, per_head_k=2)
    api = [(h.rank, h.reading, h.matched_by) for h in result.hits]
    top = result.hits[0]
    assert top.path == "so-awkward.gif" and top.matched_by == "its name" and top.matched_text == "so awkward"
    assert top.reading == result.sentence_reading == 4 and result.sentence_query == "it is so awkward"
    assert [h.reading for h in result.per_head] == [1, 2, 3, 4] and result.per_head[-1].sentence

    common = ["search", QUERY, "--index", str(folder["index"]), "--weights", str(folder["weights"]),
              "--top-k", "5", "--device", "cpu"]
    data = json.loads(_cli([*common, "--json", "--per-head", "2"]))
    assert [(r["rank"], r["reading"], r["matched_by"]) for r in data["hits"]] == api
    for row in data["hits"]:  # clip_head is numbered like matched_by: GIF heads 1..3, then the clip's texts
        assert (row["matched_by"] == f"GIF head {row['clip_head']}") == (row["clip_head"] <= 3)
    assert [h["reading"] for h in data["per_head"]] == [1, 2, 3, 4]
    assert data["per_head"][3]["label"] == "Reading 4: your words as a whole"

    table = _cli([*common, "--per-head", "2"])
    assert _table(table) == [(rank, reading, cut(by, COLUMNS["matched by"])) for rank, reading, by in api]
    assert "Reading 4 is your words as a whole: the sentence model read “it is so awkward”" in table
    assert [line.split(":")[0] for line in table.splitlines() if line.startswith("Reading ") and ": " in line][-4:] == [
        "Reading 1", "Reading 2", "Reading 3", "Reading 4"]
    assert data["summary"] in table

    handlers = DemoHandlers(searcher)
    view = handlers.search(QUERY, 5)
    assert view.heads_note == data["summary"] and handlers.num_readings == 4
    assert [label.split(":")[0] for label, _ in view.per_head] == ["Reading 1", "Reading 2", "Reading 3", "Reading 4"]
    for index, (rank, reading, by) in enumerate(api):
        explained = handlers.explain(view.result, index)
        assert (explained.payload["rank"], explained.payload["reading"], explained.payload["matched_by"]) == (
            rank, reading, by)
        assert [("★" in label) for label in explained.word_labels] == [k + 1 == reading for k in range(4)]
    first = handlers.explain(view.result, 0)
    assert first.summary == "Matched by its name, close in meaning to your words as a whole."
    assert "reading **4** (your words as a whole) against **its name**" in first.numbers
    assert "“it is so awkward” \\(without “my reaction when”\\)" in first.numbers  # escaped for Markdown, shown as (…)
    assert "its name as “so awkward”" in first.numbers
    assert "red" not in first.frames_caption and first.frames_caption.endswith("found by its name.")
    assert first.word_labels[3].startswith("Reading 4: your words as a whole")
