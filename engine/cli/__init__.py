"""The ``procflow`` command: argument parsing and printing only; the work is the library's.

One module per command group: ``definitions`` (validate, schema), ``running`` (run, simulate),
``drawing`` (render, book) and ``stored`` (start, fire, show, history, list, worker); ``options``
holds what they share.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from engine.cli import definitions, drawing, running, stored
from engine.cli.options import EXIT_INVALID, EXIT_OK, EXIT_USAGE, Parser, UsageError
from engine.cli.running import trail_lines
from engine.errors import DefinitionError

__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "build_parser", "main", "run", "trail_lines"]

Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="procflow", description="Validate, run and draw written procedures as state graphs.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    definitions.add_commands(commands)
    running.add_commands(commands)
    drawing.add_commands(commands)
    stored.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(list(sys.argv[1:] if argv is None else argv), sys.stdout, sys.stderr)
    except BrokenPipeError:  # `procflow show ID | head`: the reader has gone, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def run(argv: Sequence[str], stdout: TextIO, stderr: TextIO) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        handler: Handler = args.handler
        return handler(args, stdout, stderr)
    except DefinitionError as exc:  # a process or scenario file that cannot be used
        for problem in exc.problems:
            stderr.write(f"{problem}\n")
        return EXIT_INVALID
    except UsageError as exc:
        stderr.write(f"{exc}\n")
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
