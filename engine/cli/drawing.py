"""Commands that draw: ``render`` (one flowchart) and ``book`` (the audit book of every procedure)."""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path
from typing import TextIO

from engine.changelog import Revision, stored_revisions
from engine.cli.options import (
    EXIT_INVALID,
    EXIT_OK,
    MAX_TIMEOUT,
    UsageError,
    require_files,
    seconds,
    text,
    whole_number,
)
from engine.cli.parser import Parser
from engine.errors import DefinitionError, ProcflowError, StoreURLError
from engine.processes import load_definitions, load_process
from engine.render import (
    FILE_FORMATS,
    LANGS,
    PAPERS,
    heatmap_overlay,
    instance_overlay,
    read_history,
    render_to_file,
    sheet,
)
from engine.render.book import MAX_REVISIONS_ALLOWED, write_book
from engine.revisions import MAX_REVISIONS
from engine.service import Workflows


def _timeout_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--timeout",
        type=seconds(MAX_TIMEOUT),
        default=30.0,
        metavar="SECONDS",
        help=f"{what}, up to {MAX_TIMEOUT:g} s (default 30)",
    )


def add_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    book = commands.add_parser("book", help="write the audit book: every procedure's flowchart and tables as HTML")
    book.add_argument("paths", nargs="+", metavar="PATH", help="definition files, or folders of them")
    book.add_argument("-o", "--output", required=True, metavar="DIR", help="the folder the book replaces or creates")
    book.add_argument("--lang", choices=LANGS, default="both", help="labels in zh, en or both (default)")
    _timeout_option(book, "layout time bound per diagram")
    book.add_argument(
        "--revisions",
        type=whole_number(1, MAX_REVISIONS_ALLOWED),
        default=MAX_REVISIONS,
        metavar="N",
        help=f"the change log reads each file's newest N git revisions (default {MAX_REVISIONS})",
    )
    book.add_argument(
        "--store", type=text, metavar="URL", help="also list each procedure's revisions registered in this store"
    )
    book.set_defaults(handler=_book)

    render = commands.add_parser(
        "render", help="draw a process as a flowchart: .dot .svg .png .pdf .mmd (Mermaid) or .bpmn (BPMN 2.0)"
    )
    render.add_argument("process", metavar="PROCESS.yaml")
    render.add_argument("-o", "--output", required=True, metavar="FILE", help="the format is the suffix's")
    render.add_argument("--lang", choices=LANGS, default="both", help="labels in zh, en or both (default)")
    overlays = render.add_mutually_exclusive_group()
    overlays.add_argument("--instance", metavar="HISTORY.json", help="draw this instance's path over the chart")
    overlays.add_argument("--heatmap", nargs="+", metavar="HISTORY.json", help="draw how often each path was taken")
    render.add_argument("--at", type=_moment, metavar="TIME", help="with --instance: mark what is overdue at TIME")
    _timeout_option(render, "layout time bound")
    render.add_argument(
        "--sources", type=text, metavar="URL", help="link each step to its source document under this folder/URL"
    )
    render.add_argument(
        "--paper",
        choices=tuple(PAPERS),
        help="with .pdf: print on sheets of this paper, text at 7 pt or more, cut across sheets if need be",
    )
    render.add_argument("--landscape", action="store_true", help="with --paper: the sheets turned sideways")
    render.set_defaults(handler=_render)


def _book(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise UsageError(f"procflow book: no such file or folder: {', '.join(missing)}")
    try:
        stored = _stored_revisions(args.store) if args.store is not None else None
        report = write_book(
            load_definitions(args.paths),
            args.output,
            lang=args.lang,
            timeout=args.timeout,
            revisions=args.revisions,
            stored=stored[1] if stored else None,
            store_url=stored[0] if stored else None,
        )
    except DefinitionError as exc:
        for problem in exc.problems:
            stderr.write(f"{problem}\n")
        stderr.write(f"procflow book: no book written: {len(exc.errors)} error(s) to fix first\n")
        return EXIT_INVALID
    except ProcflowError as exc:  # no Graphviz, a layout past its time bound, an unusable output folder
        stderr.write(f"procflow book: {exc}\n")
        return EXIT_INVALID
    stdout.write(f"wrote the audit book: {len(report.pages)} procedures, {report.files} files, {report.bytes} bytes\n")
    stdout.write(f"open {report.index}  ({report.index.resolve().as_uri()})\n")
    return EXIT_OK


def _stored_revisions(url: str) -> tuple[str, dict[str, list[Revision]]]:
    """The store's URL as it may be shown (no password), and its definitions' texts by process id."""
    try:
        with Workflows(url) as workflows:
            found: dict[str, list[tuple[int, str, str, datetime.datetime]]] = {}
            for stored in workflows.store.definitions():
                ref = stored.ref
                found.setdefault(ref.id, []).append(
                    (ref.revision, ref.content_hash, stored.source, stored.registered_at)
                )
            return workflows.store.url, {key: stored_revisions(texts) for key, texts in found.items()}
    except StoreURLError as exc:
        raise UsageError(f"procflow book: {exc}") from exc


def _moment(text: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 time (2026-11-30T09:00+08:00), got {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"the time needs its UTC offset (…+08:00 or …Z), got {text!r}")
    return moment


def _render(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    require_files(args.process, *([args.instance] if args.instance else []), *(args.heatmap or []))
    suffix = Path(args.output).suffix.lower()
    if suffix not in FILE_FORMATS:
        raise UsageError(
            f"procflow render: cannot tell the format of {args.output}: use one of {', '.join(FILE_FORMATS)}"
        )
    if args.paper is not None and suffix != ".pdf":
        raise UsageError(f"procflow render: --paper goes with a .pdf output, not {suffix}")
    if args.landscape and args.paper is None:
        raise UsageError("procflow render: --landscape goes with --paper A4 or --paper A3")
    if args.at is not None and args.instance is None:
        raise UsageError("procflow render: --at goes with --instance (the moment to mark overdue steps at)")
    process = load_process(args.process)
    try:
        overlay = None
        if args.instance:
            overlay = instance_overlay(process, read_history(args.instance), now=args.at)
        elif args.heatmap:
            overlay = heatmap_overlay(process, [read_history(path) for path in args.heatmap])
        paper = sheet(args.paper, landscape=args.landscape) if args.paper else None
        printed = render_to_file(
            process,
            args.output,
            lang=args.lang,
            overlay=overlay,
            timeout=args.timeout,
            source_base=args.sources,
            paper=paper,
        )
    except ProcflowError as exc:  # a history of another process, no Graphviz, a layout past its time bound
        stderr.write(f"procflow render: {exc}\n")
        return EXIT_INVALID
    if printed is not None:
        grid = ""
        if printed.columns * printed.rows > 1:
            blank = printed.columns * printed.rows - len(printed.windows)
            grid = f" ({printed.columns} across × {printed.rows} down{f', {blank} blank left out' if blank else ''})"
        stdout.write(
            f"wrote {args.output}: {len(printed.windows)} sheet(s) of {printed.sheet.label}{grid}, "
            f"at {printed.scale:.0%} of full size, smallest text {printed.smallest_printed:g} pt\n"
        )
    elif suffix == ".pdf":
        stdout.write(f"wrote {args.output}: one page at the chart's full size; to print it, --paper A4 or A3\n")
    else:
        stdout.write(f"wrote {args.output}\n")
    return EXIT_OK
