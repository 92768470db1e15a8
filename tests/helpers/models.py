"""Tiny random-init models for the tests: seeded, so that the same seed gives the same weights (and fingerprint),
and another seed other weights; and a counter of the frames that reach the frame CNN."""
from __future__ import annotations

from pathlib import Path

import torch

from pvse.checkpoints import load_checkpoint, save_checkpoint
from pvse.config import PVSEConfig
from pvse.model import PVSE
from pvse.pipeline import PVSEPipeline

# The real frame CNN runs on few frames, and small heads keep encoding fast; the word vectors are GloVe's own.
TINY_CONFIG = dict(num_embeds=3, embed_dim=32, frame_features="efficientnet-lite0", frame_dim=1280,
                   word_features="glove-6b-50d", word_dim=50, num_frames=4)


def tiny_checkpoint(path: str | Path, seed: int = 0, **changes) -> Path:
    """Save a random-init model (torch seeded with `seed`) of TINY_CONFIG, with `changes` to its fields, at `path`."""
    torch.manual_seed(seed)
    return save_checkpoint(PVSE(PVSEConfig(**{**TINY_CONFIG, **changes})).eval(), path)


def tiny_pipeline(path: str | Path, seed: int = 0, **changes) -> PVSEPipeline:
    """`tiny_checkpoint(path, seed, **changes)`, loaded back as a pipeline on the CPU."""
    return PVSEPipeline(load_checkpoint(tiny_checkpoint(path, seed, **changes), device="cpu"), "cpu")


def toy_model(**config) -> PVSE:
    """A random-init model (seed 0) with made-up feature sizes (frames of 6 numbers, words of 4): for the tests of
    checkpoint files, which never run a CNN or read words. `config`: more PVSEConfig fields."""
    torch.manual_seed(0)
    return PVSE(PVSEConfig(num_embeds=2, embed_dim=8, frame_dim=6, word_dim=4, **config)).eval()


def count_cnn_frames(pipeline, monkeypatch) -> list[int]:
    """Wrap the pipeline's frame extractor; the returned list gets the frame count of every CNN call, to tell
    re-encoded clips from reused ones."""
    calls: list[int] = []
    extractor = pipeline.frame_extractor
    real = extractor.extract
    monkeypatch.setattr(extractor, "extract", lambda frames, **kw: calls.append(len(frames)) or real(frames, **kw))
    return calls
