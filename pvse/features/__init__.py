"""Frozen feature extractors: frames -> pooled CNN vectors, sentences -> per-token word vectors.

Nothing here is trained; outputs are deterministic and may be cached. Heavy libraries (timm, transformers,
onnxruntime) load only when an extractor is built. Which extractors exist, and every fact about each, is in
`registry` (each implementing module registers its own spec, `specs`). The names below are imported on first use,
so importing one submodule (e.g. `preprocessing` for a model config) does not import them all.
"""
from __future__ import annotations

from ..lazy_names import lazy_names
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

__getattr__, __dir__ = lazy_names(__name__, _WHERE, globals())
