"""``python -m benchmarks [--size tiny|full] [--json FILE] [--readme PAGE] [--only SECTION ...] [--callgrind]``:
run the suite, print the table and issue 16's targets, write every row with the machine it ran on as
JSON, and regenerate the figures of benchmarks/README.md from it. ``--callgrind`` adds the instruction
counts under valgrind (slow: minutes), which no section runs unless asked."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import traceback
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.readme import write_readme
from benchmarks.report import SIZES, Row, Size, markdown, table
from benchmarks.targets import judge, targets_table

SECTIONS = ("events", "stores", "loading", "rendering", "worklist", "http", "startup")
OPT_IN = ("callgrind",)
"""Sections run only when asked for, by ``--callgrind`` or ``--only``."""
SECTION_TITLES = {
    "events": "1 per event",
    "stores": "3 stores",
    "loading": "4 loading",
    "rendering": "5 rendering",
    "worklist": "6 worklist",
    "http": "7 HTTP",
    "startup": "8 start-up",
    "callgrind": "9 instructions",
}
PACKAGES = (
    "procflow",
    "transitions",
    "python-statemachine",
    "SpiffWorkflow",
    "jsonschema",
    "PyYAML",
    "psycopg",
    "graphviz",
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--json", type=Path, help="write the rows and the machine here")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown too")
    parser.add_argument(
        "--readme", type=Path, metavar="PAGE", help="with --json: regenerate this page's figures from the JSON"
    )
    parser.add_argument("--only", nargs="+", choices=SECTIONS + OPT_IN, default=list(SECTIONS))
    parser.add_argument(
        "--callgrind", action="store_true", help="also count instructions per event under valgrind (slow)"
    )
    args = parser.parse_args(argv)
    if args.readme is not None and args.json is None:
        parser.error("--readme regenerates the page from the run's JSON: give --json FILE too")
    size = SIZES[args.size]
    if args.callgrind:
        args.only.append("callgrind")

    rows: list[Row] = []
    failed = False
    for name in SECTIONS + OPT_IN:
        if name in args.only:
            print(f"… {name}", file=sys.stderr, flush=True)
            try:
                rows.extend(RUNNERS[name](size))
            except Exception as exc:  # one broken section must not lose the others' figures
                traceback.print_exc()
                rows.append(Row(SECTION_TITLES[name], "not measured", None, "", note=f"failed: {exc}"))
                failed = True
    print(table(rows))
    print()
    print(targets_table(judge(row.as_json() for row in rows)))
    if args.markdown:
        print()
        print(markdown(rows))
    if args.json is not None:
        document = {"size": size.name, "machine": machine(), "rows": [row.as_json() for row in rows]}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}", file=sys.stderr)
        if args.readme is not None:
            write_readme(args.readme, document)
            print(f"wrote {args.readme}", file=sys.stderr)
    return 1 if failed else 0


def _events(size: Size) -> list[Row]:
    from benchmarks import events
    from benchmarks.workload import load_workload

    workload = load_workload()
    made = events.contenders(workload)
    return (
        events.per_event(workload, made, size)
        + events.instances(workload, made, size)
        + events.memory(workload, made, size)
    )


def _stores(size: Size) -> list[Row]:
    from benchmarks import stores

    return stores.stores(size)


def _loading(size: Size) -> list[Row]:
    from benchmarks import loading

    return loading.loading(size)


def _rendering(size: Size) -> list[Row]:
    from benchmarks import rendering

    return rendering.rendering(size)


def _worklist(size: Size) -> list[Row]:
    from benchmarks import worklist

    return worklist.worklist(size)


def _http(size: Size) -> list[Row]:
    from benchmarks import serving

    return serving.serving(size)


def _startup(size: Size) -> list[Row]:
    from benchmarks import startup

    return startup.startup(size)


def _callgrind(size: Size) -> list[Row]:
    from benchmarks import callgrind

    return callgrind.callgrind(size)


RUNNERS: dict[str, Callable[[Size], list[Row]]] = {
    "events": _events,
    "stores": _stores,
    "loading": _loading,
    "rendering": _rendering,
    "worklist": _worklist,
    "http": _http,
    "startup": _startup,
    "callgrind": _callgrind,
}


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


if __name__ == "__main__":
    sys.exit(main())
