"""PIE-Net: Polysemous Instance Embedding network (paper section 3.1, eqs. 1-3)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import RESIDUALS


@dataclass
class PIEOutput:
    embeddings: torch.Tensor  # (B, max(K, 1), H), L2-normalised
    attention: torch.Tensor  # (B, K, T) rows sum to 1 over valid positions
    residuals: torch.Tensor  # (B, K, H) locally-guided features Upsilon (before fusion)


class MultiHeadSelfAttention(nn.Module):
    """alpha = softmax(w2 tanh(w1 Psi^T)) over the B local positions (eq. 1), K heads, no biases."""

    def __init__(self, num_heads: int, d_in: int, d_hidden: int) -> None:
        super().__init__()
        self.w_1 = nn.Linear(d_in, d_hidden, bias=False)
        self.w_2 = nn.Linear(d_hidden, num_heads, bias=False)

    def forward(self, local: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """local: (B, T, D); mask: (B, T) True where valid. Returns (alpha Psi (B,K,D), alpha (B,K,T))."""
        logits = self.w_2(torch.tanh(self.w_1(local))).transpose(1, 2)  # (B, K, T)
        logits = logits.masked_fill(~mask.unsqueeze(1), float("-inf"))
        alpha = torch.softmax(logits, dim=-1)
        return torch.bmm(alpha, local), alpha


class PIENet(nn.Module):
    """Fuse a global feature with K attention-pooled local features into K embeddings.

    Upsilon = sigmoid((alpha Psi) w3 + b3)  (eq. 2);  z = LayerNorm(Phi + Upsilon)  (eq. 3);  output l2norm(z).
    residual="centred" uses 2 sigmoid(.) - 1 instead, so Upsilon is centred on 0 (see PVSEConfig.residual).
    With K = 0 the output is the global feature alone, l2norm(LayerNorm(Phi)) (the paper's Fig. 5 baseline).
    """

    def __init__(self, num_embeds: int, d_in: int, d_out: int, d_hidden: int | None = None, dropout: float = 0.0,
                 residual: str = "sigmoid") -> None:
        super().__init__()
        if residual not in RESIDUALS:
            raise ValueError(f"residual must be one of {', '.join(RESIDUALS)}, got '{residual}'")
        self.num_embeds = num_embeds
        self.centred = residual == "centred"
        if num_embeds > 0:
            self.attention = MultiHeadSelfAttention(num_embeds, d_in, d_hidden or d_in // 2)
            self.fc = nn.Linear(d_in, d_out)
        self.dropout = nn.Dropout(dropout)
        self.layer_norm = nn.LayerNorm(d_out)
        self.d_out = d_out

    def forward(self, global_feature: torch.Tensor, local: torch.Tensor, mask: torch.Tensor) -> PIEOutput:
        """global_feature: (B, H); local: (B, T, D); mask: (B, T) bool, True where valid."""
        batch, steps = local.shape[:2]
        if self.num_embeds == 0:
            z = self.layer_norm(global_feature).unsqueeze(1)
            return PIEOutput(
                embeddings=F.normalize(z, dim=-1),
                attention=local.new_zeros(batch, 0, steps),
                residuals=local.new_zeros(batch, 0, self.d_out),
            )
        pooled, alpha = self.attention(local, mask)
        gate = torch.sigmoid(self.fc(pooled))
        residuals = self.dropout(2 * gate - 1 if self.centred else gate)
        z = self.layer_norm(global_feature.unsqueeze(1) + residuals)
        return PIEOutput(embeddings=F.normalize(z, dim=-1), attention=alpha, residuals=residuals)
