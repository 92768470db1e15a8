"""Upper bounds on what untrusted input may ask for, each owned here, checked before anything is allocated.

Index folders and checkpoints are shared and downloaded, so their JSON files (`index.json`, `clips.jsonl`,
a checkpoint's `config.json`) are read through `read_json` (size and nesting bounded) and their numbers
checked against these bounds, far above any real model or gallery, before arrays or a model are made from them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MAX_HEADS = 64  # K, attention heads / embeddings per clip from its frames (the paper uses up to 4)
MAX_EMBED_DIM = 8192  # H, the joint space (the paper: 1024)
MAX_FEATURE_DIM = 16384  # a frame CNN's or word model's output size
MAX_FRAMES = 1024  # T, frames sampled per clip
MAX_VOCAB = 10_000_000  # rows of a learned word table
MAX_CLIPS = 100_000_000  # rows of one index
MAX_SOURCE_FRAMES = 10_000_000  # frames of one clip

MAX_META_BYTES = 64 * 2**20  # index.json (its last build lists every failed file)
MAX_CLIP_LINE_BYTES = 2**20  # one clips.jsonl row
MAX_CONFIG_BYTES = 2**20  # a checkpoint's config.json
MAX_JSON_DEPTH = 32  # nesting of any of them (they use 4 levels)

MAX_FRAME_SIDE = 1 << 20  # a read-text box coordinate, in a frame's pixels (far above any real frame)

MAX_TOP_K = 48  # results of one search, in the app and the CLI (--top-k, --per-head)


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar is 0)."""
    depth, level = 0, [(value, 1)]
    while level:
        item, d = level.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            depth = max(depth, d)
            level.extend((child, d + 1) for child in children)
    return depth


def parse_json(text: str | bytes, what: str, max_bytes: int) -> Any:
    """Parse JSON text of at most `max_bytes` nesting at most MAX_JSON_DEPTH; ValueError naming `what` otherwise."""
    if len(text) > max_bytes:
        raise ValueError(f"{what} is over {max_bytes} bytes")
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{what} is not valid JSON ({exc})") from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    return value


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (Python's json reads them unless told not to)."""
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


def _finite_float(text: str) -> float:
    """A JSON number as a float, refused when it overflows to infinity (1e400)."""
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise json.JSONDecodeError(f"{text:.40} is too large a number", text, 0)
    return value


def number(value: Any, what: str, low: float, high: float) -> float:
    """`value` as a float in [low, high] (a JSON number, not a bool, not NaN); ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{what} must be a number from {low} to {high}, got {value!r:.60}")
    return float(value)


def read_json(path: str | Path, max_bytes: int) -> Any:
    """A JSON file no larger than `max_bytes` (checked before reading); ValueError / OSError otherwise."""
    path = Path(path)
    with open(path, "rb") as fh:
        data = fh.read(max_bytes + 1)
    return parse_json(data, path.name, max_bytes)


def whole(value: Any, what: str, low: int, high: int) -> int:
    """`value` as a whole number in [low, high] (a JSON integer, not a bool or a float); ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{what} must be a whole number from {low} to {high}, got {value!r:.60}")
    return value
