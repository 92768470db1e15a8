"""Frozen feature extractors: frames -> pooled CNN vectors, sentences -> per-token word vectors.

Nothing here is trained; outputs are deterministic and may be cached. Heavy libraries (timm, transformers,
onnxruntime) load only when an extractor is built. Which extractors exist, and every fact about each, is in
`registry` (each implementing module registers its own spec).
"""
from .frames import FrameFeatureExtractor, build_frame_extractor
from .registry import (
                       FrameExtractorSpec,
                       WordFeaturesSpec,
                       frame_extractor_spec,
                       frame_extractors,
                       register_frame_extractor,
                       register_word_features,
                       word_features,
                       word_features_spec,
)
from .tokenize import tokenize
from .words import PLACEHOLDER, WordBatch, WordFeatures, build_word_features

__all__ = [
    "FrameFeatureExtractor", "build_frame_extractor",
    "FrameExtractorSpec", "WordFeaturesSpec", "frame_extractor_spec", "frame_extractors", "register_frame_extractor",
    "register_word_features", "word_features", "word_features_spec",
    "tokenize",
    "PLACEHOLDER", "WordBatch", "WordFeatures", "build_word_features",
]
