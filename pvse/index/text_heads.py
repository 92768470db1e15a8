"""Text heads: a clip's own words (the text read in its frames, its name, its caption) as heads of the clip.

PVSE scores a clip by the best of its K×K head similarities (eq. 6). Its sentence encoder was trained to meet GIF
frames, so two sentences that mean the same thing do not meet well in its space. A clip's words are therefore
compared with the query by a sentence model made for that (all-MiniLM-L6-v2, `features.sentence_minilm`), and
both kinds of similarity are put on one scale, so that one max over all head pairs still gives the score and the
pair that won still explains it:

- the sentence model reads the query without its reaction opener ("my reaction when", "mrw", ...), which says
  what kind of query it is and would otherwise make every query alike to the sentence model;
- each head's similarity s is calibrated as mu + sigma_pvse (s - r) / sigma, where r is the head's hub score (the
  mean of its NEIGHBOURS best similarities to the shipped generic reference sentences: how much it looks like a
  match to anything; CSLS, Conneau et al. 2018), sigma the spread of its kind's similarities (PVSE or sentence
  model) over the reference sentences and the gallery, and mu, sigma_pvse the mean and spread of the PVSE ones:
  the scores stay on the GIF heads' cosine scale. A GIF head whose frames sit near every sentence (a hub of the
  domain the frame CNN was not trained on) and a caption that is only generically "reaction-like" stop winning.
  That is done for GIF heads only in a gallery whose frames do not find what its own words describe
  (`agreement.frame_agreement`: frame weight under 1): there the frames are typically real footage, far from what
  the model was trained on. On the model's own domain (the emoji: their names find them through the frames) GIF
  heads score their plain cosine, since there a per-clip correction costs 10-12 points of top-5;
- the GIF heads weigh what the probe says they are worth: a GIF head scores
  mu + w (s - r) + (1 - w) (floor - mu), with w the gallery's frame weight and floor the lowest text score seen
  over the reference sentences. At w = 1 (frames that find what the words say) nothing changes; at w = 0 (frames
  at chance) a GIF head never beats a text head, so the words rank the clips that have them and the frames only
  order the clips that have none, below them;
- the two spaces are joined into one: a vector holds [PVSE part | sentence part | 1 | pvse gate | text gate]. A
  query gets its K PVSE heads and one sentence head; a clip its GIF heads and one head per text source. The inner
  product of a pair of the same kind is its calibrated similarity; a PVSE query head with a text head, or the
  sentence head with a GIF head, gets -CROSS, so it never wins. faiss, the exhaustive scan, hub scores and the
  per-head view all work on these vectors unchanged.

An index whose clips have no words (the emoji gallery) gets no text heads and keeps plain cosine scores.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from ..similarity import max_over_k2_scores
from .agreement import FrameAgreement, frame_agreement
from .hubness import NEIGHBOURS, reference_sentences

SOURCES = ("read text", "name", "caption")  # text-head order: what the clip says, then what it was called
CROSS = 100.0  # score of a pair of different kinds: below any calibrated similarity
CHUNK = 4096
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


def _top_mean(scores: torch.Tensor) -> torch.Tensor:
    """(R, N) reference scores -> (N,) mean of each column's NEIGHBOURS best."""
    k = max(1, min(NEIGHBOURS, scores.size(0)))
    return scores.topk(k, dim=0).values.mean(0)


def pixel_calibration(reference: torch.Tensor, gif: np.ndarray, per_clip: bool = True
                      ) -> tuple[np.ndarray, float, float]:
    """(hub score per clip (M,), mean, sigma) of the PVSE max-over-K² similarities of the reference sentences
    (R, Kq, H) with the clips' GIF heads (M, K, H); per_clip=False gives every clip the mean as its hub score (the
    GIF heads then score their plain cosine)."""
    hubs, total, total_sq, count = [], 0.0, 0.0, 0
    for i in range(0, gif.shape[0], CHUNK):
        scores = max_over_k2_scores(reference, torch.from_numpy(np.asarray(gif[i:i + CHUNK], np.float32))).scores
        hubs.append(_top_mean(scores))
        total, total_sq, count = total + float(scores.sum()), total_sq + float((scores.double() ** 2).sum()), \
            count + scores.numel()
    mean = total / count
    sigma = float(np.sqrt(max(total_sq / count - mean ** 2, 1e-12)))
    if not per_clip:
        return np.full(gif.shape[0], mean, np.float32), mean, sigma
    return torch.cat(hubs).numpy().astype(np.float32), mean, sigma


