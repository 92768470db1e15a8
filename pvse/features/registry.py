"""Which frozen extractors exist: one spec per frame CNN and per word-feature model, registered by its own module.

Each implementing module calls `register_frame_extractor` / `register_word_features` at import time with a spec
that owns every fact about it (name, output size, normalisation, tokens, whether its weights travel with a
checkpoint, whether training may use it). Training, checkpoints, the searcher and the CLI ask the spec instead of
keeping their own lists. This module imports no implementation: the built-in ones are the modules named in
`BUILTIN_MODULES`; other packages add theirs through the `pvse_gif.features` entry-point group (each entry point
names a module to import), e.g. in their pyproject.toml::

    [project.entry-points."pvse_gif.features"]
    my-cnn = "my_package.my_cnn"
"""
from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from ..errors import WeightsError
from .specs import (  # noqa: F401 - the specs and their registration, looked up here
    _REGISTRY,
    FrameExtractorSpec,
    WordFeaturesSpec,
    register_frame_extractor,
    register_word_features,
    unregister,
)

if TYPE_CHECKING:
    from .words import WordFeatures

BUILTIN_MODULES = ("pvse.features.backbones", "pvse.features.glove", "pvse.features.minilm", "pvse.features.vocab")
ENTRY_POINT_GROUP = "pvse_gif.features"


def _discover() -> None:
    """Import the built-in implementations and the entry points' modules once per process."""
    if _REGISTRY.discovered:
        return
    with _REGISTRY.lock:
        if _REGISTRY.discovered:
            return
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            entry.load()
        _REGISTRY.discovered = True


def frame_extractors(*, trainable: bool | None = None) -> dict[str, FrameExtractorSpec]:
    """Registered frame CNNs by name, sorted (only those that training may use when trainable=True)."""
    _discover()
    return {n: s for n, s in sorted(_REGISTRY.frames.items()) if trainable is None or s.trainable == trainable}


def word_features(*, trainable: bool | None = None) -> dict[str, WordFeaturesSpec]:
    """Registered word-feature models by name, sorted (only those that training may use when trainable=True).

    Sorted, not in registration order: which module happens to be imported first must not change a listing."""
    _discover()
    return {n: s for n, s in sorted(_REGISTRY.words.items()) if trainable is None or s.trainable == trainable}


def frame_extractor_spec(name: str) -> FrameExtractorSpec:
    """The spec of frame CNN `name`, or a WeightsError naming the known ones."""
    known = frame_extractors()
    if name not in known:
        raise WeightsError(f"unknown frame extractor {name!r}; known: {', '.join(known)}")
    return known[name]


def word_features_spec(name: str) -> WordFeaturesSpec:
    """The spec of word-feature model `name`, or a WeightsError naming the known ones."""
    known = word_features()
    if name not in known:
        raise WeightsError(f"unknown word features {name!r}; known: {', '.join(known)}")
    return known[name]


def build_word_features(name: str, **kwargs) -> WordFeatures:
    """Build a frozen word-feature encoder by name (see `word_features`); kwargs go to its constructor
    (max_tokens for all; device and batch_size for MiniLM)."""
    spec = word_features_spec(name)
    if spec.learned or spec.build is None:
        raise WeightsError(f"{name!r} is learned inside the model, not a frozen feature: load it with its checkpoint")
    return spec.build(**kwargs)
