"""Numbers in a shared index are bounded at load: read text with a NaN score, a frame of 10**12 or a box of 1e308,
embeddings not of unit length (one clip scaled by 1e30 would top every query), attention, frame numbers and hub
scores no build writes: each is one damaged-index line, never a search answer."""
import json

import numpy as np
import pytest
from test_index_store import make_index

from pvse.errors import GalleryIndexError
from pvse.index.store import read_index, write_index


@pytest.fixture
def index_dir(tmp_path):
    return write_index(make_index(), tmp_path / "ix")


def set_read_text(index_dir, line: str) -> None:
    """Give the first clip a read_text whose one line is the raw JSON `line` (written as a tamperer would)."""
    file = index_dir / "clips.jsonl"
    rows = file.read_text().splitlines()
    rows[0] = rows[0][:-1] + ', "read_text": {"reader": "ppocr-v4@2", "lines": [' + line + ']}}'
    file.write_text("\n".join(rows) + "\n")


def one_line_error(index_dir) -> str:
    with pytest.raises(GalleryIndexError) as info:
        read_index(index_dir)
    message = str(info.value)
    assert "\n" not in message and "rebuild" in message.lower(), message
    return message


GOOD_LINE = '{"text": "hi", "frame": 3, "box": [1, 2, 30, 40], "score": 0.9}'


def test_good_read_text_is_read(index_dir):
    set_read_text(index_dir, GOOD_LINE)
    assert read_index(index_dir).clips[0].read_text.text == "hi"


@pytest.mark.parametrize("field, value", [
    ("score", "NaN"), ("score", "Infinity"), ("score", "-Infinity"), ("score", "1e400"), ("score", "2.5"),
    ("score", "-0.1"), ("score", "true"), ("score", '"0.9"'),
    ("frame", "1000000000000"), ("frame", "-1"), ("frame", "3.0"), ("frame", "NaN"),
    ("box", "[1, 2, 1e308, 4]"), ("box", "[1, 2, 30]"), ("box", "[1, 2, 30, 10000000000]"), ("box", '"1,2,3,4"'),
    ("box", "[1, 2, 30, NaN]"),
])
def test_a_tampered_read_text_number_is_one_line(index_dir, field, value):
    line = json.loads(GOOD_LINE)
    line[field] = "@@"
    set_read_text(index_dir, json.dumps(line).replace('"@@"', value))
    one_line_error(index_dir)


@pytest.mark.parametrize("scale", [1e30, 2.0, 1.01, 0.5, 0.0])
def test_one_clip_with_embeddings_not_of_unit_length_is_refused(index_dir, scale):
    embeddings = np.load(index_dir / "embeddings.npy")
    embeddings[2] *= scale
    np.save(index_dir / "embeddings.npy", embeddings)
    message = one_line_error(index_dir)
    assert "clip2.gif" in message and "unit length" in message


def test_unit_embeddings_within_float_rounding_are_read(index_dir):
    embeddings = np.load(index_dir / "embeddings.npy")
    embeddings[1] *= 1 + 1e-5
    np.save(index_dir / "embeddings.npy", embeddings)
    assert read_index(index_dir).num_clips == 4


@pytest.mark.parametrize("name, value, dtype", [("attention.npy", 5.0, np.float32),
                                                ("attention.npy", -1.0, np.float32),
                                                ("frame_indices.npy", -1, np.int32),
                                                ("frame_indices.npy", 2**31 - 1, np.int32)])
def test_attention_and_frame_numbers_no_build_writes_are_refused(index_dir, name, value, dtype):
    array = np.load(index_dir / name)
    array[0, 0] = value
    np.save(index_dir / name, array.astype(dtype))
    assert name in one_line_error(index_dir)


def test_hub_scores_no_unit_vectors_give_are_refused(index_dir):
    np.save(index_dir / "hub_scores.npy", np.array([0.1, -1e30, 0.2, 0.3], np.float32))
    assert "hub_scores.npy" in one_line_error(index_dir)
    np.save(index_dir / "hub_scores.npy", np.array([0.1, -0.4, 0.2, 0.3], np.float32))
    assert read_index(index_dir).hub_scores is not None


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}', '{"a": 1e999}'])
def test_index_json_with_non_json_numbers_is_refused(index_dir, text):
    meta = json.loads((index_dir / "index.json").read_text())
    meta["last_build"] = "@@"
    (index_dir / "index.json").write_text(json.dumps(meta).replace('"@@"', text))
    assert "index.json" in one_line_error(index_dir)
