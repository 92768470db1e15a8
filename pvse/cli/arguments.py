"""Argument types shared by the `pvse` subcommands."""
from __future__ import annotations

import argparse


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
    """argparse whose usage errors are one line, 'PROG: error: MESSAGE (see PROG --help)', exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")
