"""The project's exceptions: one family, each message says what went wrong and how to fix it."""
from __future__ import annotations

from pathlib import Path


class PVSEError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(PVSEError):
    """A setting is invalid (e.g. a `pvse train` option out of range); says which and what it accepts."""


class MediaError(PVSEError):
    """A clip could not be decoded (corrupt, truncated, not media, or over a safety limit)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class WeightsError(PVSEError):
    """A checkpoint could not be found, or does not match what was asked of it."""


class DeviceError(PVSEError):
    """The device asked for is not available here (e.g. --device cuda on a machine without CUDA)."""


class GalleryIndexError(PVSEError):
    """A gallery index is missing, damaged, or was built with other weights."""


class QueryError(PVSEError):
    """A search query cannot be answered (empty, nothing recognisable in it, ...)."""
