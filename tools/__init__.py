"""Checkout tooling outside the library: building training data, deploying the Space. Uses pvse public APIs."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
