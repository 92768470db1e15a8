"""Score a model on real reaction GIFs: category and situation queries, pixels only and with the GIFs' names.

    python -m benchmarks.real_gifs GIF_DIR --labels labels.tsv [--weights DIR | --index INDEX_DIR] [--json]

GIF_DIR holds the GIFs at `<set>/<path>` (the `set` and `path` columns of labels.tsv; see
benchmarks/real_gifs_README.md for how to fetch them). Only labelled GIFs are ranked. Two kinds of query:

- **category**: for each category carried by >= 3 GIFs, one fixed natural query (CATEGORY_QUERIES, written once,
  before any scoring); hit@5 = a GIF carrying the category is in the top 5, P@5 = the share of the top 5 that
  does. Chance: hit@5 of a random ranking (hypergeometric), P@5 = the category's share of the gallery.
- **situation**: each GIF's own `query` as a known-item search; the rank of that GIF (median, R@5, R@10).
  Chance: median (N+1)/2, R@k = k/N.

Hubness: the largest share of all top-5 lists (category + situation queries) that one GIF appears in.

Tracks: `pixels` (frames only, `pvse index --no-read-text --no-names`), `read` (frames and the text read in them,
no file names: `pvse index --no-names`), `names` (the default index: frames, read text and the GIFs' file and folder
names as text heads, `pvse index`), and baselines that use text alone, no pixels and no PVSE: `read-minilm` (cosine of the
all-MiniLM-L6-v2 sentence embeddings of query and read text; GIFs without text last), `names-lexical` (query words
found in the name, a plain text match), `names-minilm` (MiniLM cosine of query and name) and `names-read-minilm`
(the better of the two MiniLM cosines, name or read text).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import re
import statistics
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pvse.features.filler import FILLER_WORDS

# One natural query per category, written before any scoring and kept fixed (never tuned to results).
CATEGORY_QUERIES = {
    "laugh": "my reaction when something is so funny I cannot stop laughing",
    "happy": "my reaction when I am so happy",
    "excited": "my reaction when I am so excited I cannot sit still",
    "celebrate": "my reaction when we finally did it and it is time to celebrate",
    "love": "my reaction when I am head over heels in love",
    "aww": "my reaction when something is just too cute",
    "proud": "my reaction when I am so proud of myself",
    "approve": "my reaction when I totally approve",
    "applause": "my reaction when that deserves a round of applause",
    "dance": "my reaction when I cannot help dancing",
    "sad": "my reaction when I feel so sad",
    "cry": "my reaction when I just want to cry",
    "angry": "my reaction when I am furious",
    "annoyed": "my reaction when I am so annoyed",
    "eye-roll": "my reaction when I roll my eyes",
    "disgusted": "my reaction when something is absolutely disgusting",
    "scared": "my reaction when I am terrified",
    "shocked": "my reaction when I am completely shocked",
    "surprised": "my reaction when I did not see that coming",
    "mind-blown": "my reaction when my mind is blown",
    "confused": "my reaction when I have no idea what is going on",
    "facepalm": "my reaction when someone does something so stupid I facepalm",
    "embarrassed": "my reaction when I am so embarrassed",
    "awkward": "my reaction when things get really awkward",
    "nervous": "my reaction when I am nervous",
    "bored": "my reaction when I am bored out of my mind",
    "tired": "my reaction when I am exhausted",
    "smug": "my reaction when I knew I was right all along",
    "sarcastic": "my reaction when I answer with pure sarcasm",
    "no": "my reaction when the answer is no",
    "yes": "my reaction when the answer is yes",
    "thinking": "my reaction when I need to think about it",
    "waiting": "my reaction when I am still waiting",
    "fail": "my reaction when that was an epic fail",
    "deal-with-it": "my reaction when they will just have to deal with it",
    "shrug": "my reaction when I do not know and I do not care",
    "bye": "my reaction when it is time to say goodbye",
}
MIN_CATEGORY_SIZE = 3
INDEX_TRACKS = ("pixels", "read", "names")
TRACKS = (*INDEX_TRACKS, "read-minilm", "names-lexical", "names-minilm", "names-read-minilm")
TOP = 5
STOPWORDS = FILLER_WORDS  # the text baselines' stop words are the project's filler words


@dataclass
class Label:
    key: str  # path relative to GIF_DIR
    categories: list[str]
    query: str


def read_labels(file: Path) -> list[Label]:
    with open(file, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [Label(f"{r['set']}/{r['path']}" if r.get("set") else r["path"],
                  [c.strip() for c in r["categories"].split(",") if c.strip()], r["query"].strip()) for r in rows]


def ranking(scores: np.ndarray) -> np.ndarray:
    """(Q, N) scores -> (Q, N) column order, best first, ties broken by column (as search does)."""
    return np.argsort(-scores.astype(np.float64), axis=1, kind="stable")


def chance_hit(n: int, relevant: int, k: int = TOP) -> float:
    """Probability that a random top-k of n items holds at least one of `relevant` items."""
    return 1.0 - math.comb(n - relevant, k) / math.comb(n, k) if n >= k else float(relevant > 0)


def category_metrics(scores: np.ndarray, categories: list[str], carriers: list[set[int]]) -> dict:
    """hit@5 and P@5 per category query, with their chance levels; scores (Q, N), carriers[q] = relevant columns."""
    n = scores.shape[1]
    order = ranking(scores)[:, :TOP]
    rows = []
    for category, top, rel in zip(categories, order, carriers):
        hits = sum(int(c) in rel for c in top)
        rows.append({"category": category, "n": len(rel), "hit5": float(hits > 0), "p5": hits / TOP,
                     "chance_hit5": chance_hit(n, len(rel)), "chance_p5": len(rel) / n})
    mean = {m: float(np.mean([r[m] for r in rows])) for m in ("hit5", "p5", "chance_hit5", "chance_p5")}
    return {"queries": len(rows), **mean, "per_category": rows}


def situation_metrics(scores: np.ndarray, targets: list[int]) -> dict:
    """Known-item ranks (1-based) of target column q for query q; median, R@5, R@10 and chance."""
    n = scores.shape[1]
    order = ranking(scores)
    ranks = [int(np.flatnonzero(row == t)[0]) + 1 for row, t in zip(order, targets)]
    return {"queries": len(ranks), "median_rank": float(statistics.median(ranks)),
            "r5": float(np.mean([r <= 5 for r in ranks])), "r10": float(np.mean([r <= 10 for r in ranks])),
            "chance_median_rank": (n + 1) / 2, "chance_r5": min(5, n) / n, "chance_r10": min(10, n) / n,
            "ranks": ranks}


def hubness(*score_sets: np.ndarray, k: int = TOP) -> dict:
    """The GIF (column) in the most top-k lists, and the share of lists it is in (a random GIF: k/N)."""
    tops = [c for scores in score_sets for row in ranking(scores)[:, :k] for c in row.tolist()]
    lists = sum(s.shape[0] for s in score_sets)
    column, count = Counter(tops).most_common(1)[0]
    n = score_sets[0].shape[1]
    return {"lists": lists, "column": int(column), "count": count, "max_share": count / lists, "chance_share": k / n}


def evaluate(scores_cat: np.ndarray, scores_sit: np.ndarray, labels: list[Label], categories: list[str]) -> dict:
    carriers = [{i for i, lab in enumerate(labels) if c in lab.categories} for c in categories]
    result = {"category": category_metrics(scores_cat, categories, carriers),
              "situation": situation_metrics(scores_sit, list(range(len(labels)))),
              "hubness": hubness(scores_cat, scores_sit)}
    result["hubness"]["gif"] = labels[result["hubness"]["column"]].key
    return result


# ---------------------------------------------------------------------------------------------- text baselines

def content_words(text: str) -> set[str]:
    words = re.findall(r"[a-z]+", text.lower().replace("'", ""))
    return {_stem(w) for w in words if w not in STOPWORDS}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def lexical_scores(queries: list[str], names: list[str | None]) -> np.ndarray:
    """Plain text match: how many of the query's content words (crudely stemmed) the name holds."""
    name_words = [content_words(n or "") for n in names]
    return np.array([[len(content_words(q) & w) for w in name_words] for q in queries], dtype=np.float32)


