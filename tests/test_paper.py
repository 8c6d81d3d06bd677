"""A chart printed on A4 or A3: the PDF's sheets are that paper, no text is smaller than 7 pt, a
chart too large for one sheet is cut across sheets that repeat the lane titles, and one that would
need too many sheets is refused with the paper it needs. Read with tests/pdf_support.py."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, SHIPPED, missing_tool
from pdf_support import pages

from engine.cli import run
from engine.errors import RenderError
from engine.render import paper
from engine.render.paper import MIN_TEXT, PAPERS, Box, plan, sheet
from engine.render.pdf_pages import combine

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
PRINTED = [*SHIPPED, *EXAMPLES]
SHEETS = [("A3", True), ("A4", False)]


@pytest.fixture(autouse=True)
def needs_dot() -> None:
    if shutil.which("dot") is None or shutil.which("neato") is None:
        missing_tool("Graphviz's dot and neato", "apt-get install graphviz")


def call(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def printed(path: Path, name: str, landscape: bool, out: Path) -> tuple[str, bytes]:
    argv = ["render", str(path), "-o", str(out), "--paper", name, *(["--landscape"] if landscape else [])]
    code, said, err = call(*argv)
    assert code == 0, err
    return said, out.read_bytes()


@pytest.mark.parametrize(("name", "landscape"), SHEETS, ids=["A3-landscape", "A4"])
@pytest.mark.parametrize("path", PRINTED, ids=lambda p: p.stem)
def test_every_procedure_prints_on_the_paper_with_no_text_under_7_pt(
    path: Path, name: str, landscape: bool, tmp_path: Path
) -> None:
    said, pdf = printed(path, name, landscape, tmp_path / "chart.pdf")
    width, height = PAPERS[name]
    if landscape:
        width, height = height, width
    read = pages(pdf)
    assert read, "at least one page"
    for page in read:
        assert abs(page.width - width) < 1 and abs(page.height - height) < 1, (page.width, page.height)
        assert page.font_sizes, "every sheet has text (its place in the grid at least)"
        assert min(page.font_sizes) >= MIN_TEXT - 0.01
    assert f"{len(read)} sheet(s) of {name} {'landscape' if landscape else 'portrait'}" in said


def test_a_large_chart_is_cut_across_sheets_that_repeat_its_lane_titles(tmp_path: Path) -> None:
    _, pdf = printed(ROOT / "processes" / "complaint.yaml", "A4", False, tmp_path / "complaint.pdf")
    read = pages(pdf)
    assert len(read) > 4
    texts = [" ".join(page.text.split()) for page in read]
    for number, text in enumerate(texts, start=1):
        assert f"complaint · {number} / {len(read)} · row " in text  # where the sheet goes
    # The customer's lane runs down several sheets; its title is on each of them, not only the first.
    assert sum("客户 Customer" in text or "客户Customer" in text for text in texts) >= 3


def test_a_small_chart_is_one_sheet_at_full_size(tmp_path: Path) -> None:
    # 770 × 621 pt since arrow texts are nodes of their own: wider than A4 at 7 pt, well inside A3
    said, pdf = printed(ROOT / "examples" / "vehicle_workshop_4s.yaml", "A3", False, tmp_path / "small.pdf")
    [page] = pages(pdf)
    assert min(page.font_sizes) == 9.0  # the edge labels' 9 pt, not shrunk and not blown up
    assert "1 sheet(s) of A3 portrait, at 100% of full size" in said


def test_the_same_chart_gives_the_same_bytes(tmp_path: Path) -> None:
    path = ROOT / "processes" / "exchange.yaml"
    _, first = printed(path, "A4", True, tmp_path / "first.pdf")
    _, second = printed(path, "A4", True, tmp_path / "second.pdf")
    assert first == second


def test_a_chart_that_needs_too_many_sheets_names_the_paper_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paper, "MAX_PAGES", 2)
    out = tmp_path / "chart.pdf"
    code, _, err = call("render", str(ROOT / "processes" / "sales_service.yaml"), "-o", str(out), "--paper", "A4")
    assert code == 1
    assert err == (
        "procflow render: the chart would take 4 sheets of A4 portrait (2 × 2) with its text at 7 pt; "
        "it fits one sheet of A2, or draw it as .svg\n"
    )
    assert not out.exists()
    code, _, err = call("render", str(ROOT / "processes" / "complaint.yaml"), "-o", str(out), "--paper", "A3")
    assert code == 1 and "it is larger than one sheet of A0" in err
    assert not out.exists()


def test_the_paper_a_chart_needs_is_the_smallest_that_holds_it() -> None:
    a4 = sheet("A4")
    with pytest.raises(RenderError, match="larger than one sheet of A0"):
        plan(Box(0, 0, 20000, 20000), 9.0, a4)
    found = plan(Box(0, 0, 500, 700), 9.0, a4)
    assert (found.columns, found.rows, found.scale) == (1, 1, 1.0)
    cut = plan(Box(0, 0, 3000, 3000), 9.0, a4)
    assert cut.smallest_printed >= MIN_TEXT and cut.columns * cut.rows == len(cut.windows)
    blank = plan(Box(0, 0, 3000, 3000), 9.0, a4, marks=[Box(0, 2900, 100, 3000)])
    assert blank.places == ((1, 1),)


@pytest.mark.parametrize(
    "argv",
    [
        ["--paper", "A4"],  # with .svg
        ["--landscape"],  # without --paper
        ["--paper", "Letter"],
    ],
    ids=["paper with svg", "landscape alone", "unknown paper"],
)
def test_paper_options_that_do_not_go_together_are_usage_mistakes(argv: list[str], tmp_path: Path) -> None:
    out = tmp_path / ("chart.svg" if argv[:2] == ["--paper", "A4"] else "chart.pdf")
    code, _, err = call("render", str(SHIPPED[0]), "-o", str(out), *argv)
    assert code == 2 and err.strip() and "Traceback" not in err
    assert not out.exists()


def test_pages_that_cannot_be_put_together_are_refused_not_misread() -> None:
    with pytest.raises(RenderError, match="no pages"):
        combine([])
    xref_stream = b"%PDF-1.7\n1 0 obj\n<< /Type /XRef >>\nstream\nendstream\nendobj\nstartxref\n9\n%%EOF\n"
    with pytest.raises(RenderError, match="in a stream"):
        combine([xref_stream])
