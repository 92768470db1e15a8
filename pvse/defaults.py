"""Where the bundled default model and gallery live (overridable with PVSE_WEIGHTS / PVSE_INDEX)."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BUNDLED_WEIGHTS = REPO_ROOT / "weights" / "default"
BUNDLED_GALLERY = REPO_ROOT / "gallery" / "noto-emoji"
BUNDLED_INDEX = REPO_ROOT / "gallery" / "noto-emoji.index"


def default_weights() -> str:
    return os.environ.get("PVSE_WEIGHTS") or str(BUNDLED_WEIGHTS)


def default_index() -> Path | str:
    """$PVSE_INDEX, else the bundled gallery's index; a vector-database location (milvus://...) stays a string."""
    location = os.environ.get("PVSE_INDEX")
    if location and "://" in location:
        return location
    return Path(location or BUNDLED_INDEX)


def default_feature_cache() -> Path:
    """Where frozen frame / word features are cached: $PVSE_FEATURE_CACHE, else ~/.cache/pvse-gif/features."""
    return Path(os.environ.get("PVSE_FEATURE_CACHE") or "~/.cache/pvse-gif/features").expanduser()
