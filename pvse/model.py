"""The PVSE model: a video encoder and a sentence encoder that share the PIE-Net design (paper Fig. 2)."""
from __future__ import annotations

import torch
from torch import nn

from .config import PVSEConfig
from .encoders import SentenceEncoder, SequenceEncoder
from .pie_net import PIEOutput


class PVSE(nn.Module):
    """Maps frame features (B, T, frame_dim) and word features (B, L, word_dim) into K embeddings each.

    Frame and word feature extraction is frozen and lives in `pvse.features`, so features can be cached;
    parameter names follow the official release (`img_enc.*`, `txt_enc.*`).
    """

    def __init__(self, config: PVSEConfig) -> None:
        super().__init__()
        self.config = config
        self.img_enc = SequenceEncoder(config.frame_dim, config.embed_dim, config.num_embeds,
                                       config.dropout, config.legacy_global, config.residual)
        self.txt_enc = SentenceEncoder(config.word_dim, config.embed_dim, config.num_embeds,
                                       config.dropout, config.legacy_global, config.vocab_size, config.residual)

    def encode_video(self, frame_features: torch.Tensor, lengths: torch.Tensor | None = None) -> PIEOutput:
        if lengths is None:
            lengths = torch.full((frame_features.size(0),), frame_features.size(1), dtype=torch.long)
        return self.img_enc(frame_features, lengths)

    def encode_text(self, word_features: torch.Tensor, lengths: torch.Tensor,
                    attend: torch.Tensor | None = None) -> PIEOutput:
        """attend: optional (B, L) bool, the words the attention heads may pool (see SequenceEncoder.forward)."""
        return self.txt_enc(word_features, lengths, attend)

    def encode_text_ids(self, token_ids: torch.Tensor, lengths: torch.Tensor,
                        attend: torch.Tensor | None = None) -> PIEOutput:
        return self.txt_enc.forward_ids(token_ids, lengths, attend)
