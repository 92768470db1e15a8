"""Which frozen extractors exist: one spec per frame CNN and per word-feature model, registered by its own module.

Each implementing module calls `register_frame_extractor` / `register_word_features` at import time with a spec
that owns every fact about it (name, output size, normalisation, tokens, whether its weights travel with a
checkpoint, whether training may use it). Training, checkpoints, the searcher and the CLI ask the spec instead of
keeping their own lists. This module imports no implementation: the built-in ones are the modules named in
`BUILTIN_MODULES` (a `pvse.registry.Catalog` imports them when first asked); other packages add theirs
through the `pvse_gif.features` entry-point group (each entry point names a module to import), e.g. in their pyproject.toml::

    [project.entry-points."pvse_gif.features"]
    my-cnn = "my_package.my_cnn"
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import WeightsError
from ..registry import Catalog
from .specs import (  # noqa: F401 - the specs and their registration, looked up here
    FRAME_EXTRACTORS,
    WORD_FEATURES,
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
_FRAMES = Catalog(FRAME_EXTRACTORS, BUILTIN_MODULES, ENTRY_POINT_GROUP)
_WORDS = Catalog(WORD_FEATURES, BUILTIN_MODULES, ENTRY_POINT_GROUP)


def frame_extractors(*, trainable: bool | None = None) -> dict[str, FrameExtractorSpec]:
    """Registered frame CNNs by name, sorted (only those that training may use when trainable=True)."""
    return {n: s for n, s in _FRAMES.all().items() if trainable is None or s.trainable == trainable}


def word_features(*, trainable: bool | None = None) -> dict[str, WordFeaturesSpec]:
    """Registered word-feature models by name, sorted (only those that training may use when trainable=True)."""
    return {n: s for n, s in _WORDS.all().items() if trainable is None or s.trainable == trainable}


def frame_extractor_spec(name: str) -> FrameExtractorSpec:
    """The spec of frame CNN `name`, or a WeightsError naming the known ones."""
    return _FRAMES.get(name, WeightsError)


def word_features_spec(name: str) -> WordFeaturesSpec:
    """The spec of word-feature model `name`, or a WeightsError naming the known ones."""
    return _WORDS.get(name, WeightsError)


def build_word_features(name: str, **kwargs) -> WordFeatures:
    """Build a frozen word-feature encoder by name (see `word_features`); kwargs go to its constructor
    (max_tokens for all; device and batch_size for MiniLM)."""
    spec = word_features_spec(name)
    if spec.learned or spec.build is None:
        raise WeightsError(f"{name!r} is learned inside the model, not a frozen feature: load it with its checkpoint")
    return spec.build(**kwargs)
