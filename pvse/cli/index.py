"""`pvse index GIF_DIR --out INDEX_DIR`: build or update a gallery index (see pvse.build.run)."""
from __future__ import annotations

import argparse
import json

from ..config import DEFAULT_FRAME_PRECISION, FRAME_PRECISIONS
from ..devices import DEFAULT_DEVICE, DEVICES
from ..index.backends import all_backends, offered_kinds
from ..media import MediaLimits
from .arguments import positive_int


def _param(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. nlist=1024), got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("gallery", metavar="GIF_DIR", help="folder of GIF / MP4 / WebP / WebM clips (walked recursively)")
    parser.add_argument("--out", metavar="INDEX_DIR", help="where the index goes (default: GIF_DIR.index beside the "
                        "folder), or a Milvus location: milvus://gifs.db (Milvus Lite file) or http(s)://HOST:19530 "
                        "(token in $PVSE_MILVUS_TOKEN), optionally ?collection=NAME; see docs/milvus.md")
    parser.add_argument("--weights", metavar="PATH_OR_REPO", help="checkpoint folder or Hugging Face repo id "
                        "(default: the bundled model)")
    parser.add_argument("--captions", metavar="FILE", help="TSV/CSV/JSON mapping relative path -> name / caption / "
                        "metadata (e.g. the gallery's manifest.tsv)")
    parser.add_argument("--no-names", dest="names", action="store_false",
                        help="do not match queries against the clips' names (on by default: a clip's name from "
                             "--captions, else its file and folder names as words, 'reactions/annoyed/eye-roll_2.gif' "
                             "-> 'eye roll (annoyed)'; names that carry no words, such as IMG_0042 or a hash, give "
                             "none); names are still shown")
    parser.add_argument("--names-as-captions", dest="names", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--text-heads", action="store_true", help=argparse.SUPPRESS)  # now the default
    parser.add_argument("--no-read-text", dest="read_text", action="store_false",
                        help="do not read the words shown in the frames (subtitles, captions, signs; on by default: "
                             "OCR on 4 frames of each clip, they become a text head of the clip)")
    parser.add_argument("--device", choices=DEVICES, default=DEFAULT_DEVICE,
                        help="where the CNN and encoder run (auto: CUDA when present)")
    parser.add_argument("--precision", choices=FRAME_PRECISIONS, default=DEFAULT_FRAME_PRECISION,
                        help="frame CNN precision: int8 is ONNX Runtime static quantization (CPU; 2-3x faster "
                             "frame features, cosine to fp32 features about 0.97, see docs/indexing-at-scale.md); "
                             "an index never mixes the two (default fp32)")
    parser.add_argument("--ray", metavar="ADDRESS",
                        help="encode the clips on a Ray cluster (pip install 'pvse-gif[ray]'): auto (the cluster "
                             "this machine joined with `ray start`), ray://HOST:10001, or local (Ray on this machine); "
                             "the gallery folder and weights must be at the same path on every node "
                             "(docs/indexing-at-scale.md)")
    parser.add_argument("--ray-workers", type=positive_int, default=2, metavar="N",
                        help="Ray actors, each loading the model once (default 2)")
    parser.add_argument("--ray-threads", type=positive_int, default=1, metavar="N",
                        help="CPUs (and CNN threads) per Ray actor (default 1)")
    parser.add_argument("--batch-size", type=positive_int, default=8, metavar="N", help="clips per CNN batch (default 8)")
    parser.add_argument("--workers", type=positive_int, default=None, metavar="N",
                        help="clips indexed side by side, one thread each (default: one per CPU)")
    parser.add_argument("--feature-cache", metavar="DIR", help="keep frame features here and reuse them next time")
    backends = all_backends().values()
    kinds = offered_kinds()
    offered = "; ".join(f"{b.title}: {', '.join(b.kinds)}" for b in backends)
    parser.add_argument("--index-kind", choices=list(kinds), default=None, metavar="KIND",
                        help="vector index: " + "; ".join(f"{k.name} = {k.about}" for k in kinds.values())
                             + ". Approximate ones are re-scored exactly; default for a rerun: the existing index's "
                             f"kind. Offered by {offered}")
    params = {p.name: p for kind in kinds.values() for p in kind.params}
    parser.add_argument("--index-param", type=_param, action="append", default=[], metavar="KEY=VALUE",
                        help="index parameter, repeatable: " + "; ".join(
                            f"{name} = {p.help} [{', '.join(k for k, kind in kinds.items() if p in kind.params)}]"
                            for name, p in params.items()))
    parser.add_argument("--max-file-mb", type=float, default=50.0, metavar="MB",
                        help="skip files larger than this (default 50)")
    parser.add_argument("--rebuild", action="store_true", help="encode every clip again instead of reusing the index")
    parser.add_argument("--retry-failed", action="store_true",
                        help="try again the files skipped because a build died while encoding them (each alone "
                             "first; one that kills the build again is named and skipped on the next run)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ..build.run import build_index
    limits = MediaLimits(max_file_bytes=int(args.max_file_mb * 2**20))
    encoder = None
    if args.ray:
        from ..build.ray_build import RayEncoder
        encoder = RayEncoder(args.ray, workers=args.ray_workers, threads=args.ray_threads)
    report = build_index(args.gallery, args.out, args.weights, captions=args.captions, device=args.device,
                         batch_size=args.batch_size, feature_cache=args.feature_cache, index_kind=args.index_kind,
                         index_params=dict(args.index_param) or None, rebuild=args.rebuild,
                         decode_workers=args.workers, limits=limits, progress=not args.quiet,
                         names=args.names,
                         precision=args.precision, encoder=encoder, read_text=args.read_text,
                         retry_failed=args.retry_failed)
    print(report.summary())
    return 0
