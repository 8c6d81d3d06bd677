import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ROOT / "processes"
SHIPPED = sorted(PROCESSES.glob("*.yaml"))
FIXTURE = ROOT / "tests" / "fixtures" / "minimal.yaml"
# `make test` sets this, so that there a missing tool fails the tests that need it instead of skipping them.
REQUIRE_TOOLS = os.environ.get("PROCFLOW_REQUIRE_TOOLS") == "1"


def python_tool(name: str) -> str | None:
    """A command a Python package installs: beside this interpreter (its virtualenv), else on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)


def missing_tool(what: str, install: str) -> None:
    """Skip the test for want of ``what``; fail it instead under ``PROCFLOW_REQUIRE_TOOLS=1``."""
    message = f"{what} is not installed ({install}; `make test` installs it)"
    if REQUIRE_TOOLS:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def fixture_text() -> str:
    return FIXTURE.read_text(encoding="utf-8")


def mutate(text: str, *edits: tuple[str, str]) -> str:
    """Apply each ``(old, new)`` edit once, in order; ``old`` must be present."""
    for old, new in edits:
        assert old in text, f"the fixture no longer contains {old!r}"
        text = text.replace(old, new, 1)
    return text


def position(text: str, needle: str, at: str | None = None) -> tuple[int, int]:
    """1-based (line, column) of ``at`` inside the one occurrence of ``needle`` in ``text``."""
    assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times in the edited text"
    index = text.index(needle)
    if at is not None:
        assert at in needle, (at, needle)
        index += needle.index(at)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column
