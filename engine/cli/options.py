"""What every command shares: exit statuses, the usage error, the parser and the option types."""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TextIO, TypeVar

from engine.errors import OutputError

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
"""Done; refused (bad input, or output that cannot be written); a wrong command line; a bug."""

MAX_WALKS = 100_000
MAX_STEPS = 100_000
MAX_BATCH = 10_000
MAX_TIMEOUT = 3_600.0
"""The longest layout time bound, in seconds: an hour."""
MAX_INTERVAL = 86_400.0
"""The longest pause of an idle worker, in seconds: a day."""
SEED_RANGE = (-(2**63), 2**63 - 1)

_T = TypeVar("_T")


class UsageError(Exception):
    """The command line is wrong: printed with the usage, exit status 2."""


class Parser(argparse.ArgumentParser):
    def __init__(self, **options: Any):
        options.setdefault("formatter_class", _HelpFormatter)
        super().__init__(**options)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage().strip()}")


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's own, given the width it would ask ``shutil.get_terminal_size`` for: argparse makes one
    for every option it adds, and importing ``shutil`` (with ``bz2``, ``lzma`` and ``zlib``) for it cost
    ``procflow validate`` 2 % of its start-up."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, _terminal_columns() - 2 if width is None else width)


def _terminal_columns() -> int:
    """The columns ``shutil.get_terminal_size()`` gives: ``$COLUMNS``, else standard output's terminal's, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        size = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80
    return size.columns or 80


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An option type: a whole number from ``low`` to ``high``."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {text[:40]}")
        return value

    return convert


def seconds(high: float) -> Callable[[str], float]:
    """An option type: a number of seconds above 0 and at most ``high``."""

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text[:40]!r}") from None
        if not 0 < value <= high:
            raise argparse.ArgumentTypeError(f"must be more than 0 and at most {high:g} seconds, got {text[:40]}")
        return value

    return convert


def text(value: str) -> str:
    """An option type for names and JSON (not paths): text a terminal sent as UTF-8.

    Python keeps the bytes of an argument that are not UTF-8 as lone surrogates, which a path can
    carry but an id, a key or a payload cannot be stored or compared with."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(value).decode("utf-8", "backslashreplace")
        raise argparse.ArgumentTypeError(f"is not UTF-8 text: `{shown[:60]}`") from None
    return value


def require_files(*paths: str) -> None:
    """Refuse, as a usage error, paths that name nothing; what they name is the reader's to judge."""
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise UsageError(f"procflow: no such file: {', '.join(missing)}")


class GuardedOutput(io.TextIOBase):
    """Standard output whose write errors are ``OutputError``s, so that they are told apart from bugs;
    a closed pipe stays a ``BrokenPipeError`` (the reader has gone, which is not an error)."""

    def __init__(self, stream: TextIO):
        super().__init__()
        self._stream = stream
        self.failed = False

    def write(self, text: str) -> int:
        return self._guard(lambda: self._stream.write(text))

    def flush(self) -> None:
        self._guard(self._stream.flush)

    def _guard(self, action: Callable[[], _T]) -> _T:
        try:
            return action()
        except BrokenPipeError:
            raise
        except OSError as exc:
            self.failed = True
            raise OutputError(exc) from exc