def minilm_scores(queries: list[str], names: list[str | None]) -> np.ndarray:
    """Cosine of all-MiniLM-L6-v2 sentence embeddings (mean pooled) of queries and names; a GIF without a name (or
    without text) scores -2, below every cosine."""
    from pvse.features.sentence_minilm import MiniLMSentenceEncoder
    encoder = MiniLMSentenceEncoder()
    q = encoder.encode(queries)
    g = encoder.encode([n or "" for n in names])
    scores = (q @ g.T).astype(np.float32)
    scores[:, [not n for n in names]] = -2.0
    return scores


# ---------------------------------------------------------------------------------------------- model tracks

def model_scores(index_dir: Path, labels: list[Label], queries_cat: list[str], weights: str | None = None
                 ) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """Max-over-K² scores of the category and situation queries against the labelled clips of an index."""
    from pvse.search import Searcher
    from pvse.similarity import max_over_k2_scores
    searcher = Searcher.load(index_dir, weights=weights, device="cpu")
    row_of = {c.path: i for i, c in enumerate(searcher.index.clips)}
    missing = [lab.key for lab in labels if lab.key not in row_of]
    rows = [row_of[lab.key] for lab in labels if lab.key in row_of]
    gallery = torch.from_numpy(np.asarray(searcher.index.embeddings[rows], dtype=np.float32))

    def score(texts: list[str]) -> np.ndarray:
        return max_over_k2_scores(searcher.query_embeddings(texts), gallery).scores.numpy()

    return score(queries_cat), score([lab.query for lab in labels if lab.key in row_of]), missing, len(rows)


