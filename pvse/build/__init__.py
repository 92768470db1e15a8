"""Building a gallery index: plan (scan, hash, what is reused) -> encode (decode, frame CNN, text reader, video
encoder) -> write (names, text heads, hub scores, metadata, the backend's writer), each stage a module; Ray
spreads the encoding over a cluster (`ray_build`).

`build_index` is imported on first use, so importing `pvse.build` costs nothing until a build runs.
"""
from __future__ import annotations

import importlib

_WHERE = {"build_index": "run", "BuildReport": "report"}
__all__ = list(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
