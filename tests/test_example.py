"""The runtime example of docs/embedding.md (`examples/out_of_warranty.py`) runs and prints what the page says:
the out-of-warranty path, a wrong role and a bad form refused, the escalation on advance, the replay."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

EXAMPLE = ROOT / "examples" / "out_of_warranty.py"

EXPECTED = """\
repair
permission: `li` (roles: `cs_agent`) may not fire `repaired` in state `repair`: it needs one of the roles `engineer`
invalid-payload: the payload of `repaired` does not fit its form:
  payload.parts_replaced: is required; fill it in
  payload.repair_hours: must be a number, got text `two`
  payload.technical_notes: is required; fill it in
['escalate']
14 events, replayed
"""


def test_the_out_of_warranty_example_prints_what_the_page_shows():
    # Run as a reader would, from the checkout: `.venv/bin/python examples/out_of_warranty.py`.
    done = subprocess.run(
        [sys.executable, str(EXAMPLE.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == EXPECTED


def test_the_embedding_page_shows_the_example_as_it_is():
    page = (ROOT / "docs" / "embedding.md").read_text(encoding="utf-8")
    assert f"```python\n{EXAMPLE.read_text(encoding='utf-8')}```\n\nIt prints:\n\n```text output\n{EXPECTED}```" in page
