"""Frozen feature extractors: frames -> pooled CNN vectors, sentences -> per-token word vectors.

Nothing here is trained; outputs are deterministic and may be cached. Heavy libraries (timm, transformers,
onnxruntime) load only when an extractor is built. Which extractors exist, and every fact about each, is in
`registry` (each implementing module registers its own spec, `specs`). The names below are imported on first use,
so importing one submodule (e.g. `preprocessing` for a model config) does not import them all.
"""
from __future__ import annotations

import importlib

from .tokenize import tokenize  # the function, not the submodule of the same name

_WHERE = {
    "FrameFeatureExtractor": "frames", "build_frame_extractor": "frames",
    "FrameExtractorSpec": "specs", "WordFeaturesSpec": "specs", "register_frame_extractor": "specs",
    "register_word_features": "specs", "frame_extractor_spec": "registry", "frame_extractors": "registry",
    "word_features": "registry", "word_features_spec": "registry", "build_word_features": "registry",
    "FramePreprocessing": "preprocessing",
    "PLACEHOLDER": "words", "WordBatch": "words", "WordFeatures": "words",
}
__all__ = [*_WHERE, "tokenize"]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
