"""``procflow diff OLD NEW``: what changed between two versions of a procedure, in words, as JSON, or drawn;
with ``--store URL``, also which open cases of OLD kept there the change touches (``engine.impact``).

Exit status as ``diff``'s: 0 the two define the same procedure, 1 they differ, 2 trouble (a usage
error, a missing file, a bad ``git:REV:PATH``, an invalid definition on either side, a drawing that
failed). So ``procflow diff … && echo same`` reads as it would with ``diff``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from engine.changes import CHANGE_KINDS, changes_json, diff_processes
from engine.cli.options import MAX_TIMEOUT, UsageError, seconds
from engine.cli.parser import Parser
from engine.errors import DefinitionError, ProcflowError, StoreURLError
from engine.impact import Impact
from engine.render import LANGS
from engine.render.changes import DIFF_FORMATS, render_changes_to_file
from engine.revisions import git_file, load_definition
from engine.service import Workflows

EXIT_SAME, EXIT_DIFFERENT, EXIT_TROUBLE = 0, 1, 2


def add_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    diff = commands.add_parser(
        "diff",
        help="what changed between two versions of a procedure (files or git:REV:PATH); 0 same, 1 different, 2 trouble",
    )
    diff.add_argument("old", metavar="OLD", help="a definition file, or git:REV:PATH (PATH as it was at REV)")
    diff.add_argument("new", metavar="NEW", help="the same, for the version to compare it with")
    diff.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="json: the changes as JSON (schemas/diff.schema.json)",
    )
    diff.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help=f"also draw NEW's chart with the changes marked ({' '.join(DIFF_FORMATS)})",
    )
    diff.add_argument("--lang", choices=LANGS, default="both", help="chart labels in zh, en or both (default)")
    diff.add_argument(
        "--timeout",
        type=seconds(MAX_TIMEOUT),
        default=30.0,
        metavar="SECONDS",
        help=f"with -o: layout time bound, up to {MAX_TIMEOUT:g} s (default 30)",
    )
    diff.add_argument(
        "--store",
        metavar="URL",
        help="also list the open cases of OLD in this store that the change touches, grouped by how",
    )
    diff.set_defaults(handler=_diff)


def _diff(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    missing = [spec for spec in (args.old, args.new) if not spec.startswith("git:") and not Path(spec).exists()]
    if missing:
        raise UsageError(f"procflow diff: no such file: {', '.join(missing)}")
    if args.output is not None and Path(args.output).suffix.lower() not in DIFF_FORMATS:
        raise UsageError(
            f"procflow diff: cannot tell the format of {args.output}: use one of {', '.join(DIFF_FORMATS)}"
        )
    try:
        for spec in (args.old, args.new):
            git_file(spec)  # a malformed git:REV:PATH is refused before either side is read
        old = load_definition(args.old)
        new = load_definition(args.new)
        changes = diff_processes(old, new)
        touched: Impact | None = None
        store = ""
        if args.store is not None:
            with Workflows(args.store) as workflows:
                touched, store = workflows.impact(old, new), workflows.store.url
        if args.output is not None:
            render_changes_to_file(old, new, changes, args.output, lang=args.lang, timeout=args.timeout)
    except DefinitionError as exc:
        for problem in exc.problems:
            stderr.write(f"{problem}\n")
        return EXIT_TROUBLE
    except StoreURLError as exc:
        raise UsageError(f"procflow diff: {exc}") from exc
    except ProcflowError as exc:  # a bad git:REV:PATH, no Graphviz, a layout past its bound, an unwritable -o
        stderr.write(f"procflow diff: {exc}\n")
        return EXIT_TROUBLE
    if args.format == "json":
        document = changes_json(old, new, changes)
        if touched is not None:
            document["cases"] = {"store": store, **touched.as_json()}
        json.dump(document, stdout, ensure_ascii=False, indent=2)
        stdout.write("\n")
    elif not changes:
        stdout.write(f"no changes: {args.old} and {args.new} define the same procedure\n")
    else:
        said = [(change, change.lines()) for change in changes]
        said = [(change, lines) for change, lines in said if lines]  # not each transition of a renamed step
        counts = ", ".join(f"{sum(1 for c, _ in said if c.kind == kind)} {kind}" for kind in CHANGE_KINDS)
        stdout.write(f"{args.old} → {args.new}: {counts}\n")
        for _, lines in said:
            for line in lines:
                stdout.write(f"  {line}\n")
    if touched is not None and args.format != "json":
        stdout.write(f"open cases of {args.old} in {store}: ")
        stdout.write("".join(f"{line}\n" if i == 0 else f"  {line}\n" for i, line in enumerate(touched.lines())))
    if args.output is not None:
        (stderr if args.format == "json" else stdout).write(f"wrote {args.output}\n")
    return EXIT_DIFFERENT if changes else EXIT_SAME
