"""The extractor registry: built-in specs own the facts the trainer, checkpoints and searcher ask for; a name is
owned by one module. (tests/training/test_custom_extractors.py registers toy extractors and trains with them.)"""
import pytest

from pvse.errors import WeightsError
from pvse.features import (
    WordFeaturesSpec,
    frame_extractor_spec,
    frame_extractors,
    register_word_features,
    word_features,
    word_features_spec,
)
from pvse.features.registry import unregister


def test_builtin_specs_own_their_facts():
    assert frame_extractor_spec("efficientnet-lite0").dim == 1280 and frame_extractor_spec("resnet152").dim == 2048
    assert word_features_spec("glove-6b-50d").dim == 50 and word_features_spec("minilm-l6-v2").dim == 384
    assert "efficientnet-lite0" in frame_extractors(trainable=True) and "resnet152" not in frame_extractors(trainable=True)
    assert {"glove-6b-50d", "minilm-l6-v2"} <= set(word_features(trainable=True))
    assert "vocab-embedding" not in word_features(trainable=True)
    assert frame_extractor_spec("resnet152").carried and not frame_extractor_spec("efficientnet-lite0").carried
    vocab = word_features_spec("vocab-embedding")
    assert vocab.learned and vocab.carried and not vocab.trainable and vocab.dim is None
    assert word_features_spec("minilm-l6-v2").unknown_token == "[UNK]"
    with pytest.raises(WeightsError, match="efficientnet-lite0"):
        frame_extractor_spec("vgg19")


def test_a_name_cannot_be_taken_twice():
    spec = WordFeaturesSpec(name="toy-taken", dim=8, max_tokens=4, build=dict)
    register_word_features(spec)
    try:
        register_word_features(spec)  # the same spec again (a module imported twice) is fine
        with pytest.raises(ValueError, match="already registered"):
            register_word_features(WordFeaturesSpec(name="toy-taken", dim=8, max_tokens=4, build=list))
        with pytest.raises(ValueError, match="already registered"):
            register_word_features(WordFeaturesSpec(name="glove-6b-50d", dim=8, max_tokens=4, build=list))
    finally:
        unregister("toy-taken")
    assert "toy-taken" not in word_features()
