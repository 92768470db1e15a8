"""Running the search on a Hugging Face ZeroGPU Space: a GPU is borrowed per call, only there.

`spaces.GPU` borrows a GPU for the call on ZeroGPU hardware (for the sentence encoder of an index with text
heads); anywhere else it returns the function unchanged, so the app runs the same code on every machine.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import spaces

ZEROGPU_SECONDS = 30  # the longest one search may hold the borrowed GPU
F = TypeVar("F", bound=Callable)


def on_zerogpu(function: F, seconds: int = ZEROGPU_SECONDS) -> F:
    """`function`, run on a borrowed GPU for at most `seconds` on a ZeroGPU Space; elsewhere `function` itself."""
    return spaces.GPU(duration=seconds)(function)
