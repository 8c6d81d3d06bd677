from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ROOT / "processes"
SHIPPED = sorted(PROCESSES.glob("*.yaml"))
FIXTURE = ROOT / "tests" / "fixtures" / "minimal.yaml"


@pytest.fixture
def fixture_text() -> str:
    return FIXTURE.read_text(encoding="utf-8")
