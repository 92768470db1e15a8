"""Word pieces and split punctuation back into the user's words, and their attention summed."""
import numpy as np
import pytest

from pvse.features.pieces import group_tokens, word_attention


@pytest.mark.parametrize("tokens, text, words", [
    pytest.param(["mr", "##w", "x", "##q", "##z", "##v"], "mrw xqzv", ["mrw", "xqzv"], id="wordpieces"),
    pytest.param(["i", "can", "'", "t", "stop", "laughing"], "I can't stop laughing",
                 ["i", "can't", "stop", "laughing"], id="split-apostrophe"),
    pytest.param(["ca", "n't", "stop"], "can\u2019t stop", ["can't", "stop"], id="glove-clitic-typographic-quote"),
    pytest.param(["<start>", "so", "happy", "<end>"], "so happy", ["so", "happy"], id="specials-dropped"),
    pytest.param(["cafe", "time"], "Café  time", ["cafe", "time"], id="accents-and-spaces"),
    pytest.param(["[UNK]", "ok"], "\u2603\u2603 ok", ["\u2603\u2603", "ok"], id="unknown-piece"),
    pytest.param(["wow", "!", "!"], "wow!!", ["wow!!"], id="punctuation-glued"),
    pytest.param(["wow", "!"], "wow !", ["wow", "!"], id="punctuation-apart"),
    pytest.param([], "", [], id="empty"),
])
def test_tokens_group_into_the_typed_words(tokens, text, words):
    assert [w.text for w in group_tokens(tokens, text)] == words


def test_every_real_token_lands_in_exactly_one_word():
    tokens = ["<start>", "my", "reaction", "when", "i", "can", "'", "t", "stop", "laugh", "##ing", "<end>"]
    groups = group_tokens(tokens, "my reaction when I can't stop laughing")
    covered = [i for w in groups for i in w.tokens]
    assert covered == list(range(1, 11))


def test_a_piece_missing_from_the_text_still_gets_a_word():
    assert [w.text for w in group_tokens(["hello", "zz", "##y"], "hello")] == ["hello", "zzy"]


def test_word_attention_sums_the_pieces_of_each_word():
    tokens = ["mr", "##w", "can", "'", "t"]
    attention = np.array([[0.1, 0.2, 0.3, 0.15, 0.25], [0.5, 0.0, 0.0, 0.5, 0.0]])
    words = group_tokens(tokens, "mrw can't")
    merged = word_attention(attention, words)
    np.testing.assert_allclose(merged, [[0.3, 0.7], [0.5, 0.5]], atol=1e-6)
    np.testing.assert_allclose(merged.sum(axis=1), attention.sum(axis=1), atol=1e-6)
