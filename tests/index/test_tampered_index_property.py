"""Property: whatever is changed in an index folder or its weights folder, loading it and searching it (as
`pvse search` and `python -m demo` do) gives a one-line error (a PVSEError) or a correct answer; never another
exception (a traceback), and never a file outside the folder holding the index served (`served_files`).

Hypothesis mutates a valid index + weights pair at random: a JSON field set to a value of another type or size, a
key deleted, a file truncated, replaced by random bytes or deeply nested JSON, an array made NaN or reshaped, a
clip linked out of the gallery, the gallery root pointed elsewhere. Fixed seed (derandomize), bounded examples.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from demo.serving import served_files
from pvse.errors import PVSEError
from pvse.index import read_index
from pvse.index.faiss_search import build_vector_index
from pvse.index.records import ClipRecord
from pvse.index.store import GalleryIndex, write_index
from pvse.pipeline import PVSEPipeline
from pvse.search import Searcher
from tests.helpers.models import tiny_checkpoint

QUERY = "so happy i could cry"
FILES = ["index.json", "clips.jsonl", "embeddings.npy", "attention.npy", "frame_indices.npy", "hub_scores.npy",
         "vectors.faiss", "weights/config.json"]


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """home/ holds gifs/ (5 GIFs), gifs.index (their index) and weights/; outside/ a secret GIF elsewhere."""
    root = tmp_path_factory.mktemp("property")
    home, outside = root / "home", root / "outside"
    (home / "gifs").mkdir(parents=True)
    outside.mkdir()
    for i in range(5):
        Image.new("P", (8, 8), i).save(home / "gifs" / f"clip{i}.gif")
    Image.new("P", (8, 8), 9).save(outside / "secret.gif")
    tiny_checkpoint(home / "weights", num_embeds=2, embed_dim=8, num_frames=3)
    pipeline = PVSEPipeline.from_pretrained(str(home / "weights"), device="cpu")
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((5, 2, 8)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=-1, keepdims=True)
    vectors, params = build_vector_index(emb.reshape(-1, 8), "flat")
    meta = {"format": "pvse-gif-index", "format_version": 1,
            "weights": {"ref": "../weights", "fingerprint": pipeline.fingerprint, "ref_is_relative_path": True},
            "config": pipeline.config.to_dict(), "num_embeds": 2, "num_attention_heads": 2, "embed_dim": 8,
            "num_frames": 3, "frame_features": "efficientnet-lite0", "word_features": "glove-6b-50d",
            "gallery_root": "../gifs", "vectors": {"kind": "flat", "params": params},
            "counts": {"clips": 5, "vectors": 10}, "last_build": {}, "text_heads": 0}
    clips = [ClipRecord(f"clip{i}.gif", f"h{i}", 3, name=f"Clip {i}") for i in range(5)]
    index = GalleryIndex(meta, clips, emb, np.full((5, 2, 3), 1 / 3, np.float32),
                         np.tile(np.arange(3, dtype=np.int32), (5, 1)), vectors,
                         hub_scores=np.zeros(5, np.float32))
    write_index(index, home / "gifs.index")
    baseline = Searcher(read_index(home / "gifs.index"), pipeline).search(QUERY, top_k=3)
    return dict(root=root, home=home, outside=outside, pipeline=pipeline,
                baseline=[(h.path, round(h.score, 5)) for h in baseline.hits])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
    | st.sampled_from(["/", "/etc", "..", "../outside", "../../outside", "../gifs", "clip1.gif", "../secret.gif"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)


def json_paths(value, prefix=()):
    """Every (path of keys / indexes) inside a parsed JSON value, the value itself first."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from json_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from json_paths(child, (*prefix, i))


def set_at(value, path, new, delete=False):
    if not path:
        return new
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return value


@st.composite
def mutations(draw):
    """One random change: (what, arguments), applied by `apply`."""
    kind = draw(st.sampled_from(["json", "json", "json", "bytes", "truncate", "nest", "array", "link", "root"]))
    file = draw(st.sampled_from(FILES))
    return kind, file, draw(st.integers(0, 10**6)), draw(json_values), draw(st.booleans()), \
        draw(st.binary(max_size=64))


