"""The parser every command is read with: usage errors raised, not printed, and help as wide as the terminal."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, NoReturn

from engine.cli.options import UsageError


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
