"""The audit book on a phone and on paper, in headless Chromium (over DevTools, as tests/test_book.py):
at 390 px wide nothing scrolls sideways but the chart, whose box scrolls, pans and zooms without a
script and whose text reads at 7 pt or more; printed on A4 the navigation is gone, page 1 is full,
every text is 7 pt or more and the chart is there on sheets of its own. Screenshots are kept under
out/screenshots/ (not committed) for a person to look at."""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURE, ROOT, SHIPPED
from pdf_support import pages
from test_book import DevTools, browser  # noqa: F401  (the browser fixture, one Chromium per module)

from engine.processes import load_definitions
from engine.render.book import write_book

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
ALL = [*SHIPPED, *EXAMPLES]
LONG = Path("long_chain.yaml")  # written into the book by the fixture: 33 steps
PHONE = 390
SCREENSHOTS = ROOT / "out" / "screenshots"
PT = 96 / 72  # CSS pixels per point
NAV_TEXT = ("全部流程", "All procedures")
STEP_NODES = (  # the chart's steps: not the nodes that carry an arrow's text or a lane's title (named _...)
    "[...document.querySelectorAll('figure.diagram svg g.node > title')]"
    ".filter(t => !t.textContent.startsWith('_')).length"
)


def long_procedure(steps: int = 33) -> str:
    """A procedure of ``steps`` steps across three lanes, every fourth sending the case back three steps:
    the size of chart a new user found drawn with 5 px text."""
    head = FIXTURE.read_text(encoding="utf-8").split("records:")[0].replace("id: minimal_repair", "id: long_chain")
    roles = ["clerk", "supervisor", "customer"]
    lines = [head + "states:"]
    for i in range(steps):
        kind = "start" if i == 0 else "final" if i == steps - 1 else "task"
        lines.append(
            f"  s{i:02d}:\n    type: {kind}\n    zh: 第{i}步办理相关事项并记录结果\n"
            f"    en: Step {i} - handle the matter and record the outcome\n    role: {roles[i % 3]}\n    source: 三.1"
        )
        if i < steps - 1:
            step = f"{{trigger: next_{i}, zh: 完成第{i}步, en: Step {i} done, dest: s{i + 1:02d}}}"
            lines.append(f"    on:\n      - {step}")
            if i % 4 == 3:
                lines.append(f"      - {{trigger: redo_{i}, zh: 退回重办, en: Send back, dest: s{i - 3:02d}}}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    folder = tmp_path_factory.mktemp("definitions")
    for path in ALL:
        shutil.copy(path, folder / path.name)
    (folder / "long_chain.yaml").write_text(long_procedure(), encoding="utf-8")
    out = tmp_path_factory.mktemp("book") / "book"
    write_book(load_definitions(folder), out)
    return out


def page_url(book: Path, path: Path) -> str:
    return (book / "procedures" / f"{path.stem}.html").as_uri()


def phone(devtools: DevTools) -> None:
    devtools.call(
        "Emulation.setDeviceMetricsOverride", page=True, width=PHONE, height=844, deviceScaleFactor=1, mobile=True
    )


def keep(devtools: DevTools, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = devtools.call("Page.captureScreenshot", page=True, format="png")["data"]
    assert isinstance(shot, str)
    (SCREENSHOTS / name).write_bytes(base64.b64decode(shot))


LAYOUT = """(() => {
  const chart = document.querySelector('figure.diagram .chart');
  const style = chart ? getComputedStyle(chart) : null;
  return {page: document.documentElement.scrollWidth, window: window.innerWidth,
          chart: chart && {scroll: chart.scrollWidth, client: chart.clientWidth, height: chart.scrollHeight,
                           shown: chart.clientHeight, overflow: style.overflowX, touch: style.touchAction}};
})()"""

# The smallest text of the chart as drawn on screen: its font size times the SVG's scale, in CSS px.
SMALLEST_TEXT = """(() => Math.min(...[...document.querySelectorAll('figure.diagram svg text')].map(t =>
  parseFloat(t.getAttribute('font-size') || getComputedStyle(t).fontSize) * t.getScreenCTM().a)))()"""


@pytest.mark.parametrize("path", [*ALL, LONG], ids=lambda p: p.stem)
def test_on_a_phone_only_the_chart_scrolls_sideways(browser: DevTools, book: Path, path: Path) -> None:  # noqa: F811
    phone(browser)
    try:
        assert browser.open(page_url(book, path)) == []
        found = browser.evaluate(LAYOUT)
        assert isinstance(found, dict)
        assert found["window"] == PHONE
        assert found["page"] <= PHONE, found  # the page itself never scrolls sideways
        chart = found["chart"]
        # a finger pans the box and two pinch-zoom it ("pan-x pan-y pinch-zoom", which Chromium calls manipulation)
        assert chart["overflow"] == "auto" and chart["touch"] in ("manipulation", "pan-x pan-y pinch-zoom")
        assert chart["scroll"] > chart["client"]  # the chart, at a readable size, scrolls in its box
        assert browser.evaluate(SMALLEST_TEXT) >= 7 * PT - 0.01  # type: ignore[operator]
        keep(browser, f"{path.stem}-phone.png")
        browser.evaluate("document.querySelector('#diagram').scrollIntoView(), true")
        keep(browser, f"{path.stem}-phone-chart.png")
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride", page=True)


@pytest.mark.parametrize("width", [1280, PHONE])
def test_a_33_step_chart_is_drawn_with_its_text_at_9_pt_not_shrunk_to_the_page(
    browser: DevTools,  # noqa: F811
    book: Path,
    width: int,
) -> None:
    browser.call(
        "Emulation.setDeviceMetricsOverride", page=True, width=width, height=900, deviceScaleFactor=1, mobile=False
    )
    try:
        assert browser.open(page_url(book, LONG)) == []
        assert browser.evaluate(STEP_NODES) == 33
        assert browser.evaluate(SMALLEST_TEXT) >= 9 * PT - 0.01  # type: ignore[operator]
        assert browser.evaluate("document.documentElement.scrollWidth") <= width  # type: ignore[operator]
        browser.evaluate("document.querySelector('#diagram').scrollIntoView(), true")
        keep(browser, f"long_chain-{width}.png")
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride", page=True)


def test_the_index_fits_a_phone(browser: DevTools, book: Path) -> None:  # noqa: F811
    phone(browser)
    try:
        assert browser.open((book / "index.html").as_uri()) == []
        assert browser.evaluate("document.documentElement.scrollWidth") <= PHONE  # type: ignore[operator]
        keep(browser, "index-phone.png")
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride", page=True)


CHART_WIDTH = "document.querySelector('figure.diagram svg').getBoundingClientRect().width"


def test_the_zoom_buttons_work_by_click_and_by_keyboard_without_a_script(
    browser: DevTools,  # noqa: F811
    book: Path,
) -> None:
    path = ROOT / "processes" / "return_repair.yaml"  # the largest chart, 29 steps
    assert browser.open(page_url(book, path)) == []
    assert browser.evaluate("document.querySelectorAll('script').length") == 0
    full = browser.evaluate(CHART_WIDTH)
    assert isinstance(full, float | int)
    assert browser.evaluate("document.querySelector('#zoom-100').checked")
    # At 100 % the chart's text is its own size, 9 pt and up: readable, not shrunk to the page.
    assert browser.evaluate(SMALLEST_TEXT) >= 9 * PT - 0.01  # type: ignore[operator]
    browser.evaluate("document.querySelector('label[for=zoom-200]').click(), true")
    assert browser.evaluate(CHART_WIDTH) == pytest.approx(2 * full, rel=0.01)
    browser.evaluate("document.querySelector('label[for=zoom-fit]').click(), true")
    fitted = browser.evaluate(CHART_WIDTH)
    assert fitted == pytest.approx(browser.evaluate("document.querySelector('.chart').clientWidth"), abs=1)
    # From the keyboard: the zoom is a group of radio buttons, the arrow keys move along it.
    browser.evaluate("document.querySelector('#zoom-100').focus(), document.querySelector('#zoom-100').click(), true")
    for kind in ("keyDown", "keyUp"):
        browser.call(
            "Input.dispatchKeyEvent", page=True, type=kind, key="ArrowRight", code="ArrowRight",
            windowsVirtualKeyCode=39,
        )  # fmt: skip
    assert browser.evaluate("document.querySelector('#zoom-150').checked")
    assert browser.evaluate(CHART_WIDTH) == pytest.approx(1.5 * full, rel=0.01)
    # The chart's box takes focus, so the arrow keys pan it (the promise settles on its first scroll).
    browser.evaluate(
        "document.querySelector('label[for=zoom-100]').click(), document.querySelector('.chart').focus(),"
        " window.panned = new Promise(done => document.querySelector('.chart')"
        ".addEventListener('scroll', e => done(e.target.scrollLeft), {once: true})), true"
    )
    assert browser.evaluate("document.activeElement.classList.contains('chart')")
    for kind in ("keyDown", "keyUp"):
        browser.call(
            "Input.dispatchKeyEvent", page=True, type=kind, key="ArrowRight", code="ArrowRight",
            windowsVirtualKeyCode=39,
        )  # fmt: skip
    assert browser.evaluate("window.panned", wait=True) > 0  # type: ignore[operator]


def printed(browser: DevTools, url: str) -> bytes:  # noqa: F811
    assert browser.open(url) == []
    data = browser.call("Page.printToPDF", page=True, preferCSSPageSize=True, printBackground=True)["data"]
    assert isinstance(data, str)
    return base64.b64decode(data)


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_printed_on_a4_the_text_is_7_pt_or_more_and_the_navigation_is_gone(
    browser: DevTools,  # noqa: F811
    book: Path,
    path: Path,
    tmp_path: Path,
) -> None:
    pdf = printed(browser, page_url(book, path))
    read = pages(pdf)
    for page in read:
        assert abs(page.width - 595.3) < 1.5 and abs(page.height - 841.9) < 1.5, (page.width, page.height)
        assert not page.font_sizes or min(page.font_sizes) >= 7 - 0.01
        assert not any(words in page.text for words in NAV_TEXT)
        assert "缩放" not in page.text and "Zoom" not in page.text  # nor the zoom buttons
    first = " ".join(read[0].text.split())
    assert len(first) > 1000, first  # page 1 holds the title, the document control and more: not blank
    sheets = [" ".join(p.text.split()) for p in read if "流程图 Flowchart ·" in " ".join(p.text.split())]
    assert sheets, "the chart is printed"
    assert "流程图 Flowchart · 1 / " in sheets[0]
    if path.stem == "complaint":  # cut across sheets: the agent's lane is titled again where it runs on
        assert sum("Customer service agent" in sheet for sheet in sheets) >= 3


def test_printed_table_rows_are_not_split_across_pages(browser: DevTools, book: Path) -> None:  # noqa: F811
    browser.call("Emulation.setEmulatedMedia", page=True, media="print")
    try:
        assert browser.open(page_url(book, ROOT / "processes" / "complaint.yaml")) == []
        styles = browser.evaluate(
            "[...new Set([...document.querySelectorAll('main tr')].map(r => getComputedStyle(r).breakInside))]"
        )
        assert styles == ["avoid"]
        assert browser.evaluate("getComputedStyle(document.querySelector('nav')).display") == "none"
    finally:
        browser.call("Emulation.setEmulatedMedia", page=True, media="")


def test_printed_sheets_cut_off_from_a_lane_title_repeat_it(book: Path) -> None:
    # The PDF's text cannot tell a repeated title from a step naming the role, so read the sheets' marks.
    page = (book / "procedures" / "complaint.html").read_text(encoding="utf-8")
    sheets = page.split('<figure class="sheet"')[1:]
    repeated = [re.findall(r'<g class="lane-title">.*?</g>', sheet) for sheet in sheets]
    assert sum(any(">Customer</text>" in mark for mark in marks) for marks in repeated) >= 3
    assert sum(any(">Customer service agent</text>" in mark for mark in marks) for marks in repeated) >= 2
