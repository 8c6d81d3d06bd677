"""What every command shares: exit statuses, the usage error and the option types (``parser`` has the parser).

Nothing here imports argparse until an option is refused: ``procflow validate PATH...`` never builds a parser."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

from engine.errors import OutputError

if TYPE_CHECKING:
    import argparse

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


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An option type: a whole number from ``low`` to ``high``."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise _refused(f"expected a whole number, got {text[:40]!r}") from None
        if not low <= value <= high:
            raise _refused(f"must be from {low} to {high}, got {text[:40]}")
        return value

    return convert


def seconds(high: float) -> Callable[[str], float]:
    """An option type: a number of seconds above 0 and at most ``high``."""

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise _refused(f"expected a number of seconds, got {text[:40]!r}") from None
        if not 0 < value <= high:
            raise _refused(f"must be more than 0 and at most {high:g} seconds, got {text[:40]}")
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
        raise _refused(f"is not UTF-8 text: `{shown[:60]}`") from None
    return value


def _refused(message: str) -> argparse.ArgumentTypeError:
    """How an option type refuses a value (argparse is imported by then: it is parsing)."""
    import argparse

    return argparse.ArgumentTypeError(message)


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
