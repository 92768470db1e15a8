"""What the K heads do: for a few benchmark queries, each query head's most attended words and the GIF that head
alone matches best (max over the GIF's heads), from the bundled model and index. Writes docs/heads.png.

    python -m benchmarks.heads_figure
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks import REPO_ROOT  # noqa: E402
from pvse.media import decode_clip  # noqa: E402
from pvse.search import Searcher  # noqa: E402
from pvse.similarity import max_over_k2_scores  # noqa: E402

QUERIES = [
    "mrw my friends throw me a surprise party",
    "when the chili is way too spicy",
    "my reaction when my dog greets me at the door",
]


def head_matches(searcher: Searcher, text: str) -> list[tuple[list[str], int, float]]:
    """Per query head: its top-3 words and the (row, score) of the gallery GIF it alone matches best."""
    encoding = searcher.pipeline.encode_text([text])
    query = encoding.embeddings[0]  # (K, H)
    gallery = torch.from_numpy(np.asarray(searcher.index.embeddings, dtype=np.float32))  # (M, K, H)
    sims = max_over_k2_scores(query.unsqueeze(1), gallery).scores  # (K, M): each query head alone vs each GIF
    tokens, attention = encoding.tokens[0], encoding.attention[0]
    out = []
    for k in range(query.size(0)):
        top_words = [tokens[i] for i in np.argsort(-attention[k])[:3]] if attention.size else []
        row = int(sims[k].argmax())
        out.append((top_words, row, float(sims[k, row])))
    return out


def main() -> int:
    searcher = Searcher.load()
    k = searcher.pipeline.config.num_embeds
    fig, axes = plt.subplots(len(QUERIES), k, figsize=(2.3 * k, 2.6 * len(QUERIES)), dpi=110)
    for qi, text in enumerate(QUERIES):
        for hi, (words, row, score) in enumerate(head_matches(searcher, text)):
            ax = axes[qi, hi]
            clip = decode_clip(searcher.clip_path(row), num_frames=1)
            ax.imshow(clip.frames[0])
            ax.set_xticks([]), ax.set_yticks([])
            name = searcher.index.clips[row].name or searcher.index.clips[row].path
            ax.set_title(f"head {hi + 1}: {', '.join(words)}", fontsize=7)
            ax.set_xlabel(f"{name} ({score:.2f})", fontsize=7)
        axes[qi, 0].set_ylabel(text if len(text) < 40 else text[:38] + "…", fontsize=7)
    fig.suptitle("Each query head's top words and the GIF it alone matches best", fontsize=9)
    fig.tight_layout()
    out = REPO_ROOT / "docs" / "heads.png"
    fig.savefig(out)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
