"""The ``procflow`` command: argument parsing and printing only; the work is the library's."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from engine.processes import ValidationReport, definition_files, validate_file
from engine.schema import schema_path

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message}\n{self.format_usage().strip()}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="procflow", description="Validate, run and draw written procedures as state graphs.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = commands.add_parser("validate", help="check definition files (or the .yaml files in folders)")
    validate.add_argument("paths", nargs="+", metavar="PATH")
    validate.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="json prints every problem as JSON on standard output, for editors and CI",
    )
    validate.add_argument("--strict", action="store_true", help="count warnings as errors")

    commands.add_parser("schema", help="print the JSON Schema of the definition language")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(list(sys.argv[1:] if argv is None else argv), sys.stdout, sys.stderr)


def run(argv: Sequence[str], stdout: TextIO, stderr: TextIO) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "validate":
            return _validate(args, stdout, stderr)
        stdout.write(schema_path().read_text(encoding="utf-8"))
        return EXIT_OK
    except _UsageError as exc:
        stderr.write(f"{exc}\n")
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)


def _validate(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise _UsageError(f"procflow validate: no such file or folder: {', '.join(missing)}")
    files = definition_files(args.paths)
    if not files:
        raise _UsageError("procflow validate: the folders named hold no .yaml or .yml files")
    reports = [validate_file(f) for f in files]
    failed = [r for r in reports if not _passes(r, args.strict)]
    if args.format == "json":
        json.dump(
            {"valid": not failed, "files": [_report_json(r, args.strict) for r in reports]},
            stdout,
            ensure_ascii=False,
            indent=2,
        )
        stdout.write("\n")
    else:
        for report in reports:
            for problem in report.problems:
                stderr.write(f"{problem}\n")
            verdict = "ok" if _passes(report, args.strict) else f"{len(report.errors)} error(s)"
            if report.warnings:
                verdict += f", {len(report.warnings)} warning(s)"
            stdout.write(f"{report.file}: {verdict}\n")
    return EXIT_INVALID if failed else EXIT_OK


def _passes(report: ValidationReport, strict: bool) -> bool:
    return report.ok and not (strict and report.warnings)


def _report_json(report: ValidationReport, strict: bool) -> dict[str, object]:
    return {
        "file": report.file,
        "valid": _passes(report, strict),
        "process": {
            "id": report.process.id,
            "version": report.process.version,
            "content_hash": report.process.content_hash,
        }
        if report.process
        else None,
        "problems": [p.as_json() for p in report.problems],
    }
