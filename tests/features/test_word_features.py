"""Frozen word features: GloVe 6B 50-d and all-MiniLM-L6-v2, batched with padding and placeholders."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pvse.errors import WeightsError
from pvse.features import PLACEHOLDER, WordFeatures, build_word_features

NASTY = ["", "   ", "?!...", "😂🔥💯", "我喜欢猫", "مرحبا بالعالم", "\u200b\x00", "[SEP] [CLS] [UNK]",
         "a" * 100_000, "happy dog " * 10_000]


@pytest.fixture(scope="module")
def glove():
    return build_word_features("glove-6b-50d")


@pytest.fixture(scope="module")
def minilm():
    return build_word_features("minilm-l6-v2")


def cosine(a, b) -> float:
    return F.cosine_similarity(torch.as_tensor(a), torch.as_tensor(b), dim=0).item()


def test_glove_neighbours_are_semantic(glove):
    def near(a: str, b: str) -> float:
        return cosine(glove.vector(a), glove.vector(b))

    assert near("happy", "joyful") > near("happy", "table")
    assert near("happy", "glad") > 0.8
    assert near("angry", "furious") > near("angry", "banana")


def test_glove_batch_shapes_padding_and_placeholders(glove):
    batch = glove.encode(["A happy dog", "", "😂", "don't!"])
    assert isinstance(glove, WordFeatures) and glove.dim == 50
    assert batch.features.shape == (4, 3, 50) and batch.features.dtype == torch.float32
    assert batch.lengths.tolist() == [3, 1, 1, 3] and batch.lengths.dtype == torch.int64
    assert batch.tokens == [["a", "happy", "dog"], [PLACEHOLDER], ["😂"], ["do", "n't", "!"]]
    assert batch.known == [[True] * 3, [False], [False], [True] * 3]
    assert torch.equal(batch.features[0, 1], torch.from_numpy(glove.vector("happy")))
    assert torch.equal(batch.features[3, 1], torch.from_numpy(glove.vector("n't")))
    for b, n in enumerate(batch.lengths.tolist()):
        assert not batch.features[b, n:].any(), "padding must be zero"
    assert not batch.features[1].any() and not batch.features[2].any(), "placeholder and emoji have zero vectors"


def test_glove_hyphenated_oov_uses_mean_of_parts(glove):
    batch = glove.encode(["super-happy"])
    assert batch.tokens == [["super-happy"]] and batch.known == [[True]]
    expected = (glove.vector("super") + glove.vector("happy")) / 2
    assert np.allclose(batch.features[0, 0].numpy(), expected, atol=1e-6)


@pytest.mark.parametrize("name", ["glove-6b-50d", "minilm-l6-v2"])
def test_any_user_string_gives_at_least_one_finite_token(name, glove, minilm):
    words = glove if name == "glove-6b-50d" else minilm
    batch = words.encode(NASTY)
    assert batch.features.shape[0] == len(NASTY) and batch.features.shape[2] == words.dim
    assert torch.isfinite(batch.features).all()
    assert (batch.lengths >= 1).all() and (batch.lengths <= words.max_tokens).all()
    assert int(batch.lengths.max()) == batch.features.shape[1]
    for toks, known, n in zip(batch.tokens, batch.known, batch.lengths.tolist()):
        assert len(toks) == len(known) == n
    assert batch.tokens[0] == [PLACEHOLDER] and batch.known[0] == [False]
    assert batch.lengths[-1] == words.max_tokens  # 100 kB capped


@pytest.mark.parametrize("name", ["glove-6b-50d", "minilm-l6-v2"])
def test_features_are_deterministic_and_usable_by_a_trained_model(name, glove, minilm):
    words = glove if name == "glove-6b-50d" else minilm
    first = words.encode(["a cat jumps off the table", "short"])
    again = words.encode(["a cat jumps off the table", "short"])
    assert torch.equal(first.features, again.features)
    alone = words.encode(["short"])
    assert torch.allclose(alone.features[0, :1], first.features[1, :1], atol=1e-4)  # padding partner is irrelevant
    weight = torch.ones(words.dim, requires_grad=True)
    (first.features @ weight).sum().backward()  # not inference tensors: a GRU on top can be trained
    assert weight.grad is not None


def test_minilm_wordpieces_and_shapes(minilm):
    text = "The astronaut was unbelievably happy 😂"
    batch = minilm.encode([text])
    pieces = minilm.tokenize(text)
    assert minilm.dim == 384 and batch.features.shape == (1, len(pieces), 384)
    assert batch.tokens == [pieces] and pieces[3:5] == ["un", "##bel"]
    assert batch.known[0] == [p != "[UNK]" for p in pieces] and batch.known[0][-1] is False


def test_minilm_features_are_contextual(minilm):
    batch = minilm.encode(["I sat on the river bank.", "She deposited cash at the bank."])
    river, money = (batch.features[b, batch.tokens[b].index("bank")] for b in (0, 1))
    assert cosine(river, money) < 0.9
    assert cosine(river, money) > 0.3  # still the same word


def test_minilm_long_text_keeps_first_pieces(minilm):
    text = ("unbelievably well-known reactions, " * 3000) + "tail"
    batch = minilm.encode([text])
    assert batch.tokens[0] == minilm.tokenize(text[:4000])[:128]


def test_unknown_names_are_weights_errors():
    with pytest.raises(WeightsError, match="glove-6b-50d"):
        build_word_features("word2vec")
    with pytest.raises(WeightsError, match="learned inside the model"):
        build_word_features("vocab-embedding")


def test_rejects_a_bare_string(glove):
    with pytest.raises(TypeError):
        glove.encode("not a list")


@pytest.mark.parametrize("word, known", [
    ("laughing", True), ("compiles", True),  # a whole vocabulary entry; a GloVe word split into pieces
    ("can't", True), ("mrw", True), ("xqzv", False), ("blorp", False), ("!!", False),
])
def test_minilm_knows_whole_words_not_piece_salad(minilm, word, known):
    assert minilm.knows(word) is known


def test_glove_knows_words_with_a_vector(glove):
    assert glove.knows("happy") and glove.knows("can't") and not glove.knows("xqzv")
