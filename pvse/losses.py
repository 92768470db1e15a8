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


def attention_diversity_loss(attention: torch.Tensor) -> torch.Tensor:
    """||A A^T - I||_F / K^2 on the (B, K, T) attention maps themselves, batch mean.

    The penalty of the structured self-attentive sentence embedding (Lin et al., ICLR 2017), scaled like
    `diversity_loss`: zero only when the K heads attend to disjoint single positions. Not in the PVSE paper;
    an option for heads whose residuals stay alike (see TrainConfig.diversity_on).
    """
    k = attention.size(1)
    if k <= 1:
        return attention.sum() * 0.0
    gram = attention @ attention.transpose(1, 2)
    eye = torch.eye(k, device=attention.device, dtype=attention.dtype)
    return (torch.linalg.matrix_norm(gram - eye) / k**2).mean()


DIVERSITY_ON = ("residuals", "embeddings", "attention")


def _diversity(output: PIEOutput, on: str) -> torch.Tensor:
    if on == "residuals":
        return diversity_loss(output.residuals)
    if on == "embeddings":
        return diversity_loss(output.embeddings)
    if on == "attention":
        return attention_diversity_loss(output.attention)
    raise ValueError(f"diversity_on must be one of {', '.join(DIVERSITY_ON)}, got '{on}'")


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
              lambda_mmd: float = 0.01, diversity_on: str = "residuals") -> LossTerms:
    """Eq. 5: L = L_mil + lambda_1 (L_div(video) + L_div(text)) + lambda_2 L_mmd, for a batch of B aligned pairs.

    diversity_on: what L_div pushes apart: the residuals Upsilon (the paper), the final normalised embeddings,
    or the attention maps (`attention_diversity_loss`).
    """
    scores = max_over_k2_scores(video.embeddings, text.embeddings).scores
    mil = mil_triplet_loss(scores, margin)
    div = _diversity(video, diversity_on) + _diversity(text, diversity_on)
    h = video.embeddings.size(-1)
    mmd = mmd_rbf_loss(video.embeddings.reshape(-1, h), text.embeddings.reshape(-1, h))
    return LossTerms(total=mil + lambda_div * div + lambda_mmd * mmd, mil=mil, diversity=div, mmd=mmd)
