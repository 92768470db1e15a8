"""Measurements run from a checkout; they read its bundled gallery and write to benchmarks/results."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BUNDLED_GALLERY = REPO_ROOT / "gallery" / "noto-emoji"
SHARED_EMOJI = REPO_ROOT.parent / "shared" / "data" / "noto-animated-emoji"  # the full set, beside the checkout
