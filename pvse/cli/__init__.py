"""`pvse` command line: one entry point dispatching to subcommands (pvse/cli/<name>.py).

Each subcommand module defines HELP (one line), add_arguments(parser) and run(args) -> int.
Project errors (PVSEError) are printed as one clear line on stderr with exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import PVSEError

COMMANDS = ("index", "search", "train", "evaluate", "push", "convert")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pvse", description="Search reaction GIFs by sentence with PVSE (CVPR 2019).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
