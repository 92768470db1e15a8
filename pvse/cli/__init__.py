"""`pvse` command line: one entry point dispatching to subcommands (pvse/cli/<name>.py).

Each subcommand module defines add_arguments(parser) and run(args) -> int; its one-line summary is in COMMANDS.
Only the module of the command being run is imported (so `pvse --help` starts in well under a second and
`pvse search` loads no training code). Project errors (PVSEError) and usage errors are printed as one clear
line on stderr with exit status 2, never a traceback.
"""
from __future__ import annotations

import importlib
import sys

from ..errors import PVSEError
from .arguments import OneLineParser

COMMANDS = {  # name -> one-line summary; pvse/cli/<name>.py holds add_arguments(parser) and run(args)
    "index": "Index a folder of GIFs / videos for search; a rerun encodes only new or changed clips.",
    "search": 'Search a gallery by sentence, e.g. pvse search "my reaction when the build is green".',
    "train": "Train PVSE on clip-text pairs (MIL + diversity + MMD loss, AMSGrad, model selection on validation rsum).",
    "evaluate": "Report text->video and video->text R@1/5/10, median rank and MedR/N of a checkpoint on a data split.",
    "push": "publish a checkpoint directory to a Hugging Face Hub model repo (validated first, with a model card)",
    "convert": "convert an official PVSE release checkpoint (e.g. mrw_pvse.pth + vocab) into a pvse-gif checkpoint",
}


def build_parser(argv: list[str] | None = None) -> OneLineParser:
    """The parser; only the subcommand named in `argv` (None: every one) gets its arguments, from its module."""
    parser = OneLineParser(prog="pvse", description="Search reaction GIFs by sentence with PVSE (CVPR 2019).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = set(COMMANDS) if argv is None else set(argv[:1]) & set(COMMANDS)
    for name, summary in COMMANDS.items():
        cmd = sub.add_parser(name, help=summary, description=summary)
        if name in wanted:
            module = importlib.import_module(f"{__name__}.{name}")
            module.add_arguments(cmd)
            cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except PVSEError as exc:
        print(f"pvse {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"pvse {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
