"""A frame CNN and a word-feature model registered from outside the package (one spec each, no pvse module
touched) are built, trained on, checkpointed, indexed and searched with like the built-in ones."""
import hashlib
import shutil

import numpy as np
import pytest
import torch

from pvse.build import build_index
from pvse.checkpoints import load_checkpoint
from pvse.errors import PVSEError
from pvse.features import (
    FrameExtractorSpec,
    WordFeaturesSpec,
    build_frame_extractor,
    build_word_features,
    frame_extractors,
    register_frame_extractor,
    register_word_features,
    word_features,
)
from pvse.features.registry import unregister
from pvse.features.tokenize import tokenize
from pvse.features.words import WordBatch, check_texts, pad_batch
from pvse.search import Searcher
from pvse.training import train

TOY_FRAMES, TOY_WORDS = "toy-colour-grid", "toy-hashed-words"


def colour_grid_trunk(state_dict=None) -> torch.nn.Module:
    """Mean colour of a 4 x 4 grid of cells: 48 numbers per frame, no weights."""
    return torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten()).eval()


class HashedWords:
    """Every token gets a fixed pseudo-random 16-d vector drawn from its sha256."""

    name, dim, max_tokens = TOY_WORDS, 16, 32

    def knows(self, word: str) -> bool:
        return True  # every word hashes to a vector

    def encode(self, texts: list[str]) -> WordBatch:
        rows = []
        for text in check_texts(texts):
            tokens = tokenize(text, self.max_tokens)
            vectors = [torch.from_numpy(np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], np.uint8)
                                        .astype(np.float32) / 128 - 1) for t in tokens]
            rows.append((tokens, torch.stack(vectors) if vectors else torch.zeros(0, self.dim), [True] * len(tokens)))
        return pad_batch(rows, self.dim)


@pytest.fixture
def toy_extractors():
    frames = register_frame_extractor(FrameExtractorSpec(
        name=TOY_FRAMES, dim=48, build_trunk=colour_grid_trunk, image_size=32, mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25), about="mean colours of a 4x4 grid"))
    words = register_word_features(WordFeaturesSpec(
        name=TOY_WORDS, dim=HashedWords.dim, max_tokens=HashedWords.max_tokens, build=lambda **kw: HashedWords(),
        normalisation="pvse.features.tokenize", about="hashed tokens"))
    yield frames, words
    unregister(TOY_FRAMES)
    unregister(TOY_WORDS)


def test_toy_extractors_build_like_builtin_ones(toy_extractors):
    assert build_frame_extractor(TOY_FRAMES, backend="torch").extract(np.zeros((2, 8, 8, 3), np.uint8)).shape == (2, 48)
    assert build_word_features(TOY_WORDS).encode(["a happy dog"]).features.shape == (1, 3, 16)
    assert TOY_FRAMES in frame_extractors(trainable=True) and TOY_WORDS in word_features(trainable=True)


def test_training_refuses_extractors_their_specs_forbid(tiny_config):
    with pytest.raises(PVSEError, match="training supports frame features efficientnet-lite0, got 'resnet152'"):
        tiny_config(frame_features="resnet152").check()
    with pytest.raises(PVSEError, match="training supports word features glove-6b-50d, minilm-l6-v2"):
        tiny_config(word_features="vocab-embedding").check()


def test_toy_extractors_train_index_and_search(toy_extractors, tiny_config, shared_dir, tmp_path):
    frames, words = toy_extractors

    result = train(tiny_config(frame_features=TOY_FRAMES, word_features=TOY_WORDS, epochs=2))
    checkpoint = load_checkpoint(result.best_dir, device="cpu")
    assert (checkpoint.config.frame_dim, checkpoint.config.word_dim) == (frames.dim, words.dim)
    assert sorted(p.name for p in result.best_dir.iterdir()) == ["config.json", "model.safetensors"]

    gallery = tmp_path / "gallery"
    gallery.mkdir()
    for gif in sorted(shared_dir.glob("*.gif"))[:4]:
        shutil.copy(gif, gallery / gif.name)
    report = build_index(gallery, tmp_path / "gallery.index", weights=str(result.best_dir),
                         feature_cache=tmp_path / "cache", progress=False, device="cpu")
    assert report.encoded == 4
    searcher = Searcher.load(tmp_path / "gallery.index", weights=str(result.best_dir), device="cpu")
    found = searcher.search("a happy face", top_k=4)
    assert len(found.hits) == 4 and found.tokens == ["a", "happy", "face"]
    assert {hit.path for hit in found.hits} == {p.name for p in gallery.iterdir()}
