"""Commands over definition files: ``validate``, ``schema`` and ``init``."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, TextIO, cast

from engine.cli.options import EXIT_INVALID, EXIT_OK, UsageError
from engine.errors import InitRefused
from engine.processes import ValidationReport, definition_files
from engine.scenarios import validate_process_or_scenario
from engine.schema import schema_path

if TYPE_CHECKING:
    import argparse

    from engine.cli.parser import Parser


def add_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    validate = commands.add_parser(
        "validate", help="check process and scenario files (or the .yaml files in folders and their subfolders)"
    )
    validate.add_argument("paths", nargs="+", metavar="PATH")
    validate.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="json prints every problem as JSON on standard output, for editors and CI",
    )
    validate.add_argument("--strict", action="store_true", help="count warnings as errors")
    validate.set_defaults(handler=_validate)

    schema = commands.add_parser("schema", help="print the JSON Schema of the definition language")
    schema.set_defaults(handler=_schema)

    init = commands.add_parser(
        "init", help="start a folder of procedures: a sample process and scenario, the schemas, a pre-commit config"
    )
    init.add_argument("folder", metavar="DIR", help="a new or empty folder, or one without any of those files")
    init.add_argument(
        "--hook-repo",
        metavar="REPO",
        help="the procflow repository the pre-commit hook comes from (default: this checkout of it, if procflow "
        "runs from one; else the hook runs the installed procflow)",
    )
    init.add_argument("--hook-rev", metavar="REV", help="with --hook-repo: the tag or commit of it to pin")
    init.set_defaults(handler=_init)


def validate_arguments(paths: list[str]) -> argparse.Namespace:
    """What the parser makes of ``validate PATH...`` with no option: the same attributes (tests/test_cli.py
    compares them), without importing argparse for its ``Namespace``."""
    made = SimpleNamespace(command="validate", paths=paths, format="text", strict=False, handler=_validate)
    return cast("argparse.Namespace", made)


def _validate(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise UsageError(f"procflow validate: no such file or folder: {', '.join(missing)}")
    files = definition_files(args.paths, recursive=True)
    if not files:
        raise UsageError(f"procflow validate: no .yaml or .yml files in {', '.join(args.paths)}")
    reports = [validate_process_or_scenario(f) for f in files]
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


def _schema(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    stdout.write(schema_path().read_text(encoding="utf-8"))
    return EXIT_OK


def _init(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from engine.scaffold import HookSource, init_folder, this_checkout  # not on `validate`'s start-up

    if bool(args.hook_repo) != bool(args.hook_rev):
        raise UsageError("procflow init: --hook-repo and --hook-rev go together (a repository and its revision)")
    hook = HookSource(args.hook_repo, args.hook_rev) if args.hook_repo else this_checkout()
    try:
        written = init_folder(args.folder, hook)
    except InitRefused as exc:
        stderr.write(f"procflow init: {exc}\n")
        return EXIT_INVALID
    for path in written:
        stdout.write(f"wrote {path}\n")
    stdout.write(f"next: cd {args.folder} && procflow validate .  (then `pre-commit install` in its git repository)\n")
    return EXIT_OK
