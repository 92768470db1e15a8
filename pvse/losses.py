"""PVSE training objective (paper section 3.4, eq. 5): MIL triplet ranking + diversity + MMD."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .pie_net import PIEOutput
from .similarity import max_over_k2_scores


def mil_triplet_loss(scores: torch.Tensor, margin: float = 0.1) -> torch.Tensor:
    """Triplet ranking loss over a (B, B) matrix of max-over-K^2 scores (video rows, sentence columns).

    The diagonal holds the positive pairs. Taking the max over K^2 inside the score is the MIL part (eq. 6);
    for each video the hardest negative sentence and for each sentence the hardest negative video is used
    (VSE++ max violation), hinge at `margin`, summed over the batch as in the reference code.
    """
    positives = scores.diag()
    off_diagonal = ~torch.eye(scores.size(0), dtype=torch.bool, device=scores.device)
    cost_sentence = (margin + scores - positives.unsqueeze(1)).clamp(min=0).masked_fill(~off_diagonal, 0)
    cost_video = (margin + scores - positives.unsqueeze(0)).clamp(min=0).masked_fill(~off_diagonal, 0)
    return cost_sentence.max(dim=1).values.sum() + cost_video.max(dim=0).values.sum()


def diversity_loss(residuals: torch.Tensor) -> torch.Tensor:
    """L_div = ||G - I||_F / K^2 with G the Gram matrix of the L2-normalised residuals Upsilon, batch mean.

    Pushes the K locally-guided features of one instance apart. Zero for K <= 1.
    """
    k = residuals.size(1)
    if k <= 1:
        return residuals.sum() * 0.0
    unit = F.normalize(residuals, dim=-1)
    gram = unit @ unit.transpose(1, 2)
    eye = torch.eye(k, device=residuals.device, dtype=residuals.dtype)
    return (torch.linalg.matrix_norm(gram - eye) / k**2).mean()


def mmd_rbf_loss(x: torch.Tensor, y: torch.Tensor, gamma: float | None = None) -> torch.Tensor:
    """Maximum mean discrepancy between two sets of embeddings with k(a,b) = exp(-gamma ||a-b||^2).

    MMD^2 = E k(x,x') - 2 E k(x,y) + E k(y,y') (biased estimator, as in the reference code); gamma
    defaults to 1 / H.
    """
    if gamma is None:
        gamma = 1.0 / x.size(-1)

    def mean_kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.exp(-gamma * torch.cdist(a, b).pow(2)).mean()

    return mean_kernel(x, x) - 2 * mean_kernel(x, y) + mean_kernel(y, y)


@dataclass
class LossTerms:
    total: torch.Tensor
    mil: torch.Tensor
    diversity: torch.Tensor
    mmd: torch.Tensor


def pvse_loss(video: PIEOutput, text: PIEOutput, margin: float = 0.1, lambda_div: float = 0.1,
              lambda_mmd: float = 0.01) -> LossTerms:
    """Eq. 5: L = L_mil + lambda_1 (L_div(video) + L_div(text)) + lambda_2 L_mmd, for a batch of B aligned pairs."""
    scores = max_over_k2_scores(video.embeddings, text.embeddings).scores
    mil = mil_triplet_loss(scores, margin)
    div = diversity_loss(video.residuals) + diversity_loss(text.residuals)
    h = video.embeddings.size(-1)
    mmd = mmd_rbf_loss(video.embeddings.reshape(-1, h), text.embeddings.reshape(-1, h))
    return LossTerms(total=mil + lambda_div * div + lambda_mmd * mmd, mil=mil, diversity=div, mmd=mmd)
