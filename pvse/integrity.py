"""Checking a state dict against what a model expects, and hashing files: one wording and one digest for every
loader (checkpoints, frame CNN trunks, the official-checkpoint converter, the feature cache)."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def listing(keys: list[str], limit: int = 4) -> str:
    """'a, b, c, d ... (9 in all)': the first `limit` keys and how many there are."""
    shown = ", ".join(keys[:limit])
    return shown + (f" ... ({len(keys)} in all)" if len(keys) > limit else "")


def _shape(value: Any) -> tuple[int, ...] | None:
    shape = getattr(value, "shape", value)
    try:
        return tuple(int(n) for n in shape)
    except TypeError:
        return None


def mismatch(expected: Mapping[str, Any], given: Mapping[str, Any], limit: int = 4) -> str | None:
    """What keeps `given` from loading into `expected` ('missing: ...; unexpected: ...; wrong shape: name (2, 3),
    expected (3, 3)'), or None when every name is there with its shape. Values are tensors or shapes."""
    missing = sorted(set(expected) - set(given))
    unexpected = sorted(set(given) - set(expected))
    wrong = sorted(f"{key} {_shape(given[key])}, expected {_shape(expected[key])}"
                   for key in set(expected) & set(given)
                   if _shape(given[key]) is None or _shape(given[key]) != _shape(expected[key]))
    parts = [f"{label}: {listing(keys, limit)}"
             for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)) if keys]
    return "; ".join(parts) or None


def file_sha256(path: str | Path, prefix: bytes = b"") -> str:
    """Hex sha256 of `prefix` followed by the file's bytes (read in chunks by hashlib.file_digest)."""
    digest = hashlib.sha256(prefix)
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, lambda: digest).hexdigest()


def content_hash(path: str | Path) -> str:
    """sha256 of the file's bytes (32 hex digits): identifies a clip across renames and re-indexing."""
    return file_sha256(path)[:32]
