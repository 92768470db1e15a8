"""Experimental training pairs from GoEmotions: real Reddit sentences, each with 3 emoji of its emotion's reaction.

    python -m benchmarks.goemotions_pairs ../shared/data/goemotions --out goemotions-pairs.tsv [--per-emotion 400]

GoEmotions (Demszky et al., ACL 2020; Apache License 2.0): single-label comments of the train split, 3-25 words,
at most `--per-emotion` per emotion, mapped to a reaction group of tools/situations/reaction_grammar.json (EMOTION_TO_REACTION);
near copies of the situation benchmark's and the fresh set's queries are dropped (the situation pairs' leak rule).
Use the file with `pvse train --extra-pairs`. Measured in docs/real-gifs.md; not part of the shipped recipe.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

from benchmarks import BUNDLED_GALLERY
from tools.situations.pairs import (
    BENCHMARK,
    REACTIONS,
    SentenceTeacher,
    emoji_descriptions,
    gallery_stem,
    leaking,
    read_benchmark,
)

EMOTION_TO_REACTION = {
    "amusement": "laughing", "anger": "angry", "annoyance": "annoyed", "caring": "touched", "confusion": "confused",
    "curiosity": "confused", "disappointment": "sad", "disapproval": "annoyed", "disgust": "disgusted",
    "embarrassment": "embarrassed", "excitement": "excited", "fear": "terrified", "gratitude": "touched",
    "grief": "devastated", "joy": "happy", "love": "love", "nervousness": "nervous", "optimism": "hopeful",
    "pride": "proud", "relief": "relieved", "sadness": "sad", "surprise": "shocked",
}


def goemotions_sentences(folder: Path, per_emotion: int, seed: int = 0) -> list[tuple[str, str]]:
    """(sentence, reaction group) for single-label train comments of mapped emotions, 3-25 words, capped per emotion."""
    labels = (folder / "labels.txt").read_text(encoding="utf-8").split()
    with open(folder / "train.tsv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    random.Random(seed).shuffle(rows)
    chosen: dict[str, list[str]] = {}
    for text, ids, *_ in rows:
        ids = ids.split(",")
        emotion = labels[int(ids[0])] if len(ids) == 1 else None
        text = " ".join(text.split())
        if emotion in EMOTION_TO_REACTION and 3 <= len(text.split()) <= 25:
            if len(chosen.setdefault(emotion, [])) < per_emotion:
                chosen[emotion].append(text)
    return [(t, EMOTION_TO_REACTION[e]) for e, texts in chosen.items() for t in texts]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("goemotions", type=Path, help="folder with train.tsv and labels.txt")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-emotion", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    grammar = json.loads(REACTIONS.read_text(encoding="utf-8"))
    sentences = goemotions_sentences(args.goemotions, args.per_emotion, args.seed)
    queries = [r["query"] for r in read_benchmark()] + [r["query"] for r in
                                                        read_benchmark(BENCHMARK.with_name("fresh_queries.tsv"))]
    flags = leaking([s for s, _ in sentences], queries, SentenceTeacher())
    files, _ = emoji_descriptions(BUNDLED_GALLERY / "manifest.tsv")
    by_stem = {gallery_stem(f): f for f in files}
    rng = random.Random(args.seed)
    rows = [(by_stem[e], s) for (s, group), leak in zip(sentences, flags) if not leak
            for e in rng.sample(grammar["groups"][group]["emoji"], 3)]
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.writelines(f"{f}\t{s.replace(chr(9), ' ')}\n" for f, s in rows)
    print(f"{len(sentences)} sentences, {sum(flags)} dropped as near copies of benchmark queries, {len(rows)} rows "
          f"-> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
