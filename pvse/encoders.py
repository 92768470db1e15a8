"""Video and sentence encoders: local features -> bidirectional GRU (global feature) -> PIE-Net (paper 3.2-3.3)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .pie_net import PIENet, PIEOutput


def length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B,) lengths -> (B, max_len) bool mask, True at valid positions."""
    return torch.arange(max_len, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


class SequenceEncoder(nn.Module):
    """Encode a padded sequence of local features (frames or words) into K embeddings.

    The global feature Phi is the concatenation of the final hidden states of the forward and backward GRU
    (each direction has seen the whole sequence). With legacy_global=True it is the GRU output at the last
    valid step instead, as in the reference code, whose backward half has then seen only the last item.
    """

    def __init__(self, d_in: int, embed_dim: int, num_embeds: int, dropout: float = 0.0, legacy_global: bool = False,
                 residual: str = "sigmoid") -> None:
        super().__init__()
        self.rnn = nn.GRU(d_in, embed_dim // 2, batch_first=True, bidirectional=True)
        self.pie_net = PIENet(num_embeds, d_in, embed_dim, d_in // 2, dropout, residual)
        self.dropout = nn.Dropout(dropout)
        self.legacy_global = legacy_global

    def global_feature(self, local: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(local, lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, hidden = self.rnn(packed)
        if not self.legacy_global:
            return torch.cat([hidden[0], hidden[1]], dim=-1)
        padded, _ = pad_packed_sequence(outputs, batch_first=True)
        last = (lengths.to(padded.device) - 1).view(-1, 1, 1).expand(-1, 1, padded.size(-1))
        return padded.gather(1, last).squeeze(1)

    def forward(self, local: torch.Tensor, lengths: torch.Tensor, attend: torch.Tensor | None = None) -> PIEOutput:
        """local: (B, T, D) zero-padded; lengths: (B,) number of valid steps (>= 1).

        attend: optional (B, >= T) bool, the steps the K attention heads may pool (eq. 1); the global feature
        still reads every valid step. A row that allows no valid step attends to all of them.
        """
        lengths = lengths.to(torch.long)
        if local.size(1) > int(lengths.max()):
            local = local[:, : int(lengths.max())]
        phi = self.dropout(self.global_feature(local, lengths))
        mask = length_mask(lengths.to(local.device), local.size(1))
        if attend is not None:
            allowed = mask & attend[:, : local.size(1)].to(mask.device)
            mask = torch.where(allowed.any(dim=1, keepdim=True), allowed, mask)
        return self.pie_net(phi, local, mask)


class SentenceEncoder(SequenceEncoder):
    """A SequenceEncoder over word features; optionally owns a learned word-embedding table (official layout)."""

    def __init__(self, d_in: int, embed_dim: int, num_embeds: int, dropout: float = 0.0,
                 legacy_global: bool = False, vocab_size: int = 0, residual: str = "sigmoid") -> None:
        super().__init__(d_in, embed_dim, num_embeds, dropout, legacy_global, residual)
        self.embed = nn.Embedding(vocab_size, d_in, padding_idx=0) if vocab_size else None

    def forward_ids(self, token_ids: torch.Tensor, lengths: torch.Tensor,
                    attend: torch.Tensor | None = None) -> PIEOutput:
        if self.embed is None:
            raise TypeError("this sentence encoder has no vocabulary embedding; pass word features to forward()")
        return self.forward(self.embed(token_ids), lengths, attend)
