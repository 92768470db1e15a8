"""Situation training pairs for the bundled emoji (see pairs.py)."""
