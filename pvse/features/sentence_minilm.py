"""all-MiniLM-L6-v2 as a sentence encoder: one 384-d unit vector per text (sentence-transformers' recipe).

Mean of the last hidden states over every token of the text ([CLS] and [SEP] included, padding excluded), then L2
normalisation: what `SentenceTransformer("all-MiniLM-L6-v2").encode(..., normalize_embeddings=True)` computes
(tested), from the same wheel as the word features and without sentence-transformers. Texts are cut at
MAX_TOKENS word pieces (the model was trained on 128). Used to compare two sentences: a query with a clip's
own words (`pvse.build.text_heads`), which the PVSE sentence encoder, trained to meet GIF frames, does poorly.
"""
from __future__ import annotations

import numpy as np
import torch

from .minilm import DIM, MiniLMWordFeatures

MAX_TOKENS = 128
NAME = "all-minilm-l6-v2-mean"


class MiniLMSentenceEncoder:
    name = NAME
    dim = DIM

    def __init__(self, device: str | torch.device = "cpu", batch_size: int = 64) -> None:
        self._words = MiniLMWordFeatures(max_tokens=MAX_TOKENS, device=device, batch_size=batch_size)

    @torch.inference_mode()
    def encode(self, texts: list[str]) -> np.ndarray:
        """(N, 384) float32 unit vectors, one per text."""
        words = self._words
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(texts), words.batch_size):
            chunk = [words.clip(t) for t in texts[start:start + words.batch_size]]
            encodings = words.tokenizer.encode_batch(chunk)
            ids = [[words.cls_id, *e.ids[1:-1][:MAX_TOKENS], words.sep_id] for e in encodings]
            width = max(len(i) for i in ids)
            input_ids = torch.full((len(ids), width), words.pad_id, dtype=torch.int64)
            mask = torch.zeros((len(ids), width), dtype=torch.int64)
            for b, row in enumerate(ids):
                input_ids[b, :len(row)] = torch.tensor(row)
                mask[b, :len(row)] = 1
            hidden = words.model(input_ids.to(words.device), mask.to(words.device)).float().cpu()
            m = mask[:, :, None].float()
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
            out[start:start + len(ids)] = torch.nn.functional.normalize(pooled, dim=1).numpy()
        return out
