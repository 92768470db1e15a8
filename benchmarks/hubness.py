"""Hubs on the bundled gallery, and a query-time correction measured against plain max-over-K².

Hubness: how often each GIF lands in the top 5 over all 150 queries of both query sets (a random GIF: 150 x 5 / 445
= 1.7). The correction is CSLS-style (Conneau et al. 2018, "Word translation without parallel data"): a GIF's
ranking score is s(q, g) - w r_g, where r_g is the mean of its 10 best max-over-K² scores against a reference set of
sentences that are not benchmark queries (the reaction grammar's hand-written situations with an opener, training
text). The explained score stays s(q, g); only the order changes.

    python -m benchmarks.hubness [--weights DIR] [--weights-csls 0.5 1.0]
"""
from __future__ import annotations

import argparse
import json
from collections import Counter

import torch

from benchmarks import BUNDLED_GALLERY, REPO_ROOT
from pvse.defaults import default_weights
from pvse.pipeline import PVSEPipeline
from pvse.similarity import max_over_k2_scores
from pvse.training.cached_features import load_frame_bank
from pvse.training.evaluate import embed_clips
from tools.situations.pairs import BENCHMARK, gallery_stem, read_benchmark

FRESH = BENCHMARK.parent / "fresh_queries.tsv"
GRAMMAR = REPO_ROOT / "tools" / "situations" / "reaction_grammar.json"


def reference_sentences() -> list[str]:
    groups = json.loads(GRAMMAR.read_text())["groups"]
    items = groups.values() if isinstance(groups, dict) else groups
    out = []
    for group in items:
        for situation in group.get("situations", []):
            out.append(f"my reaction when {situation}")
    return out


def hub_penalty(reference_scores: torch.Tensor, k: int = 10) -> torch.Tensor:
    """(R, G) scores of reference sentences against the gallery -> (G,) mean of each GIF's k best (CSLS r_g)."""
    return reference_scores.topk(min(k, reference_scores.size(0)), dim=0).values.mean(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default=None)
    parser.add_argument("--csls", type=float, nargs="*", default=[0.0, 0.5, 1.0])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    pipeline = PVSEPipeline.from_pretrained(args.weights or str(default_weights()), device="cpu")
    paths = sorted(BUNDLED_GALLERY.glob("*.gif"))
    frames = load_frame_bank(paths, pipeline.config.frame_features, pipeline.config.num_frames, None,
                             extractor_factory=lambda: pipeline.frame_extractor, progress=False)
    clips = embed_clips(pipeline.model, frames, paths, pipeline.device).float().cpu()
    stems = [gallery_stem(p.name) for p in paths]
    refs = reference_sentences()
    r = hub_penalty(max_over_k2_scores(pipeline.encode_text(refs).embeddings, clips).scores)
    sets = {"benchmark": read_benchmark(BENCHMARK), "fresh": read_benchmark(FRESH)}
    scores = {n: max_over_k2_scores(pipeline.encode_text([x["query"] for x in rows]).embeddings, clips).scores
              for n, rows in sets.items()}
    print(f"{len(refs)} reference sentences; random GIF: {150 * 5 / len(paths):.1f} top-5 appearances")
    for w in args.csls:
        counts, line = Counter(), []
        for name, rows in sets.items():
            top = (scores[name] - w * r).topk(5, dim=1).indices.tolist()
            hits = sum(any(stems[i] in set(row["acceptable"].split(",")) for i in t) for row, t in zip(rows, top))
            counts.update(i for t in top for i in t)
            line.append(f"{name} top-5 {100 * hits / len(rows):.1f}%")
        hubs = ", ".join(f"{stems[i]} {c}" for i, c in counts.most_common(3))
        print(f"w={w}: {'; '.join(line)}; biggest hubs: {hubs}; GIFs ever in a top 5: {len(counts)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
