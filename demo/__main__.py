"""`python -m demo`: load the model and gallery index once, then serve the search app.

Every option has an environment variable (what a Hugging Face Space sets in its settings), so the
Space's `app.py` runs this same code with no arguments.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys

from pvse.cli.arguments import OneLineParser
from pvse.devices import DEFAULT_DEVICE, DEVICES
from pvse.errors import PVSEError, WeightsError

ENV = {"weights": "PVSE_WEIGHTS", "index": "PVSE_INDEX", "device": "PVSE_DEVICE", "host": "GRADIO_SERVER_NAME",
       "port": "GRADIO_SERVER_PORT", "share": "PVSE_SHARE"}
EPILOG = """\
environment variables (used when the option is not given; a Space sets them in its settings):
  PVSE_WEIGHTS        --weights      PVSE_INDEX   --index      PVSE_DEVICE   --device
  GRADIO_SERVER_NAME  --host         GRADIO_SERVER_PORT        --port        PVSE_SHARE=1  --share

examples:
  python -m demo                                       # bundled model and gallery, http://127.0.0.1:7860
  python -m demo --index my-gifs.index                 # a gallery indexed with `pvse index my-gifs`
  python -m demo --index milvus://my-gifs.db           # ... with `pvse index my-gifs --out milvus://my-gifs.db`
  python -m demo --weights user/pvse-gif --index my-gifs.index --device cpu
  python -m demo --host 0.0.0.0 --port 8080            # reachable from other machines
"""


def port_number(text: str) -> int:
    """A TCP port from the command line or $GRADIO_SERVER_PORT (argparse applies it to string defaults too)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not in 1..65535")
    return port


def host_problem(host: str) -> str | None:
    """Why the server cannot listen on `host` (unknown name, not an address of this machine), or None."""
    try:
        addresses = {info[4][0]: info[0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
    except (socket.gaierror, UnicodeError) as exc:
        return f"--host {host} is not a known host name or address ({exc})"
    for address, family in addresses.items():
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((address, 0))
                return None
            except OSError:
                continue
    return (f"--host {host} is not an address of this machine; use 127.0.0.1 (this machine only), 0.0.0.0 "
            "(all interfaces) or one of this machine's own addresses")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m demo", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Search reaction GIFs by sentence (PVSE, CVPR 2019) in the browser. The model and the gallery "
                    "index are loaded once at start-up; GIF embeddings and frame attention come precomputed from "
                    "the index, so a query only runs the sentence encoder and the search. Works offline.")
    env = os.environ.get
    parser.add_argument("--weights", metavar="PATH_OR_HF_REPO", default=env(ENV["weights"]),
                        help="checkpoint directory or Hugging Face model repo id (user/repo[@revision]); "
                             "default: the weights the index was built with, else the bundled model")
    parser.add_argument("--index", metavar="INDEX_DIR", default=env(ENV["index"]),
                        help="gallery index built with `pvse index GALLERY_DIR`: a folder or a Milvus location "
                             "(milvus://gifs.db, http(s)://HOST:19530?collection=NAME); default: the bundled gallery")
    parser.add_argument("--device", choices=DEVICES, default=env(ENV["device"]) or DEFAULT_DEVICE,
                        help="auto: CUDA when available, else CPU; the page says which (default: %(default)s)")
    parser.add_argument("--host", default=env(ENV["host"]) or "127.0.0.1",
                        help="address to listen on; 0.0.0.0 for all interfaces (default: %(default)s)")
    parser.add_argument("--port", type=port_number, default=env(ENV["port"]) or None,
                        help="port (default: the first free one from 7860)")
    parser.add_argument("--share", action="store_true", default=(env(ENV["share"]) or "").lower() in ("1", "true", "yes"),
                        help="also open a temporary public gradio.live link (needs internet)")
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    args = build_parser().parse_args(argv)
    problem = host_problem(args.host)
    if problem:  # before seconds of loading, and instead of Gradio's "Cannot find empty port"
        print(f"python -m demo: error: {problem}", file=sys.stderr)
        return 2
    try:
        from pvse.search import Searcher
        searcher = Searcher.load(index_dir=args.index, weights=args.weights, device=args.device)
        from .app import build_app, launch
        app = build_app(searcher)  # fixes the allow-list of served files: a tampered gallery stops here
        searcher.search("warm up", top_k=1)  # the first visitor does not pay for the encoder's first run
    except PVSEError as exc:
        hint = " Choose the model with --weights PATH_OR_HF_REPO (or PVSE_WEIGHTS)." if isinstance(exc, WeightsError) else ""
        print(f"python -m demo: error: {exc}{hint}", file=sys.stderr)
        return 2
    try:
        _, local_url, share_url = launch(app, host=args.host, port=args.port, share=args.share,
                                         prevent_thread_lock=True)
    except OSError as exc:  # port taken, address not available
        print(f"python -m demo: error: cannot serve on {args.host}:{args.port or 'auto'}: {exc}", file=sys.stderr)
        return 2
    print(f"pvse-gif demo: {searcher.num_clips} GIFs from {searcher.gallery_root} on {searcher.device}; "
          f"open {local_url}" + (f" or {share_url}" if share_url else ""), flush=True)
    try:
        app.blocks.block_thread()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
