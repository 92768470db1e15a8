"""Argument types shared by the `pvse` subcommands."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ..errors import PVSEError


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (top-k, batch sizes, epochs, ...)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}")
    return value


def bounded_int(low: int, high: int):
    """argparse type: a whole number from `low` to `high` (--top-k and --per-head: at most MAX_TOP_K)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}, got {text}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}, got {text}")
        return value
    parse.__name__ = "whole number"
    return parse


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line, 'PROG: error: MESSAGE (see PROG --help)', exit status 2.

    `add_defaults_file` adds an option naming a file of defaults (`pvse train --recipe`): the file is read before
    the arguments are parsed, so the options written out win wherever they stand, and --help shows its values.
    """

    _defaults_file: tuple[str, Callable[[str | None], dict[str, Any]]] | None = None

    def add_defaults_file(self, option: str, read: Callable[[str | None], dict[str, Any]], **kwargs) -> None:
        """Add `option FILE` after the options it gives defaults to; read(FILE) gives the defaults (by dest) of a
        parse, read(None) those without the option."""
        self.add_argument(option, **kwargs)
        self._defaults_file = (option, read)
        self.set_defaults(**read(None))

    def parse_known_args(self, args=None, namespace=None):
        if self._defaults_file is not None:
            option, read = self._defaults_file
            args = sys.argv[1:] if args is None else list(args)
            first = OneLineParser(prog=self.prog, add_help=False)
            first.add_argument(option, dest="file")
            try:
                self.set_defaults(**read(first.parse_known_args(args)[0].file))
            except PVSEError as exc:
                self.error(str(exc))
        return super().parse_known_args(args, namespace)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")
