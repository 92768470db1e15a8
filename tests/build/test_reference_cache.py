"""The reference sentences are encoded once per model and read back from disk, as they were encoded."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

import pvse.build.reference_cache as reference_cache


def test_reference_sentences_are_encoded_once_per_model(tmp_path, monkeypatch):
    monkeypatch.setenv("PVSE_ONNX_CACHE", str(tmp_path))
    calls = []

    def encode(pipeline, sentence_encoder):
        calls.append(pipeline.fingerprint)
        seed = len(calls)
        return torch.full((3, 2, 4), float(seed)) / 7, np.full((3, 5), seed / 7, np.float32)

    monkeypatch.setattr(reference_cache, "encode_reference", encode)
    model, other = SimpleNamespace(fingerprint="aaa"), SimpleNamespace(fingerprint="bbb")
    sentences = SimpleNamespace(name="minilm")
    first = reference_cache.cached_reference(model, sentences)
    again = reference_cache.cached_reference(model, sentences)
    assert calls == ["aaa"]  # the second build reads them back
    assert torch.equal(first[0], again[0]) and np.array_equal(first[1], again[1])  # bit for bit
    reference_cache.cached_reference(other, sentences)  # other weights: encoded again
    assert calls == ["aaa", "bbb"]
