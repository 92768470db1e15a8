"""`pvse search "my reaction when ..."`: rank the clips of a gallery index for a sentence."""
from __future__ import annotations

import argparse
import sys

from ..devices import DEFAULT_DEVICE, DEVICES
from ..limits import MAX_TOP_K
from . import strict_json
from .arguments import bounded_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", nargs="+", help="what you would say (quotes optional)")
    parser.add_argument("--index", metavar="INDEX_DIR", help="index made by `pvse index`: a folder or a Milvus location "
                        "(milvus://gifs.db, http(s)://HOST:19530?collection=NAME); default: the bundled gallery")
    parser.add_argument("--weights", metavar="PATH_OR_REPO", help="default: the weights that built the index")
    parser.add_argument("--top-k", type=bounded_int(1, MAX_TOP_K), default=10, metavar="N",
                        help=f"how many clips (default 10, at most {MAX_TOP_K})")
    parser.add_argument("--json", action="store_true", help='print only a JSON list of {"rank", "name", "path" (absolute), '
                        '"relative_path" (in the gallery), "score", "reading", "clip_head", "matched_by", '
                        '"matched_text", "found_by", and for a clip whose frames show text "read_text" and "read_lines" '
                        '(text, frame, box)} on stdout ("name": the clip\'s name, caption or file name; "reading": the '
                        'reading of the query that found it, numbered from 1 as in the table and the app; "clip_head": '
                        'which of the clip\'s heads it met, from 1: its GIF heads ("GIF head j" in "matched_by"), then '
                        'its texts; "matched_text": the text of the clip it met, or null; "found_by": the query words '
                        'the model does not know that its name or text has, which put it first)')
    parser.add_argument("--per-head", type=bounded_int(1, MAX_TOP_K), default=0, metavar="N",
                        help=f"also list each reading's own N best clips, at most {MAX_TOP_K} (each query head alone, "
                             "and in an index with text heads the query as a whole against the clips' words); with "
                             '--json the output becomes {"hits": [...], "per_head": [{"reading", "label", "words", '
                             '"hits"}], "summary": "..."}')
    parser.add_argument("--hub-correction", type=float, default=0.0, metavar="W",
                        help="rank by score - W x each clip's hub score, so GIFs that top every query sink "
                             "(0 = off, the default; 0.5 = CSLS); scores shown stay the plain max over K²")
    parser.add_argument("--device", choices=DEVICES, default=DEFAULT_DEVICE)


def run(args: argparse.Namespace) -> int:
    from ..search.searcher import Searcher
    searcher = Searcher.load(args.index, weights=args.weights, device=args.device)
    result = searcher.search(" ".join(args.query), top_k=args.top_k, per_head_k=args.per_head,
                             hub_correction=args.hub_correction)
    if args.json:
        if result.message:
            print(f"note: {result.message}", file=sys.stderr)
        print(strict_json.dumps(json_output(result, with_readings=bool(args.per_head)), ensure_ascii=False))
        return 0
    if result.message:
        print(f"note: {result.message}")
    if not result.hits:
        print("No results.")
        return 0
    print("\n".join(table(result.hits)))
    for line in readings_lines(result):
        print(line)
    print(f"{searcher.num_clips} clips searched in {result.elapsed_ms:.1f} ms", file=sys.stderr)
    return 0


COLUMNS = {"matched by": 34, "path": 40}  # the widest these columns get; longer texts are cut with "…"


def table(hits) -> list[str]:
    """The results as aligned text columns: rank, score, reading, matched by, path, name (long texts cut with "…",
    so every row keeps the same columns)."""
    from ..search.readings import cut
    matched = [cut(h.matched_by, COLUMNS["matched by"]) for h in hits]
    paths = [cut(h.path, COLUMNS["path"]) for h in hits]
    m_width = max(len("matched by"), *map(len, matched))
    p_width = max(len("path"), *map(len, paths))
    lines = [f"{'rank':>4}  {'score':>7}  {'reading':>7}  {'matched by':<{m_width}}  {'path':<{p_width}}  name"]
    for h, by, path in zip(hits, matched, paths):
        lines.append(f"{h.rank:>4}  {h.score:>7.4f}  {h.reading:>7}  {by:<{m_width}}  {path:<{p_width}}  "
                     f"{cut(h.display_name, 60)}")
    return lines


def readings_lines(result) -> list[str]:
    """What the readings are, under the table: the sentence reading's words when a hit came by it, each reading's
    own best clips (--per-head), and the one-line summary (`pvse.search.readings`)."""
    from ..search.readings import cut, found_by_phrase, heads_summary, reading_label
    lines = []
    whole = getattr(result, "sentence_reading", None)
    if whole is not None and any(h.reading == whole for h in result.hits):
        lines.append(f"Reading {whole} is your words as a whole: the sentence model read “{result.sentence_query}” "
                     "against each GIF's own words.")
    for h in result.hits:
        if h.found_by and not (result.per_head and h is result.hits[0]):  # the summary says it for the first
            lines.append(f"{h.display_name} comes first because {found_by_phrase(h.found_by)}.")
    for head in result.per_head:
        best = ", ".join(f"{h.display_name} ({h.score:.3f}" + (f", {cut(h.matched_by, 30)})" if head.sentence else ")")
                         for h in head.hits)
        lines.append(f"{reading_label(head)}: {best or 'no GIF'}")
    if result.per_head:
        summary = heads_summary(result.per_head, result.hits)
        if summary:
            lines.append(summary)
    return lines


def json_output(result, with_readings: bool = False) -> list[dict] | dict:
    """What `--json` prints: the hits, and with --per-head {"hits", "per_head", "summary"}; readings and clip heads
    numbered from 1, as the table and the app show them."""
    from ..search.readings import heads_summary, reading_label
    rows = _rows(result.hits)
    if not with_readings:
        return rows
    return {"hits": rows, "per_head": [{"reading": h.reading, "label": reading_label(h), "words": h.words,
                                       "hits": _rows(h.hits)} for h in result.per_head],
            "summary": heads_summary(result.per_head, result.hits)}


def _rows(hits) -> list[dict]:
    return [{"rank": h.rank, "name": h.display_name, "path": str(h.abs_path), "relative_path": h.path,
             "score": h.score, "reading": h.reading, "clip_head": h.clip_head + 1, "matched_by": h.matched_by,
             "matched_text": h.matched_text, "found_by": [word for word, _ in h.found_by]}
            | ({"read_text": h.read_text.text, "read_lines": [line.to_dict() for line in h.read_text.lines]}
               if h.read_text is not None else {}) for h in hits]
