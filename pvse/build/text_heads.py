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

import numpy as np
import torch

from ..index.hubness import NEIGHBOURS, reference_sentences
from ..index.text_layout import TextLayout
from ..similarity import max_over_k2_scores
from .agreement import FrameAgreement, frame_agreement

CHUNK = 4096


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
    from ..search.query_text import without_opener
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
