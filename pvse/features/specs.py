"""The spec of a frozen extractor (one per frame CNN, one per word-feature model) and the table they are
registered in. An implementing module imports only this (`register_frame_extractor` / `register_word_features`
at its import time); finding the implementations and looking specs up is `registry`'s job, so neither imports
the other's users.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..registry import Registry
from .preprocessing import FramePreprocessing


@dataclass(frozen=True)
class FrameExtractorSpec:
    """A frozen frame CNN: (N, 3, S, S) normalised pixels -> (N, dim) pooled features.

    build_trunk(state_dict or None) returns the trunk in eval mode; state_dict holds the trunk's own weights
    when the checkpoint carries them (`carried`). `trainable`: `pvse train` may use it, i.e. it can be built
    without weights from a checkpoint. weights_file() names the file of the default weights (state_dict None):
    its hash keys the cached ONNX graph, so a process can run the CNN without building the trunk.
    """

    name: str
    dim: int
    build_trunk: Callable[[dict | None], Any]
    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    carried: bool = False
    trainable: bool = True
    about: str = ""
    weights_file: Callable[[], str] | None = None

    @property
    def preprocessing(self) -> FramePreprocessing:
        """The extractor's own frame preprocessing: T frames at segment centres, the whole frame squashed to
        image_size (antialiased bicubic), normalised with its mean / std. A model config may name another."""
        return FramePreprocessing(size=self.image_size, mean=self.mean, std=self.std)


@dataclass(frozen=True)
class WordFeaturesSpec:
    """A word-feature model: sentences -> one vector per token (`pvse.features.words.WordFeatures`).

    dim: vector size (None when the model's config says it, as for a learned table). normalisation: how text
    becomes tokens, in words. unknown_token: the token the model shows for text it cannot read (None: unknown
    tokens are shown as typed). special_tokens: tokens it adds that are not words of the query. continuation: the
    prefix of a piece that continues the previous word ("##"; "" when tokens are whole words). The searcher groups
    tokens back into the typed words with these (`pieces.group_tokens`). learned: the
    vectors are a table inside the PVSE model (ids, not features, go in; nothing frozen to build or cache).
    carried: files the checkpoint must hold for it (e.g. the vocabulary of a learned table). trainable: `pvse
    train` may use it.
    """

    name: str
    dim: int | None
    max_tokens: int
    build: Callable[..., Any] | None
    normalisation: str = ""
    unknown_token: str | None = None
    special_tokens: tuple[str, ...] = ()
    continuation: str = ""  # the prefix of a token that continues the previous word ("##" in WordPiece)
    learned: bool = False
    carried: bool = False
    trainable: bool = True
    about: str = ""


def _origin(spec) -> str:
    """Where the spec's build function is defined (a reloaded module may register its spec again)."""
    build = getattr(spec, "build_trunk", None) or getattr(spec, "build", None)
    return f"{getattr(build, '__module__', '')}.{getattr(build, '__qualname__', '')}"


FRAME_EXTRACTORS: Registry[FrameExtractorSpec] = Registry("frame extractor", origin=_origin)  # found by `registry`
WORD_FEATURES: Registry[WordFeaturesSpec] = Registry("word features", origin=_origin)


def register_frame_extractor(spec: FrameExtractorSpec) -> FrameExtractorSpec:
    """Add a frame CNN (call at import time of the module that implements it); returns the spec."""
    return FRAME_EXTRACTORS.register(spec)


def register_word_features(spec: WordFeaturesSpec) -> WordFeaturesSpec:
    """Add a word-feature model (call at import time of the module that implements it); returns the spec."""
    return WORD_FEATURES.register(spec)


def unregister(name: str) -> None:
    """Remove a frame or word spec by name (for tests and plug-ins that withdraw one)."""
    FRAME_EXTRACTORS.unregister(name)
    WORD_FEATURES.unregister(name)
