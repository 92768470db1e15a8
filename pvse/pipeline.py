"""A loaded PVSE model with its frozen extractors: strings and frames in, K embeddings out."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from .checkpoints import Checkpoint, load_checkpoint, resolve_device
from .pie_net import PIEOutput

VOCAB_SPECIALS = {"<pad>": 0, "<start>": 1, "<end>": 2, "<unk>": 3}


@dataclass
class TextEncoding:
    embeddings: torch.Tensor  # (B, K, H) L2-normalised
    attention: list[np.ndarray]  # per sentence (K, L) word attention
    tokens: list[list[str]]
    known: list[list[bool]]


class PVSEPipeline:
    """Model + word features + frame extractor, each built once and lazily (load with `pvse.load`)."""

    def __init__(self, checkpoint: Checkpoint, device: str | torch.device = "auto") -> None:
        self.checkpoint = checkpoint
        self.config = checkpoint.config
        self.device = resolve_device(device)
        self.model = checkpoint.model.to(self.device).eval()

    @classmethod
    def from_pretrained(cls, ref: str, device: str | torch.device = "auto") -> "PVSEPipeline":
        return cls(load_checkpoint(ref, device=device), device)

    @property
    def fingerprint(self) -> str:
        return self.checkpoint.fingerprint

    @cached_property
    def word_features(self):
        from .features import build_word_features
        if self.config.word_features == "vocab-embedding":
            return None
        return build_word_features(self.config.word_features)

    @cached_property
    def frame_extractor(self):
        from .features import build_frame_extractor
        return build_frame_extractor(self.config.frame_features, state_dict=self.checkpoint.frame_cnn_state,
                                     device=self.device)

    @torch.inference_mode()
    def encode_text(self, texts: list[str]) -> TextEncoding:
        """Tokenise, look up frozen word features and run the sentence encoder."""
        if self.word_features is None:
            return self._encode_text_with_vocab(texts)
        batch = self.word_features.encode(texts)
        out = self.model.encode_text(batch.features.to(self.device), batch.lengths.to(self.device))
        return self._text_encoding(out, batch.lengths, batch.tokens, batch.known)

    @cached_property
    def _vocab_index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.checkpoint.vocab or [])}

    def _encode_text_with_vocab(self, texts: list[str]) -> TextEncoding:
        from .features import tokenize
        index = self._vocab_index
        unk = index.get("<unk>", VOCAB_SPECIALS["<unk>"])
        tokens = [["<start>", *tokenize(t), "<end>"] for t in texts]
        lengths = torch.tensor([len(t) for t in tokens])
        ids = torch.zeros(len(texts), int(lengths.max()), dtype=torch.long)
        for row, toks in enumerate(tokens):
            ids[row, : len(toks)] = torch.tensor([index.get(w, unk) for w in toks])
        known = [[w in index for w in toks] for toks in tokens]
        out = self.model.encode_text_ids(ids.to(self.device), lengths.to(self.device))
        return self._text_encoding(out, lengths, tokens, known)

    @staticmethod
    def _text_encoding(out: PIEOutput, lengths: torch.Tensor, tokens, known) -> TextEncoding:
        attention = [out.attention[i, :, : int(n)].float().cpu().numpy() for i, n in enumerate(lengths)]
        return TextEncoding(out.embeddings.float().cpu(), attention, tokens, known)

    @torch.inference_mode()
    def encode_frame_features(self, frame_features: torch.Tensor | np.ndarray) -> PIEOutput:
        """(B, T, D) cached CNN features -> the clips' K embeddings and (K, T) frame attention."""
        feats = torch.as_tensor(frame_features, dtype=torch.float32).to(self.device)
        out = self.model.encode_video(feats)
        return PIEOutput(out.embeddings.float().cpu(), out.attention.float().cpu(), out.residuals.float().cpu())


def load(ref: str | None = None, device: str | torch.device = "auto") -> PVSEPipeline:
    """Load a checkpoint (local directory or Hub repo id; the bundled default when None)."""
    from .defaults import default_weights
    return PVSEPipeline.from_pretrained(ref or default_weights(), device=device)
