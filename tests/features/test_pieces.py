"""Word pieces and split punctuation back into the user's words, and their attention summed."""
import numpy as np
import pytest

from pvse.features import word_features_spec
from pvse.features.pieces import group_tokens, word_attention
from pvse.features.specs import WordFeaturesSpec

MINILM, GLOVE, VOCAB = "minilm-l6-v2", "glove-6b-50d", "vocab-embedding"


@pytest.mark.parametrize("model, tokens, text, words", [
    pytest.param(MINILM, ["mr", "##w", "x", "##q", "##z", "##v"], "mrw xqzv", ["mrw", "xqzv"], id="wordpieces"),
    pytest.param(MINILM, ["i", "can", "'", "t", "stop", "laughing"], "I can't stop laughing",
                 ["i", "can't", "stop", "laughing"], id="split-apostrophe"),
    pytest.param(GLOVE, ["ca", "n't", "stop"], "can\u2019t stop", ["can't", "stop"], id="glove-clitic-typographic-quote"),
    pytest.param(VOCAB, ["<start>", "so", "happy", "<end>"], "so happy", ["so", "happy"], id="specials-dropped"),
    pytest.param(VOCAB, ["<start>", "so", "<unk>", "<end>"], "so zqxv", ["so", "zqxv"], id="unknown-word"),
    pytest.param(MINILM, ["cafe", "time"], "Café  time", ["cafe", "time"], id="accents-and-spaces"),
    pytest.param(MINILM, ["[UNK]", "ok"], "\u2603\u2603 ok", ["\u2603\u2603", "ok"], id="unknown-piece"),
    pytest.param(GLOVE, ["wow", "!", "!"], "wow!!", ["wow!!"], id="punctuation-glued"),
    pytest.param(GLOVE, ["wow", "!"], "wow !", ["wow", "!"], id="punctuation-apart"),
    pytest.param(GLOVE, ["<empty>"], "", [], id="empty"),
])
def test_tokens_group_into_the_typed_words(model, tokens, text, words):
    assert [w.text for w in group_tokens(tokens, text, word_features_spec(model))] == words


def test_grouping_follows_the_spec_not_a_list_of_known_tokenizers():
    """A SentencePiece-style model: its own special and unknown tokens and continuation mark come from its spec."""
    spec = WordFeaturesSpec("toy-sp", 8, 16, None, unknown_token="<?>", special_tokens=("<s>", "</s>"),
                            continuation="~")
    tokens = ["<s>", "mr", "~w", "<?>", "ok", "</s>"]
    assert [w.text for w in group_tokens(tokens, "mrw \u2603 ok", spec)] == ["mrw", "\u2603", "ok"]
    # the same tokens read by WordPiece's facts: "~w" is no continuation and <s> is a word
    assert "mrw" not in [w.text for w in group_tokens(tokens, "mrw \u2603 ok", word_features_spec(MINILM))]


def test_every_real_token_lands_in_exactly_one_word():
    tokens = ["[CLS]", "my", "reaction", "when", "i", "can", "'", "t", "stop", "laugh", "##ing", "[SEP]"]
    groups = group_tokens(tokens, "my reaction when I can't stop laughing", word_features_spec(MINILM))
    covered = [i for w in groups for i in w.tokens]
    assert covered == list(range(1, 11))


def test_a_piece_missing_from_the_text_still_gets_a_word():
    assert [w.text for w in group_tokens(["hello", "zz", "##y"], "hello", word_features_spec(MINILM))] == ["hello", "zzy"]


def test_word_attention_sums_the_pieces_of_each_word():
    tokens = ["mr", "##w", "can", "'", "t"]
    attention = np.array([[0.1, 0.2, 0.3, 0.15, 0.25], [0.5, 0.0, 0.0, 0.5, 0.0]])
    words = group_tokens(tokens, "mrw can't", word_features_spec(MINILM))
    merged = word_attention(attention, words)
    np.testing.assert_allclose(merged, [[0.3, 0.7], [0.5, 0.5]], atol=1e-6)
    np.testing.assert_allclose(merged.sum(axis=1), attention.sum(axis=1), atol=1e-6)
