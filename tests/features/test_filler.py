"""Filler words: the one list, and how it is found among word pieces and in a head's attention."""
import numpy as np
import pytest

from pvse.features import word_features_spec
from pvse.features.filler import FILLER_WORDS, filler_share, filler_token_mask, is_filler


@pytest.mark.parametrize("word", ["my", "When", "I'm", "i\u2019m", "mrw", "could,", "(have", "been..."])
def test_function_words_and_the_opener_are_filler(word):
    assert is_filler(word)


@pytest.mark.parametrize("word", ["can't", "laughing", "meeting", "email", "...", "", "stop"])
def test_content_words_and_punctuation_are_not(word):
    assert not is_filler(word)


def test_filler_tokens_are_found_through_word_pieces():
    tokens = ["mr", "##w", "i", "can", "'", "t", "stop", "laughing", "!"]
    mask = filler_token_mask(tokens, "mrw I can't stop laughing!", word_features_spec("minilm-l6-v2"))
    assert mask.tolist() == [True, True, True, False, False, False, False, False, False]


def test_filler_share_is_each_heads_attention_on_filler():
    words = ["my", "reaction", "when", "laughing"]
    attention = np.array([[0.5, 0.2, 0.3, 0.0], [0.0, 0.0, 0.0, 1.0]])
    np.testing.assert_allclose(filler_share(words, attention), [1.0, 0.0])
    assert {"my", "reaction", "when", "could", "have", "been"} <= FILLER_WORDS