def text_calibration(reference: np.ndarray, texts: np.ndarray, present: np.ndarray
                     ) -> tuple[np.ndarray, float, float]:
    """(hub score per text (M, S), sigma, lowest similarity less its text's hub score) of the sentence-model
    similarities of the reference sentences (R, E) with the clips' texts (M, S, E); missing texts get hub 0 and do
    not count."""
    flat = texts.reshape(-1, texts.shape[-1])
    scores = torch.from_numpy(reference @ flat.T)  # (R, M*S)
    hubs = _top_mean(scores).numpy().reshape(texts.shape[:2]).astype(np.float32)
    mask = torch.from_numpy(present.reshape(-1))
    kept = scores[:, mask]
    hubs[~present] = 0.0
    lowest = float((kept - torch.from_numpy(hubs.reshape(-1))[mask]).min()) if kept.numel() else 0.0
    return hubs, float(kept.std(unbiased=False)) if kept.numel() > 1 else 1.0, lowest


def encode_reference(pipeline, sentence_encoder) -> tuple[torch.Tensor, np.ndarray]:
    """The reference sentences through the PVSE sentence encoder (R, Kq, H) and the sentence model (R, E)."""
    sentences = list(reference_sentences())
    pvse = torch.cat([pipeline.encode_text(sentences[i:i + 64]).embeddings.float().cpu()
                      for i in range(0, len(sentences), 64)])
    from .query_text import without_opener
    return pvse, sentence_encoder.encode([without_opener(s) for s in sentences])


def joint_embeddings(pipeline, sentence_encoder, gif: np.ndarray, texts: list[dict[str, str]],
                     sources: tuple[str, ...], reference: tuple[torch.Tensor, np.ndarray] | None = None
                     ) -> tuple[np.ndarray, TextLayout, FrameAgreement]:
    """(M, K + S, dim) vectors of the clips' GIF heads (M, K, H) and their texts ({source: text} per clip, for the
    `sources` asked), calibrated and joined (module doc), with the layout that reads them and the frame probe that
    weighed the GIF heads. reference: the reference sentences already encoded (`encode_reference`)."""
    m = gif.shape[0]
    present = np.array([[bool(t.get(s)) for s in sources] for t in texts], dtype=bool).reshape(m, len(sources))
    vectors = np.zeros((m, len(sources), sentence_encoder.dim), np.float32)
    todo = [(i, j, texts[i][s]) for i in range(m) for j, s in enumerate(sources) if present[i, j]]
    for start in range(0, len(todo), 256):
        part = todo[start:start + 256]
        vectors[[i for i, _, _ in part], [j for _, j, _ in part]] = sentence_encoder.encode([t for _, _, t in part])
    ref_pvse, ref_sentence = reference if reference is not None else encode_reference(pipeline, sentence_encoder)
    probe = frame_agreement(lambda t: pipeline.encode_text(t).embeddings.float().cpu(), gif,
                            [{s: t[s] for s in sources if t.get(s)} for t in texts])
    in_domain = probe.weight >= 1.0
    gif_hubs, pixel_mean, pixel_scale = pixel_calibration(ref_pvse, gif, per_clip=not in_domain)
    text_hubs, text_scale, lowest = text_calibration(ref_sentence, vectors, present)
    ratio = pixel_scale / text_scale
    floor = float(np.clip(pixel_mean + ratio * lowest - pixel_scale, -2.0, 2.0))
    layout = TextLayout(tuple(sources), sentence_encoder.name, gif.shape[-1], sentence_encoder.dim,
                        round(pixel_scale, 6), round(text_scale, 6), not in_domain, probe.weight, round(floor, 6))
    joint_gif = layout.gif_heads(np.asarray(gif, np.float32), gif_hubs.astype(np.float32), pixel_mean)
    text = layout.text_heads(vectors, text_hubs, present, joint_gif, pixel_mean)
    return np.concatenate([joint_gif, text], axis=1), layout, probe


def reference_query_encoder(layout: TextLayout, reference: tuple[torch.Tensor, np.ndarray]):
    """reference sentences -> (R, Kq + 1, dim) joint query vectors, from their encodings already made (for the hub
    scores of an index with text heads, `hubness.encode_hub_scores`)."""
    joint = torch.stack([layout.query(p, s) for p, s in zip(*reference)])
    row = {sentence: i for i, sentence in enumerate(reference_sentences())}
    return lambda texts: joint[[row[t] for t in texts]]