def read_texts(index_dir: Path | None, labels: list[Label]) -> list[str | None]:
    """The text read in each labelled GIF's frames, from an index built with reading on (track `read`)."""
    if index_dir is None:
        raise SystemExit("the read-minilm tracks need the read track (or --read-index) first")
    from pvse.index import read_index
    clips = {c.path: c for c in read_index(index_dir, load_vectors=False).clips}
    return [clips[lab.key].read_text.text if lab.key in clips and clips[lab.key].read_text else None
            for lab in labels]


def build(gif_dir: Path, out: Path, weights: str | None, feature_cache: str | None, names: bool,
          read_text: bool = True) -> Path:
    from pvse.build import build_index
    report = build_index(gif_dir, out, weights, device="cpu", feature_cache=feature_cache, progress=False,
                         names=names, read_text=read_text)
    for path, reason in report.failed:
        print(f"note: {path} not indexed: {reason}", file=sys.stderr)
    return out


# ---------------------------------------------------------------------------------------------- report

def format_track(name: str, r: dict, n: int) -> list[str]:
    c, s, h = r["category"], r["situation"], r["hubness"]
    return [(f"| {name} | {n} | {c['hit5']:.3f} | {c['chance_hit5']:.3f} | {c['p5']:.3f} | {c['chance_p5']:.3f} | "
            f"{s['median_rank']:.0f} | {s['chance_median_rank']:.0f} | {s['r5']:.3f} | {s['r10']:.3f} | "
            f"{s['chance_r5']:.3f} / {s['chance_r10']:.3f} | {h['max_share']:.2f} ({h['count']}/{h['lists']}, "
            f"{Path(h['gif']).name}) |")]


