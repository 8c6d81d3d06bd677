"""The ``procflow`` command: argument parsing and printing only; the work is the library's.

One module per command group (``COMMAND_MODULES`` below names each one's commands): ``definitions``,
``running``, ``drawing``, ``changes``, ``stored`` (one stored instance), ``store`` (every stored
instance), ``work``, ``migrate``, ``outbox`` and ``serving``; ``options`` holds what they share.
"""

from __future__ import annotations

import gc
import importlib
import io
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, TextIO, cast

from engine.cli.options import EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, EXIT_USAGE, GuardedOutput, UsageError
from engine.collector import collector_paused
from engine.errors import DefinitionError, OutputError, ProcflowError

if TYPE_CHECKING:  # argparse only where a parser is built: `validate PATH...` reads its line without one
    import argparse

    from engine.cli.running import trail_lines

    Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]

__all__ = ["EXIT_INTERNAL", "EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "build_parser", "main", "run", "trail_lines"]

# The commands each module adds, in the order `procflow --help` lists them. A command line that names
# a command imports only its module, so `procflow validate` never loads the runtime, the stores or the
# renderers that other commands need (tests/test_startup.py).
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "definitions": ("validate", "schema", "init"),
    "running": ("run", "simulate"),
    "drawing": ("book", "render"),
    "changes": ("diff",),
    "stored": ("start", "fire", "move", "show", "history", "records"),
    "store": ("list", "worker", "verify"),
    "work": ("inbox", "claim", "release", "assign"),
    "migrate": ("migrate",),
    "outbox": ("outbox",),
    "serving": ("serve", "users"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command; given ``command``, of only those its module adds."""
    from engine.cli.parser import Parser

    parser = Parser(prog="procflow", description="Validate, run and draw written procedures as state graphs.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in _command_modules(command):
        module.add_commands(commands)
    return parser


def _command_modules(command: str | None) -> list[ModuleType]:
    """The modules adding ``command`` (all of them for ``None``), imported."""
    wanted = [module for module, names in COMMAND_MODULES.items() if command is None or command in names]
    return [importlib.import_module(f"engine.cli.{module}") for module in wanted]


def _named_command(argv: Sequence[str]) -> str | None:
    return argv[0] if argv and any(argv[0] in names for names in COMMAND_MODULES.values()) else None


def _plain_validate(argv: Sequence[str]) -> argparse.Namespace | None:
    """``procflow validate PATH...`` with no option, the line pre-commit hooks and CI run, read as argparse
    would read it, without building its parser (which asks gettext for its every word: a fortieth of
    the command's start-up); ``None`` for any other command line, which is argparse's to read."""
    if len(argv) < 2 or argv[0] != "validate" or any(arg.startswith("-") for arg in argv[1:]):
        return None
    from engine.cli.definitions import validate_arguments

    return validate_arguments(list(argv[1:]))


def _import_for_good(command: str | None) -> None:
    """Import what ``command`` needs with the collector paused, then set every object made so far apart
    from its scans (``gc.freeze``): the modules, classes and functions live as long as the process,
    and the collections their making set off (a full one among them) scanned them all again and again
    (a twentieth of ``procflow validate``'s instructions)."""
    with collector_paused():
        _command_modules(command)
        gc.freeze()  # before the collector is back on, or its first collection scans them all once more


def __getattr__(name: str) -> Any:
    if name == "trail_lines":  # kept importable from here without importing the runtime with the CLI
        from engine.cli.running import trail_lines

        return trail_lines
    raise AttributeError(f"module 'engine.cli' has no attribute {name!r}")


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # file names from argv may hold undecodable bytes
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    output = GuardedOutput(sys.stdout)
    arguments = list(sys.argv[1:] if argv is None else argv)
    if argv is None:  # run as the program, not called by one that has objects of its own to collect
        _import_for_good(_named_command(arguments))
    try:
        status = run(arguments, cast(TextIO, output), sys.stderr)
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
    plain = _plain_validate(argv)
    if plain is None:  # the whole parser for --help, or a command line naming no command
        parser = build_parser(_named_command(argv))
    command = "procflow"
    try:
        args = parser.parse_args(argv) if plain is None else plain
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
            import traceback  # only here: it costs every command's start-up otherwise

            traceback.print_exc(file=stderr)
        return EXIT_INTERNAL


def _one_line(message: str) -> str:
    return "; ".join(line.strip() for line in message.splitlines() if line.strip()) or "(no message)"
