"""The figures of benchmarks/README.md, regenerated from a run's JSON: the text around them is written by
hand, the blocks between the markers never are.

``python -m benchmarks.readme [--json benchmarks/latest.json] [--readme benchmarks/README.md]`` rewrites
them (``make bench`` does it after each full run); ``tests/test_benchmarks.py`` checks that the committed
page is what ``latest.json`` gives, so a figure edited by hand fails it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.report import Row, markdown
from benchmarks.targets import judge, targets_markdown

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
LATEST = HERE / "latest.json"
BLOCKS = ("run", "targets")
_BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z]+) .*?-->\n)(?P<body>.*?)(<!-- end of generated -->)", re.DOTALL)


def regenerated(page: str, document: Mapping[str, Any]) -> str:
    """``page`` with each generated block rewritten from the run ``document``."""
    found = [match.group("name") for match in _BLOCK.finditer(page)]
    if sorted(found) != sorted(BLOCKS):
        raise ValueError(
            f"benchmarks/README.md needs one of each generated block {BLOCKS}, found {found}: "
            "put back `<!-- generated: NAME (…) -->` … `<!-- end of generated -->` around each"
        )
    bodies = {"run": _run_block(document), "targets": targets_markdown(judge(document["rows"]))}
    return _BLOCK.sub(lambda m: f"{m.group(1)}{bodies[m.group('name')]}\n{m.group(4)}", page)


def _run_block(document: Mapping[str, Any]) -> str:
    machine = document["machine"]
    packages = ", ".join(f"{name} {version}" for name, version in machine["packages"].items() if version)
    said = (
        f"A `{document['size']}` run at {machine['when']} on {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['platform']}, Python {machine['python']}; {packages}."
    )
    return said + "\n\n" + markdown(Row(**row) for row in document["rows"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.readme", description=__doc__)
    parser.add_argument("--json", type=Path, default=LATEST, help="the run (default: benchmarks/latest.json)")
    parser.add_argument("--readme", type=Path, default=README, help="the page (default: benchmarks/README.md)")
    args = parser.parse_args(argv)
    write_readme(args.readme, json.loads(args.json.read_text(encoding="utf-8")))
    print(f"wrote {args.readme} from {args.json}", file=sys.stderr)
    return 0


def write_readme(path: Path, document: Mapping[str, Any]) -> None:
    path.write_text(regenerated(path.read_text(encoding="utf-8"), document), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