def apply(mutation, home: Path, outside: Path) -> None:
    kind, file, n, value, flag, blob = mutation
    path = home / "gifs.index" / file if not file.startswith("weights/") else home / file
    if kind == "json" and file.endswith((".json", ".jsonl")):
        lines = path.read_text().splitlines() if file.endswith(".jsonl") else [path.read_text()]
        row = n % len(lines)
        data = json.loads(lines[row])
        paths = list(json_paths(data))
        target = paths[n % len(paths)]
        data = set_at(data, target, value, delete=flag and bool(target) and isinstance(data, dict | list))
        lines[row] = json.dumps(data, allow_nan=True)
        path.write_text("\n".join(lines) + "\n")
    elif kind == "bytes":
        data = bytearray(path.read_bytes())
        start = n % max(len(data), 1)
        data[start:start + len(blob)] = blob
        path.write_bytes(bytes(data))
    elif kind == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: n % max(len(data), 1)])
    elif kind == "nest":
        path.write_text("[" * (n % 200_000) + ("]" * (n % 200_000) if flag else ""))
    elif kind == "array" and file.endswith(".npy"):
        array = np.load(path)
        if flag:
            array = array.astype(np.float32)
            array.flat[n % array.size] = [np.nan, np.inf, -np.inf, 1e30][n % 4]
        else:
            array = np.zeros(tuple((n >> (4 * i)) % 7 for i in range(1 + n % 3)), [np.float32, np.int64, np.uint8][n % 3])
        np.save(path, array)
    elif kind == "link":  # a clip replaced by a link out of the gallery (to another folder, or a system file)
        clip = home / "gifs" / f"clip{n % 5}.gif"
        clip.unlink()
        clip.symlink_to([outside / "secret.gif", "/etc/passwd", home / "gifs.index" / "index.json",
                         home.parent / "home-private" / "x.gif"][n % 4])
    elif kind == "root":
        meta = json.loads((home / "gifs.index" / "index.json").read_text())
        meta["gallery_root"] = [str(outside), "../../outside", "/etc", "/usr/share", "..", "../gifs/../../outside",
                                str(home.parent), "../weights"][n % 8]
        (home / "gifs.index" / "index.json").write_text(json.dumps(meta))


def is_inside(path: Path, folder: Path) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(folder)
    return real == base or real.startswith(base + os.sep)


@settings(max_examples=120, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(changes=st.lists(mutations(), min_size=1, max_size=3))
def test_a_tampered_index_is_a_one_line_error_or_a_correct_answer(original, tmp_path_factory, changes):
    work = tmp_path_factory.mktemp("case")
    home = work / "home"
    shutil.copytree(original["home"], home, symlinks=True)
    (work / "home-private").mkdir()
    Image.new("P", (8, 8), 7).save(work / "home-private" / "x.gif")
    for change in changes:
        apply(change, home, original["outside"])
    weights_changed = any(c[1].startswith("weights/") for c in changes)
    try:
        index = read_index(home / "gifs.index")
        pipeline = (PVSEPipeline.from_pretrained(str(home / "weights"), device="cpu") if weights_changed
                    else original["pipeline"])
        searcher = Searcher(index, pipeline)
        result = searcher.search(QUERY, top_k=3)
        served = served_files(searcher)
    except PVSEError as exc:
        assert "\n" not in str(exc).strip() and str(exc).strip(), repr(exc)
        return
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for path in [*served.values(), *(h.abs_path for h in result.hits)]:
        assert is_inside(path, searcher.gallery_root) and is_inside(path, home), path
        assert not is_inside(path, original["outside"]) and not str(path).startswith(("/etc", "/usr"))
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True) and all(np.isfinite(scores))
    for hit in result.hits:
        assert hit.score == pytest.approx(float(hit.head_similarities.max()), abs=1e-5)
    same = (index.meta.gallery_root == "../gifs" and index.num_clips == 5 and not index.meta.text_heads
            and [c.path for c in index.clips] == [f"clip{i}.gif" for i in range(5)]
            and np.array_equal(index.embeddings, read_index(original["home"] / "gifs.index").embeddings)
            and not any(c[0] == "link" for c in changes))
    if same:
        assert [(h.path, round(h.score, 5)) for h in result.hits] == original["baseline"]
