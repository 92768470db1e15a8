"""Decoded frame strips kept in memory, so clicking the same GIF again does not decode it again."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from threading import Lock

import numpy as np


class FrameCache:
    """row -> the T frames the index sampled for it, decoded on first use; the `size` latest kept (thread-safe)."""

    def __init__(self, decode: Callable[[int], list[np.ndarray]], size: int) -> None:
        self.decode = decode
        self.size = size
        self._frames: OrderedDict[int, list[np.ndarray]] = OrderedDict()
        self._lock = Lock()

    def get(self, row: int) -> list[np.ndarray]:
        """The sampled frames of `row`, from memory when decoded before (decoding runs outside the lock)."""
        with self._lock:
            if row in self._frames:
                self._frames.move_to_end(row)
                return self._frames[row]
        frames = list(self.decode(row))
        with self._lock:
            self._frames[row] = frames
            while len(self._frames) > self.size:
                self._frames.popitem(last=False)
        return frames
