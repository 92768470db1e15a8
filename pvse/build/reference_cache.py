"""The reference sentences encoded once per model, kept on disk: a build with text heads no longer spends seconds
encoding the same sentences again (`text_heads.encode_reference`, about 2 s on a quiet 2-core machine, 6-9 s on a
loaded one, paid by every build).

Kept beside the verified ONNX graphs (`features.onnx_runner.OnnxCache`: $PVSE_ONNX_CACHE, else `onnx/` in the
feature cache), keyed by the model's fingerprint, the sentence model, the sentences and this library's version, so
a change to any of them encodes them again. The arrays come back as they were saved: a build from the cache writes
the same index, byte for byte, as one that encoded them.
"""
from __future__ import annotations

import hashlib
import logging
import os

import numpy as np
import torch

from .. import __version__
from ..atomic_file import atomic_file
from ..index.hubness import reference_sentences
from .text_heads import encode_reference

log = logging.getLogger(__name__)


def cached_reference(pipeline, sentence_encoder) -> tuple[torch.Tensor, np.ndarray]:
    """`encode_reference(pipeline, sentence_encoder)`, from the disk cache when it holds it (then stored there)."""
    from ..features.onnx_runner import OnnxCache
    key = hashlib.sha256("\n".join([pipeline.fingerprint, sentence_encoder.name, __version__,
                                    *reference_sentences()]).encode()).hexdigest()[:24]
    path = OnnxCache().directory / f"reference-{key}.npz"
    try:
        with np.load(path) as stored:
            return torch.from_numpy(stored["pvse"]), stored["sentence"]
    except (OSError, KeyError, ValueError):
        pass
    pvse, sentence = encode_reference(pipeline, sentence_encoder)
    try:
        os.makedirs(path.parent, exist_ok=True)
        with atomic_file(path) as fh:
            np.savez(fh, pvse=pvse.numpy(), sentence=np.asarray(sentence))
    except OSError as exc:
        log.info("cannot cache the reference sentences at %s (%s)", path, exc)
    return pvse, sentence
