"""A loaded PVSE model with its frozen extractors: strings and frames in, K embeddings out."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from .checkpoints import Checkpoint, load_checkpoint, resolve_device
from .features.pieces import Word, group_tokens
from .features.precision import DEFAULT_FRAME_PRECISION as DEFAULT_PRECISION
from .features.precision import check_precision
from .features.registry import FrameExtractorSpec, WordFeaturesSpec, frame_extractor_spec, word_features_spec
from .pie_net import PIEOutput


@dataclass
class TextEncoding:
    embeddings: torch.Tensor  # (B, K, H) L2-normalised
    attention: list[np.ndarray]  # per sentence (K, L) word attention
    tokens: list[list[str]]
    known: list[list[bool]]


class PVSEPipeline:
    """Model + word features + frame extractor, each built once and lazily (load with `pvse.load`)."""

    def __init__(self, checkpoint: Checkpoint, device: str | torch.device = "auto", skip_filler: bool = True,
                 frame_precision: str = DEFAULT_PRECISION) -> None:
        """skip_filler: the text heads' attention pools no filler word (`features.filler`) unless the sentence
        has nothing else; the sentence's global feature still reads every word. False: the model as trained.
        frame_precision: "int8" runs the quantized frame CNN (`features.quantize`; CPU)."""
        self.checkpoint = checkpoint
        self.skip_filler = skip_filler
        self.config = checkpoint.config
        self.device = resolve_device(device)
        self.model = checkpoint.model.to(self.device).eval()
        self.frame_precision = check_precision(frame_precision)  # "int8": the quantized frame CNN (CPU)

    @classmethod
    def from_pretrained(cls, ref: str, device: str | torch.device = "auto", skip_filler: bool = True,
                        frame_precision: str = DEFAULT_PRECISION) -> PVSEPipeline:
        return cls(load_checkpoint(ref, device=device), device, skip_filler, frame_precision=frame_precision)

    @property
    def fingerprint(self) -> str:
        return self.checkpoint.fingerprint

    @cached_property
    def word_spec(self) -> WordFeaturesSpec:
        """What the checkpoint's word features are (tokens, unknown token, learned or frozen)."""
        return word_features_spec(self.config.word_features)

    def words(self, tokens: list[str], text: str) -> list[Word]:
        """The words of `text` as typed, each with the indices of its `tokens` (grouped as the word spec says)."""
        return group_tokens(tokens, text, self.word_spec)

    def knows(self, word: str) -> bool:
        """Whether the word model reads `word` as a word it has (a learned table: its tokens say, `known`)."""
        return True if self.word_features is None else bool(self.word_features.knows(word))

    @cached_property
    def frame_spec(self) -> FrameExtractorSpec:
        return frame_extractor_spec(self.config.frame_features)

    @cached_property
    def word_features(self):
        """The frozen word-feature encoder, or None when the model holds its own learned table."""
        from .features import build_word_features
        if self.word_spec.learned:
            return None
        return build_word_features(self.config.word_features)

    @cached_property
    def frame_extractor(self):
        from .features import build_frame_extractor
        return build_frame_extractor(self.config.frame_features, state_dict=self.checkpoint.frame_cnn_state,
                                     device=self.device, preprocessing=self.config.frame_preprocessing(),
                                     precision=self.frame_precision)

    @torch.inference_mode()
    def encode_text(self, texts: list[str], skip_filler: bool | None = None) -> TextEncoding:
        """Tokenise, look up frozen word features and run the sentence encoder.

        skip_filler (None: the pipeline's setting): the attention heads pool no filler word ("my reaction when",
        "could have been") when the sentence has another word, so no head reads only filler.
        """
        skip = self.skip_filler if skip_filler is None else skip_filler
        if self.word_features is None:
            return self._encode_text_with_vocab(texts, skip)
        batch = self.word_features.encode(texts)
        attend = self._attend(batch.tokens, texts, batch.lengths) if skip else None
        out = self.model.encode_text(batch.features.to(self.device), batch.lengths.to(self.device), attend)
        return self._text_encoding(out, batch.lengths, batch.tokens, batch.known)

    def _attend(self, tokens: list[list[str]], texts: list[str], lengths: torch.Tensor) -> torch.Tensor:
        """(B, L) bool: the tokens that are not part of a filler word of their sentence."""
        from .features.filler import filler_token_mask
        attend = torch.ones(len(tokens), int(lengths.max()), dtype=torch.bool)
        for row, (toks, text) in enumerate(zip(tokens, texts)):
            attend[row, : len(toks)] = torch.from_numpy(~filler_token_mask(toks, text, self.word_spec))
        return attend.to(self.device)

    @cached_property
    def _vocab_ids(self):
        from .features.vocab import VocabIds
        return VocabIds(self.checkpoint.vocab or [])

    def _encode_text_with_vocab(self, texts: list[str], skip_filler: bool) -> TextEncoding:
        batch = self._vocab_ids.encode(texts)
        attend = self._attend(batch.tokens, texts, batch.lengths) if skip_filler else None
        out = self.model.encode_text_ids(batch.ids.to(self.device), batch.lengths.to(self.device), attend)
        return self._text_encoding(out, batch.lengths, batch.tokens, batch.known)

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
