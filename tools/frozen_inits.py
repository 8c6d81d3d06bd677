"""engine/frozen_inits.py written from ``engine.frozen.template_source``: the ``__init__`` templates of
``@frozen`` classes of up to ``MOST_FIELDS`` fields, plain and with factories.

    python tools/frozen_inits.py            # rewrite engine/frozen_inits.py
    python tools/frozen_inits.py --check    # exit 1 when engine/frozen_inits.py is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.frozen import template_source  # noqa: E402 - after the checkout is on the path

TARGET = ROOT / "engine" / "frozen_inits.py"
MOST_FIELDS = 20
"""The most fields of a written template (the most an engine class has: tests/test_frozen.py holds that each one is
made from a written template); a class with more has its template compiled when defined."""

HEADER = '''"""The templates of ``__init__`` that ``engine.frozen`` makes ``@frozen`` classes' from, written out so that
they come compiled from Python's bytecode cache rather than being compiled as each module is imported.

Written by ``tools/frozen_inits.py`` from ``engine.frozen.template_source``; do not edit. ``_set``,
``_FACTORY`` and ``_factories`` are what each class's ``__init__`` is given in their place.
"""

from __future__ import annotations

from typing import Any

_set: Any = None
_FACTORY: Any = None
_factories: Any = None
'''


def text() -> str:
    shapes = [(count, factories) for count in range(MOST_FIELDS + 1) for factories in (False, True)[: count + 1]]
    return HEADER + "".join(f"\n\n{template_source(count, factories)}" for count, factories in shapes)


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        current = TARGET.read_text(encoding="utf-8") == text()
        if not current:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run python tools/frozen_inits.py", file=sys.stderr)
        return 0 if current else 1
    TARGET.write_text(text(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
