"""The one similarity of PVSE: max over the K x K cosine similarities (paper eq. 6; MiViSE eqs. 9-10)."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class K2Scores:
    scores: torch.Tensor  # (Q, G) max over the Kq x Kg cosine similarities
    query_head: torch.Tensor  # (Q, G) which query embedding gave the max
    gallery_head: torch.Tensor  # (Q, G) which gallery embedding gave the max


def head_similarities(query: torch.Tensor, item: torch.Tensor) -> torch.Tensor:
    """(Kq, H) x (Kg, H) L2-normalised embeddings -> (Kq, Kg) cosine similarities (the demo's heat map)."""
    return query @ item.transpose(-1, -2)


def max_over_k2_scores(queries: torch.Tensor, gallery: torch.Tensor, chunk_size: int = 4096) -> K2Scores:
    """Score every query against every gallery item: s(q, g) = max_{i,j} <q_i, g_j>.

    queries: (Q, Kq, H), gallery: (G, Kg, H), both L2-normalised. Batched over the gallery in chunks (no Python
    loop over items inside a chunk) so memory stays at Q x chunk x Kq x Kg. Ties go to the lowest (i, j).
    """
    if queries.dim() != 3 or gallery.dim() != 3 or queries.size(-1) != gallery.size(-1):
        raise ValueError(f"expected (Q,Kq,H) and (G,Kg,H) with equal H, got {tuple(queries.shape)} and {tuple(gallery.shape)}")
    kq, kg = queries.size(1), gallery.size(1)
    scores, q_head, g_head = [], [], []
    for start in range(0, max(gallery.size(0), 1), chunk_size):
        part = gallery[start:start + chunk_size]
        sims = torch.einsum("qih,gjh->qgij", queries, part).reshape(queries.size(0), part.size(0), kq * kg)
        best, flat = sims.max(dim=-1)
        scores.append(best)
        q_head.append(torch.div(flat, kg, rounding_mode="floor"))
        g_head.append(flat % kg)
    return K2Scores(torch.cat(scores, 1), torch.cat(q_head, 1), torch.cat(g_head, 1))


def paired_max_over_k2(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-aligned form: (N, Ka, H), (N, Kb, H) -> (N,) scores of a[n] with b[n]."""
    return torch.einsum("nih,njh->nij", a, b).flatten(1).max(dim=-1).values


def per_query_head_scores(query: torch.Tensor, gallery: torch.Tensor) -> torch.Tensor:
    """Each query head scored alone: (Kq, H) x (G, Kg, H) -> (Kq, G) with s_i(g) = max_j <q_i, g_j>.

    The max over row i of eq. 6's K x K matrix, so max over i of these is the fused score; ranking a gallery by
    one row shows what that head (one reading of the query) finds on its own.
    """
    return max_over_k2_scores(query.unsqueeze(1), gallery).scores
