"""The ``procflow`` command: argument parsing and printing only; the work is the library's.

One module per command group: ``definitions`` (validate, schema), ``running`` (run, simulate),
``drawing`` (render, book), ``changes`` (diff), ``stored`` (start, fire, show, history, list,
worker, move) and ``serving`` (serve, users); ``options`` holds what they share.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TextIO, cast

from engine.cli import changes, definitions, drawing, migrate, outbox, running, serving, stored, work
from engine.cli.options import (
    EXIT_INTERNAL,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    GuardedOutput,
    OutputError,
    Parser,
    UsageError,
)
from engine.cli.running import trail_lines
from engine.errors import DefinitionError, ProcflowError

__all__ = ["EXIT_INTERNAL", "EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "build_parser", "main", "run", "trail_lines"]

Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="procflow", description="Validate, run and draw written procedures as state graphs.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    definitions.add_commands(commands)
    running.add_commands(commands)
    drawing.add_commands(commands)
    changes.add_commands(commands)
    stored.add_commands(commands)
    work.add_commands(commands)
    migrate.add_commands(commands)
    outbox.add_commands(commands)
    serving.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # file names from argv may hold undecodable bytes
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    output = GuardedOutput(sys.stdout)
    try:
        status = run(list(sys.argv[1:] if argv is None else argv), cast(TextIO, output), sys.stderr)
        if not output.failed:
            output.flush()
    except BrokenPipeError:  # `procflow show ID | head`: the reader has gone, which is not an error
        status = EXIT_OK
        output.failed = True
    except OutputError as exc:  # on the final flush
        sys.stderr.write(f"procflow: {exc}\n")
        status = EXIT_INVALID
    if output.failed:  # what is left in the buffer goes nowhere, not to a failing flush at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return status


def run(argv: Sequence[str], stdout: TextIO, stderr: TextIO) -> int:
    """Run one command: its exit status, its output on ``stdout``, every error as a line on ``stderr``.

    0 done, 1 refused (the error names the file, line or option at fault), 2 a wrong command line,
    3 an internal error (a bug: one line, or the traceback when ``PROCFLOW_DEBUG=1`` is set).
    """
    parser = build_parser()
    command = "procflow"
    try:
        args = parser.parse_args(argv)
        command = f"procflow {args.command}"
        handler: Handler = args.handler
        return handler(args, stdout, stderr)
    except DefinitionError as exc:  # a process or scenario file that cannot be used
        for problem in exc.problems:
            stderr.write(f"{problem}\n")
        return EXIT_INVALID
    except UsageError as exc:
        stderr.write(f"{exc}\n")
        return EXIT_USAGE
    except ProcflowError as exc:  # refused by the library: the message names what and where
        stderr.write(f"{command}: {_one_line(str(exc))}\n")
        return EXIT_INVALID
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except BrokenPipeError:  # main() ends the command quietly
        raise
    except Exception as exc:  # a bug: say so in one line, and ask for the report
        stderr.write(f"procflow: internal error: {type(exc).__name__}: {_one_line(str(exc))} — please report this\n")
        if os.environ.get("PROCFLOW_DEBUG") == "1":
            traceback.print_exc(file=stderr)
        return EXIT_INTERNAL


def _one_line(message: str) -> str:
    return "; ".join(line.strip() for line in message.splitlines() if line.strip()) or "(no message)"
