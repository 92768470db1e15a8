"""Frozen feature extractors: frames -> pooled CNN vectors, sentences -> per-token word vectors.

Nothing here is trained; outputs are deterministic and may be cached. Heavy libraries (timm, transformers,
onnxruntime) load only when an extractor is built.
"""
from .frames import FRAME_EXTRACTORS, FrameExtractorInfo, FrameFeatureExtractor, build_frame_extractor
from .tokenize import tokenize
from .words import PLACEHOLDER, WORD_FEATURES, WordBatch, WordFeatures, WordFeaturesInfo, build_word_features

__all__ = [
    "FRAME_EXTRACTORS", "FrameExtractorInfo", "FrameFeatureExtractor", "build_frame_extractor",
    "tokenize",
    "PLACEHOLDER", "WORD_FEATURES", "WordBatch", "WordFeatures", "WordFeaturesInfo", "build_word_features",
]
