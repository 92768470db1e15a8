"""Turn benchmarks/results/ablation.json into the README table and the rsum-vs-K plot (docs/rsum_vs_k.png).

    python -m benchmarks.ablation_report
"""
from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks import REPO_ROOT  # noqa: E402

from .situations.score import random_situations  # noqa: E402

RESULTS = REPO_ROOT / "benchmarks" / "results"


def table(results: dict) -> str:
    head = ("| configuration | t→v R@1 | R@5 | R@10 | MedR | nMR | v→t R@1 | R@5 | R@10 | MedR | nMR | rsum "
            "| situations top-1 | top-5 |")
    lines = [head, "|" + "---|" * 14]
    for name, r in results.items():
        t = r["test"]
        a, b = t["text_to_video"], t["video_to_text"]
        s = r.get("situations") or {}
        cells = [name] + [f"{a[k]:.1f}" for k in ("r1", "r5", "r10")] + [f"{a['medr']:.0f}", f"{a['nmr']:.3f}"]
        cells += [f"{b[k]:.1f}" for k in ("r1", "r5", "r10")] + [f"{b['medr']:.0f}", f"{b['nmr']:.3f}"]
        cells += [f"{t['rsum']:.1f}", f"{s['top1']:.1f}" if s else "–", f"{s['top5']:.1f}" if s else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: dict) -> None:
    ks = sorted((int(n.split("-k")[1]), r["test"]["rsum"]) for n, r in results.items()
                if n.startswith("glove-k") and "+" not in n)
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=120)
    ax.plot([k for k, _ in ks], [v for _, v in ks], "o-", label="GloVe-50d")
    for name, marker in (("minilm-k4", "s"), ("minilm-k4-p8", "D"), ("minilm-k4+situations-p8", "^")):
        if name in results:
            ax.plot([4], [results[name]["test"]["rsum"]], marker, label=name)
    if "random" in results:
        ax.axhline(results["random"]["test"]["rsum"], color="grey", ls="--", label="random")
    ax.set_xlabel("K (embeddings per instance)")
    ax.set_ylabel("test rsum (max 600)")
    ax.set_title("PVSE on held-out Noto emoji")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(REPO_ROOT / "docs" / "rsum_vs_k.png")


def main() -> int:
    results = json.loads((RESULTS / "ablation.json").read_text())
    if "random" in results and not results["random"].get("situations"):
        results["random"]["situations"] = random_situations()
    (RESULTS / "ablation.md").write_text(table(results) + "\n")
    plot(results)
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
