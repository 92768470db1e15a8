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
                        '"relative_path" (in the gallery), "score", "query_head", "clip_head", "matched_by", '
                        '"found_by", and for a clip whose frames show text "read_text" and "read_lines" (text, frame, box)} '
                        'on stdout ("name": the clip\'s name, caption or file name; "found_by": the query '
                        'words the model does not know that its name or text has, which put it first)')
    parser.add_argument("--per-head", type=bounded_int(1, MAX_TOP_K), default=0, metavar="N",
                        help=f"also list each query head's own N best clips, at most {MAX_TOP_K} (one reading of the "
                             "query each); with "
                             '--json the output becomes {"hits": [...], "per_head": [{"head", "words", "hits"}]}')
    parser.add_argument("--hub-correction", type=float, default=0.0, metavar="W",
                        help="rank by score - W x each clip's hub score, so GIFs that top every query sink "
                             "(0 = off, the default; 0.5 = CSLS); scores shown stay the plain max over K²")
    parser.add_argument("--device", choices=DEVICES, default=DEFAULT_DEVICE)


def run(args: argparse.Namespace) -> int:
    from ..index.searcher import Searcher
    searcher = Searcher.load(args.index, weights=args.weights, device=args.device)
    result = searcher.search(" ".join(args.query), top_k=args.top_k, per_head_k=args.per_head,
                             hub_correction=args.hub_correction)
    if args.json:
        if result.message:
            print(f"note: {result.message}", file=sys.stderr)
        rows = _rows(result.hits)
        if args.per_head:
            rows = {"hits": rows, "per_head": [{"head": h.head, "words": h.words, "hits": _rows(h.hits)}
                                               for h in result.per_head]}
        print(strict_json.dumps(rows, ensure_ascii=False))
        return 0
    if result.message:
        print(f"note: {result.message}")
    if not result.hits:
        print("No results.")
        return 0
    width = max(len(h.path) for h in result.hits)
    print(f"{'rank':>4}  {'score':>7}  {'matched by':<14}  {'path':<{width}}  name")
    for h in result.hits:
        print(f"{h.rank:>4}  {h.score:>7.4f}  {h.matched_by:<14}  {h.path:<{width}}  {h.display_name}")
    for head in result.per_head:
        best = ", ".join(f"{h.display_name} ({h.score:.3f})" for h in head.hits)
        print(f"query head {head.head} alone ({', '.join(head.words)}): {best}")
    if result.per_head:
        from ..index.readings import heads_summary
        print(heads_summary(result.per_head))
    print(f"{searcher.num_clips} clips searched in {result.elapsed_ms:.1f} ms", file=sys.stderr)
    return 0


def _rows(hits) -> list[dict]:
    return [{"rank": h.rank, "name": h.display_name, "path": str(h.abs_path), "relative_path": h.path,
             "score": h.score, "query_head": h.query_head, "clip_head": h.clip_head, "matched_by": h.matched_by,
             "found_by": [word for word, _ in h.found_by]}
            | ({"read_text": h.read_text.text, "read_lines": [line.to_dict() for line in h.read_text.lines]}
               if h.read_text is not None else {}) for h in hits]