HEADER = [("| track | GIFs | category hit@5 | chance | P@5 | chance | situation median rank | chance | R@5 | R@10 | "
           "chance R@5 / R@10 | hub: max share of top-5 lists |"),
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gif_dir", type=Path, help="folder holding the GIFs at <set>/<path> of labels.tsv")
    parser.add_argument("--labels", type=Path, required=True, help="labels.tsv (set, path, categories, query, ...)")
    parser.add_argument("--weights", default=None, help="checkpoint to index with (default: the bundled model)")
    parser.add_argument("--index", type=Path, default=None,
                        help="a frames-only index of GIF_DIR (--no-read-text --no-names; skips building it)")
    parser.add_argument("--read-index", type=Path, default=None,
                        help="an index of GIF_DIR built with --no-names, reading text (skips building it)")
    parser.add_argument("--names-index", type=Path, default=None,
                        help="an index of GIF_DIR built with the defaults, names on (skips building it)")
    parser.add_argument("--tracks", default=",".join(TRACKS), help="comma-separated: " + ", ".join(TRACKS))
    parser.add_argument("--out", type=Path, default=None, help="keep the indexes built here (default: a temporary folder)")
    parser.add_argument("--feature-cache", default=None, help="frame feature cache (reruns skip the CNN)")
    parser.add_argument("--json", action="store_true", help="print every number as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    labels = read_labels(args.labels)
    counts = Counter(c for lab in labels for c in lab.categories)
    categories = [c for c in CATEGORY_QUERIES if counts[c] >= MIN_CATEGORY_SIZE]
    unknown = sorted(set(counts) - set(CATEGORY_QUERIES))
    if unknown:
        print(f"note: no query for categories {', '.join(unknown)}; they are not scored", file=sys.stderr)
    queries_cat = [CATEGORY_QUERIES[c] for c in categories]
    tracks = [t.strip() for t in args.tracks.split(",") if t.strip()]
    results: dict[str, dict] = {}
    sizes: dict[str, int] = {}
    indexes: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="real-gifs-") as tmp:
        work = args.out or Path(tmp)
        for track in tracks:
            if track in INDEX_TRACKS:
                index = {"pixels": args.index, "read": args.read_index, "names": args.names_index}[track]
                if index is None:
                    index = build(args.gif_dir, work / f"{track}.index", args.weights, args.feature_cache,
                                  names=track == "names", read_text=track != "pixels")
                indexes[track] = index
                cat, sit, missing, n = model_scores(index, labels, queries_cat, args.weights)
                kept = [lab for lab in labels if lab.key not in set(missing)]
                if missing:
                    print(f"note: {track}: {len(missing)} labelled GIF(s) not in the index, left out: "
                          f"{', '.join(missing[:5])}", file=sys.stderr)
            elif track in ("names-lexical", "names-minilm", "read-minilm", "names-read-minilm"):
                from pvse.index.captions import words_from_path
                kept = labels
                names = [words_from_path(lab.key) for lab in labels]
                if track == "names-lexical":
                    cat, sit = lexical_scores(queries_cat, names), lexical_scores([lab.query for lab in labels], names)
                else:
                    read = read_texts(indexes.get("read") or args.read_index, labels)
                    sources = {"names-minilm": [names], "read-minilm": [read], "names-read-minilm": [names, read]}
                    cat = np.maximum.reduce([minilm_scores(queries_cat, t) for t in sources[track]])
                    sit = np.maximum.reduce([minilm_scores([lab.query for lab in labels], t) for t in sources[track]])
                n = len(labels)
            else:
                parser.error(f"unknown track {track!r}")
            results[track] = evaluate(cat, sit, kept, categories)
            sizes[track] = n
    if args.json:
        print(json.dumps({"categories": categories, "queries": queries_cat, "tracks": results}, indent=2))
        return 0
    print(f"{len(labels)} labelled GIFs, {len(categories)} category queries (categories with >= "
          f"{MIN_CATEGORY_SIZE} GIFs), {len(labels)} situation queries")
    print("\n".join(HEADER))
    for track, r in results.items():
        print("\n".join(format_track(track, r, sizes[track])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
