"""`pvse index` and `pvse search` end to end on two real GIFs with a tiny random-init model."""
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pvse.cli import main
from tests.helpers.models import tiny_checkpoint

JSON_KEYS = {"rank", "name", "path", "relative_path", "score", "reading", "clip_head", "matched_by", "matched_text",
             "found_by"}


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory, shared_dir):
    root = tmp_path_factory.mktemp("cli")
    gallery = root / "gifs"
    gallery.mkdir()
    for name in ("007-joy.gif", "118-alien-monster.gif"):
        shutil.copy(shared_dir / name, gallery / name)
    (gallery / "cut.gif").write_bytes((shared_dir / "007-joy.gif").read_bytes()[:5000])
    weights = tiny_checkpoint(root / "weights", seed=0)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["index", str(gallery), "--weights", str(weights), "--device", "cpu", "--quiet",
                     "--captions", str(shared_dir / "manifest.tsv")])
    return dict(root=root, gallery=gallery, weights=weights, index=root / "gifs.index", code=code,
                stdout=out.getvalue())


def test_index_prints_a_summary_with_failures(cli_index):
    assert cli_index["code"] == 0
    text = cli_index["stdout"]
    assert "indexed 2 clips" in text and "2 new" in text
    assert "failed 1:" in text and "cut.gif" in text
    assert (cli_index["index"] / "index.json").is_file()  # default --out: GIF_DIR.index beside the folder


def test_index_rerun_reuses_everything(cli_index, capsys):
    assert main(["index", str(cli_index["gallery"]), "--out", str(cli_index["index"]), "--weights",
                 str(cli_index["weights"]), "--device", "cpu", "--quiet"]) == 0
    assert "(2 reused, 0 new, 0 changed, 0 removed)" in capsys.readouterr().out


