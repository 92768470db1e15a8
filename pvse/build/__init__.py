"""Building a gallery index: plan (scan, hash, what is reused) -> encode (decode, frame CNN, text reader, video
encoder) -> write (names, text heads, hub scores, metadata, the backend's writer), each stage a module; Ray
spreads the encoding over a cluster (`ray_build`).

`build_index` is imported on first use, so importing `pvse.build` costs nothing until a build runs.
"""
from __future__ import annotations

from ..lazy_names import lazy_names

_WHERE = {"build_index": "run", "BuildReport": "report"}
__all__ = list(_WHERE)

__getattr__, __dir__ = lazy_names(__name__, _WHERE, globals())
