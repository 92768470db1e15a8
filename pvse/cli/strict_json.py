"""JSON the CLI prints is strict JSON (RFC 8259), readable by jq or a browser: Python's json writes NaN and
Infinity as bare words, which no other JSON reader takes, so a number that is not finite is written as null."""
from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """`value` with every NaN or infinite float (in lists, tuples and dicts) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """`json.dumps` of `value` as strict JSON (non-finite numbers as null; never a bare NaN)."""
    return json.dumps(finite(value), allow_nan=False, **kwargs)