def test_search_json_shape(cli_index, capsys):
    assert main(["search", "my reaction when", "I", "laugh", "--index", str(cli_index["index"]), "--json",
                 "--top-k", "5", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert isinstance(rows, list) and len(rows) == 2
    for rank, row in enumerate(rows, 1):
        assert set(row) == JSON_KEYS and row["rank"] == rank
        assert isinstance(row["score"], float) and -1.0 <= row["score"] <= 1.0
        assert row["reading"] in (1, 2, 3) and row["clip_head"] in (1, 2, 3)  # numbered from 1, as shown
        assert row["matched_by"] == f"GIF head {row['clip_head']}" and row["matched_text"] is None
    assert {r["relative_path"] for r in rows} == {"007-joy.gif", "118-alien-monster.gif"}
    assert {r["name"] for r in rows} == {"Joy", "Alien monster"} and all(r["found_by"] == [] for r in rows)
    for row in rows:  # a path the caller can open, wherever it runs from
        assert os.path.isabs(row["path"]) and Path(row["path"]).read_bytes()[:6] == b"GIF89a"
        assert row["path"] == os.path.realpath(cli_index["gallery"] / row["relative_path"])
    assert rows[0]["score"] >= rows[1]["score"]


def test_search_table(cli_index, capsys):
    assert main(["search", "so happy", "--index", str(cli_index["index"]), "--top-k", "1", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "matched by" in out and "reading" in out and out.count(".gif") == 1


def test_the_table_stays_aligned_when_a_text_is_long():
    """A long read text or path is cut with "…", so every row keeps its columns where the header puts them."""
    from types import SimpleNamespace as NS

    from pvse.cli.search import table
    long = "the words it shows: “" + "so much text on this sign " * 8 + "”"
    hits = [NS(rank=1, score=0.41, reading=5, matched_by=long, path="a/" + "deep/" * 20 + "sign.gif",
               display_name="sign " * 30),
            NS(rank=2, score=0.3, reading=2, matched_by="GIF head 3", path="b.gif", display_name="Joy")]
    lines = table(hits)
    name_at = lines[0].index("name")
    assert all(len(line) <= name_at + 60 for line in lines)
    for column in ("score", "reading"):  # numbers end where their header ends
        end = lines[0].index(column) + len(column)
        assert all(line[end - 1] != " " and line[end:end + 2] == "  " for line in lines[1:]), column
    for column in ("matched by", "path", "name"):  # texts start where their header starts
        at = lines[0].index(column)
        assert all(line[at - 2:at] == "  " and line[at] != " " for line in lines[1:]), column
    assert "…" in lines[1] and lines[2].split()[:4] == ["2", "0.3000", "2", "GIF"]


def test_default_index_comes_from_pvse_defaults(cli_index, capsys, monkeypatch):
    monkeypatch.setenv("PVSE_INDEX", str(cli_index["index"]))
    assert main(["search", "happy", "--json", "--device", "cpu"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2


@pytest.mark.parametrize("query, message", [("   ", "error: the query is empty"),
                                            ("", "error: the query is empty")])
def test_empty_query_is_one_clear_line(cli_index, capsys, query, message):
    assert main(["search", query, "--index", str(cli_index["index"]), "--device", "cpu"]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err and captured.out == ""


def test_query_without_known_words_answers_with_empty_json(cli_index, capsys):
    assert main(["search", "qwxzvb", "--index", str(cli_index["index"]), "--json", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [] and "None of the words" in captured.err


def test_missing_index_and_bad_top_k(tmp_path, capsys):
    assert main(["search", "hi", "--index", str(tmp_path / "nope")]) == 2
    assert "no gallery index at" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["search", "hi", "--top-k", "0"])
    assert exit_info.value.code == 2


def test_weights_mismatch_is_a_clear_error(cli_index, tmp_path, capsys):
    other = tiny_checkpoint(tmp_path / "other", seed=3)
    assert main(["search", "hi", "--index", str(cli_index["index"]), "--weights", str(other), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "was built with the weights" in err and "pvse index" in err


def test_json_stdout_is_pure_json_in_a_subprocess(cli_index):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONWARNINGS": "default"}
    proc = subprocess.run([sys.executable, "-m", "pvse", "search", "😂 when it works", "--index",
                           str(cli_index["index"]), "--json", "--device", "cpu"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [set(r) for r in rows] == [JSON_KEYS, JSON_KEYS]
    assert "face with tears of joy" in proc.stderr  # the emoji note went to stderr, not stdout


def test_index_rejects_a_parameter_of_another_index_kind(cli_index, capsys):
    code = main(["index", str(cli_index["gallery"]), "--weights", str(cli_index["weights"]), "--device", "cpu",
                 "--quiet", "--index-kind", "hnsw", "--index-param", "nlist=64"])
    assert code == 2 and "nlist do not apply to a 'hnsw' index" in capsys.readouterr().err


def test_bundled_nonsense_query_says_no_results_and_why(capsys):
    assert main(["search", "xqzv", "blorp", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "No results." in out and "None of the words" in out


def test_per_head_rows_end_with_the_readings_in_words(cli_index, capsys):
    assert main(["search", "so happy", "--index", str(cli_index["index"]), "--per-head", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    # the 3 query heads and, since the clips' names are matched by default, the words as a whole (as in the app)
    assert [line.split(":")[0] for line in lines[-5:-1]] == ["Reading 1", "Reading 2", "Reading 3", "Reading 4"]
    assert lines[-1].startswith(("All 4 readings of your words agree on the best GIF: ", "Your words can be read 4 ways"))


def test_per_head_json(cli_index, capsys):
    assert main(["search", "so happy", "--index", str(cli_index["index"]), "--json", "--per-head", "1",
                 "--device", "cpu"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"hits", "per_head", "summary"} and len(data["per_head"]) == 4  # 3 heads + the words whole
    assert [h["reading"] for h in data["per_head"]] == [1, 2, 3, 4]
    assert all(set(h["hits"][0]) == JSON_KEYS and h["hits"][0]["reading"] == h["reading"] for h in data["per_head"])
    assert all(h["label"].startswith(f"Reading {h['reading']}") for h in data["per_head"])
    assert data["summary"].startswith(("All 4 readings", "Your words can be read 4 ways"))


def strict_json(text: str):
    """JSON as jq or a browser reads it: NaN and Infinity are not JSON."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def tampered_index(cli_index, tmp_path):
    """A copy of the CLI index beside a copy of its gallery (so its relative gallery root still holds)."""
    shutil.copytree(cli_index["gallery"], tmp_path / "gifs")
    shutil.copytree(cli_index["index"], tmp_path / "gifs.index")
    return tmp_path / "gifs.index"


@pytest.mark.parametrize("line", ['{"text": "hi", "frame": 0, "box": [0, 0, 9, 9], "score": NaN}',
                                  '{"text": "hi", "frame": 1000000000000, "box": [0, 0, 9, 9], "score": 0.5}',
                                  '{"text": "hi", "frame": 0, "box": [0, 0, 1e308, 9], "score": 0.5}'])
def test_search_json_refuses_read_text_numbers_no_reader_writes(cli_index, tmp_path, capsys, line):
    index = tampered_index(cli_index, tmp_path)
    rows = (index / "clips.jsonl").read_text().splitlines()
    rows[0] = rows[0][:-1] + ', "read_text": {"reader": "ppocr-v4@2", "lines": [' + line + ']}}'
    (index / "clips.jsonl").write_text("\n".join(rows) + "\n")
    assert main(["search", "so happy", "--index", str(index), "--json", "--device", "cpu"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "rebuild" in captured.err.lower() and len(captured.err.strip().splitlines()) == 1


def test_one_clip_scaled_by_1e30_is_refused_not_first_for_every_query(cli_index, tmp_path, capsys):
    import numpy as np
    index = tampered_index(cli_index, tmp_path)
    embeddings = np.load(index / "embeddings.npy")
    embeddings[1] *= 1e30
    np.save(index / "embeddings.npy", embeddings)
    assert main(["search", "so happy", "--index", str(index), "--json", "--device", "cpu"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "not of unit length" in captured.err


def test_search_json_is_strict_json(cli_index, capsys):
    assert main(["search", "so happy", "--index", str(cli_index["index"]), "--json", "--per-head", "1",
                 "--device", "cpu"]) == 0
    assert strict_json(capsys.readouterr().out)["hits"]


def test_strict_json_writes_non_finite_numbers_as_null():
    from pvse.cli import strict_json as out
    text = out.dumps({"score": float("nan"), "rows": [1.5, float("inf"), (float("-inf"), "x")]})
    assert strict_json(text) == {"score": None, "rows": [1.5, None, [None, "x"]]}
