"""How an index's vectors join the PVSE space and the sentence model's space when clips have text heads
(`TextLayout`, recorded in index.json), and which query head may meet which clip head. How the joint vectors are
made and why is told in `pvse.build.text_heads`."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

SOURCES = ("read text", "name", "caption")  # text-head order: what the clip says, then what it was called
CROSS = 100.0  # score of a pair of different kinds: below any calibrated similarity
MIN_SCALE, MAX_SCALE = 1e-4, 2.0  # a spread of cosine similarities (a layout's scales) lies in here


@dataclass(frozen=True)
class TextLayout:
    """How an index's vectors join the PVSE space and the sentence model's space (recorded in index.json)."""

    sources: tuple[str, ...]  # which text heads each clip has, in order (after its GIF heads)
    sentence_model: str
    pvse_dim: int
    sentence_dim: int
    pixel_scale: float  # sigma of PVSE similarities (max over K²) of reference sentences with the GIFs
    text_scale: float  # sigma of sentence-model similarities of reference sentences with the clips' words
    gif_hubs: bool = True  # GIF heads less their own hub score (frames out of the model's domain), or the mean
    frame_weight: float = 1.0  # w: how much the GIF heads count beside the words (`agreement`); 1 = as trained
    frame_floor: float = 0.0  # where a GIF head sits at w = 0: under every text score over the reference sentences

    @property
    def dim(self) -> int:
        return self.pvse_dim + self.sentence_dim + 3

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"sources": list(self.sources)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextLayout:
        layout = cls(tuple(str(s) for s in data["sources"]), str(data["sentence_model"]), int(data["pvse_dim"]),
                     int(data["sentence_dim"]), float(data["pixel_scale"]), float(data["text_scale"]),
                     bool(data.get("gif_hubs", True)), float(data.get("frame_weight", 1.0)),
                     float(data.get("frame_floor", 0.0)))
        if not layout.sources or any(s not in SOURCES for s in layout.sources) or min(
                layout.pvse_dim, layout.sentence_dim) < 1 or not (
                MIN_SCALE <= layout.pixel_scale <= MAX_SCALE and MIN_SCALE <= layout.text_scale <= MAX_SCALE) \
                or not 0.0 <= layout.frame_weight <= 1.0 or not -2.0 <= layout.frame_floor <= 2.0:
            raise ValueError(f"text layout {data!r} is not one pvse-gif writes")
        return layout

    def query(self, pvse_heads: torch.Tensor | np.ndarray, sentence: np.ndarray) -> torch.Tensor:
        """(Kq + 1, dim): the query's K PVSE heads, then its sentence head."""
        pvse_heads = torch.as_tensor(pvse_heads, dtype=torch.float32).cpu()
        h, e = self.pvse_dim, self.sentence_dim
        out = torch.zeros(pvse_heads.size(0) + 1, self.dim)
        out[:-1, :h] = pvse_heads
        out[-1, h:h + e] = torch.as_tensor(sentence, dtype=torch.float32)
        out[:, h + e] = 1.0
        out[:-1, h + e + 1] = 1.0
        out[-1, h + e + 2] = 1.0
        return out

    def gif_heads(self, gif: np.ndarray, hubs: np.ndarray, pixel_mean: float) -> np.ndarray:
        """(M, K, dim) from unit GIF heads (M, K, H) and each clip's hub score (M,): a GIF head scores
        pixel_mean + w (cos - hub) + (1 - w) (frame_floor - pixel_mean) (module doc; w = 1 and hub = the mean give
        the plain cosine)."""
        h, e = self.pvse_dim, self.sentence_dim
        w = self.frame_weight
        out = np.zeros((*gif.shape[:2], self.dim), np.float32)
        out[..., :h] = gif * w
        out[..., h + e] = (pixel_mean - w * hubs + (1.0 - w) * (self.frame_floor - pixel_mean))[:, None]
        out[..., h + e + 2] = -CROSS
        return out

    def text_heads(self, texts: np.ndarray, hubs: np.ndarray, present: np.ndarray, gif: np.ndarray,
                   pixel_mean: float) -> np.ndarray:
        """(M, S, dim) from unit sentence vectors (M, S, E), their hub scores (M, S) and which exist (M, S): a text
        head scores pixel_mean + pixel_scale * (cos - hub) / text_scale, i.e. on the GIF heads' cosine scale. A
        missing text repeats the clip's first GIF head (`gif`, already in joint form), which never wins a tie."""
        h, e = self.pvse_dim, self.sentence_dim
        ratio = self.pixel_scale / self.text_scale
        out = np.zeros((*texts.shape[:2], self.dim), np.float32)
        out[..., h:h + e] = texts * ratio
        out[..., h + e] = pixel_mean - hubs * ratio
        out[..., h + e + 1] = -CROSS
        out[~present] = np.broadcast_to(gif[:, :1], out.shape)[~present]
        return out


def kind_mask(layout: TextLayout, query_heads: int, gif_heads: int) -> np.ndarray:
    """(Kq + 1, K + S) True where a query head and a clip head are of the same kind (their score means something)."""
    mask = np.zeros((query_heads + 1, gif_heads + len(layout.sources)), bool)
    mask[:query_heads, :gif_heads] = True
    mask[query_heads, gif_heads:] = True
    return mask
