"""The audit book: its HTML read as an auditor reads it, its all-or-nothing writing, and the pages in a
real headless Chromium (Debian's, installed by `make test`'s set-up), spoken to over the DevTools
protocol: every page loads without console errors, every diagram is there and visible, Chinese is
drawn with a CJK font, and a screenshot of a procedure page is a real picture.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import shutil
import signal
import struct
import subprocess
import time
import zlib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import FIXTURE, PROCESSES, SHIPPED, mutate

from engine.cli import run
from engine.errors import DefinitionError, LayoutTimeout, NoDefinitions
from engine.model import Process
from engine.processes import load_definitions, load_process, load_process_text
from engine.render import render_dot, render_mermaid
from engine.render.book import MARKER, BookError, write_book
from engine.render.book_pages import diagram_files, index_page, procedure_page
from engine.render.book_sections import is_archived

# `make test` sets this, so that there a missing browser or Graphviz fails the suite instead of skipping.
REQUIRED = os.environ.get("PROCFLOW_REQUIRE_TOOLS") == "1"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DOT = shutil.which("dot")
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


def _missing(what: str, install: str) -> None:
    message = f"{what} is not installed ({install}; `make test` installs it)"
    if REQUIRED:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def needs_dot() -> None:
    if DOT is None:
        _missing("Graphviz's dot", "apt-get install graphviz")


# --- reading the HTML as tables ----------------------------------------------------------------------


class Tables(HTMLParser):
    """The body rows of each section's table, as lists of cell texts, keyed by the section's id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: dict[str, list[list[str]]] = {}
        self.heads: dict[str, list[str]] = {}
        self.html_lang = ""
        self._section = ""
        self._in_body = False
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in_svg = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.html_lang = found.get("lang") or ""
        if tag == "svg":
            self._in_svg += 1
        if self._in_svg:
            return
        if tag in ("section", "table") and found.get("id"):
            self._section = found["id"] or ""
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("br", "li", "span") and self._cell is not None and self._cell:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._in_svg -= 1
        if self._in_svg:
            return
        if tag == "tbody":
            self._in_body = False
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._in_body:
                self.rows.setdefault(self._section, []).append(self._row)
            else:
                self.heads[self._section] = self._row
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._in_svg:
            self._cell.append(data)


def tables(page: str) -> Tables:
    parser = Tables()
    parser.feed(page)
    parser.close()
    return parser


def page_of(process: Process, lang: str = "both", svg: str = '<?xml version="1.0"?>\n<svg></svg>\n') -> str:
    return procedure_page(process, svg, diagram_files(process), lang)  # type: ignore[arg-type]


# --- the HTML, without a browser ---------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_the_step_table_has_one_row_per_state_with_what_the_definition_says(path: Path) -> None:
    process = load_process(path)
    read = tables(page_of(process))
    rows = read.rows["steps"]
    assert [row[0] for row in rows] == list(process.states)
    for row, state in zip(rows, process.states.values(), strict=True):
        _, _, zh, en, role, time_limit, records, source = row
        assert (zh, en) == (state.label.zh, state.label.en)
        if state.role:
            lane = process.roles[state.role]
            assert lane.label.zh in role and lane.label.en in role
            if lane.department:
                assert process.departments[lane.department].label.zh in role
        assert (state.time_limit.text in time_limit) if state.time_limit else time_limit.startswith("—")
        for deadline in state.deadlines:
            assert deadline.fire in time_limit
        for record in state.produces:
            assert process.records[record].label.zh in records and process.records[record].label.en in records
        if state.source:
            assert state.source.section in source
            assert process.sources[state.source.document].title.zh in source
        elif state.addition:  # declared as not in the source: said so, and listed under the additions
            assert "not in the source document" in source
        else:
            assert source == "—"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_the_page_lists_roles_records_sources_version_and_hash(path: Path) -> None:
    process = load_process(path)
    page = page_of(process)
    read = tables(page)
    assert [row[0] for row in read.rows["roles"]] == list(process.roles)
    for row, role in zip(read.rows["roles"], process.roles.values(), strict=True):
        assert row[1:3] == [role.label.zh, role.label.en]
        assert row[4] == ("是 yes" if role.external else "否 no")
    assert [row[0] for row in read.rows["records"]] == list(process.records)
    for row, record in zip(read.rows["records"], process.records.values(), strict=True):
        assert row[1:4] == [record.label.zh, record.label.en, "是 yes" if is_archived(process, record.id) else "否 no"]
    assert [row[0] for row in read.rows["sources"]] == list(process.sources)
    assert process.content_hash in page
    assert f"<dd>{process.version}</dd>" in page


def test_every_transition_and_branch_is_in_the_transitions_table() -> None:
    process = load_process(PROCESSES / "return_repair.yaml")
    rows = tables(page_of(process)).rows["transitions"]
    branches = sum(len(s.branches) + (s.default is not None) for s in process.states.values())
    assert len(rows) == len(process.transitions) + branches
    assert {(row[1], row[4]) for row in rows} >= {(t.trigger, t.dest) for t in process.transitions}


def test_labels_that_look_like_markup_are_shown_as_text(fixture_text: str) -> None:
    text = mutate(
        fixture_text,
        ("title: {zh: 简易维修,", f"title: {{zh: '{HOSTILE}',"),
        ("en: Service clerk", f"en: '{HOSTILE}'"),
    )
    process = load_process_text(text, str(FIXTURE))
    for page in (page_of(process), index_page([process], "both")):
        assert "<script" not in page and "<img" not in page
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;" in page
    assert tables(page_of(process)).rows["roles"][1][2] == HOSTILE


def test_one_language_shows_only_that_languages_labels() -> None:
    process = load_process(PROCESSES / "exchange.yaml")
    read = tables(page_of(process, "zh"))
    assert read.html_lang == "zh-Hans"
    state = next(iter(process.states.values()))
    assert read.rows["steps"][0][2] == state.label.zh
    assert state.label.en not in page_of(process, "zh")
    assert len(read.rows["steps"][0]) == 7  # one label column, not two


# --- writing the book -------------------------------------------------------------------------------


def files_of(book: Path) -> dict[str, bytes]:
    return {str(p.relative_to(book)): p.read_bytes() for p in sorted(book.rglob("*")) if p.is_file()}


@pytest.fixture
def processes_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "processes"
    folder.mkdir()
    for path in SHIPPED:
        shutil.copy(path, folder / path.name)
    return folder


def test_the_book_has_an_index_and_a_page_svg_and_mermaid_file_per_procedure(
    needs_dot: None, processes_copy: Path, tmp_path: Path
) -> None:
    report = write_book(load_definitions(processes_copy), tmp_path / "book")
    book = tmp_path / "book"
    assert report.index == book / "index.html"
    assert report.pages == tuple(book / "procedures" / f"{p.stem}.html" for p in SHIPPED)
    index = tables(report.index.read_text(encoding="utf-8")).rows["procedures"]
    for row, path in zip(index, SHIPPED, strict=True):
        process = load_process(path)
        assert row == [
            process.title.zh,
            process.title.en,
            process.id,
            str(process.version),
            process.content_hash[:12],
            str(len(process.states)),
        ]
        folder = book / "procedures"
        page = (folder / f"{process.id}.html").read_text(encoding="utf-8")
        assert page.count('class="graph"') == 1 and "<?xml" not in page  # one drawing; print sheets <use> it
        assert (folder / f"{process.id}.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
        assert (folder / f"{process.id}.mmd").read_text(encoding="utf-8") == render_mermaid(process)
        assert (folder / f"{process.id}.dot").read_text(encoding="utf-8") == render_dot(process)
    assert report.files == len([p for p in book.rglob("*") if p.is_file()])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".book")]  # no staging left behind


def test_the_same_definitions_give_the_same_bytes(
    needs_dot: None, processes_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pages say when the book was generated: SOURCE_DATE_EPOCH fixes that moment, as reproducible
    # builds do, and then nothing else in the book may vary.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780000000")
    write_book(load_definitions(processes_copy), tmp_path / "first")
    write_book(load_definitions(processes_copy), tmp_path / "second")
    assert files_of(tmp_path / "first") == files_of(tmp_path / "second")


def test_an_invalid_definition_stops_the_book_and_keeps_the_previous_one(
    needs_dot: None, processes_copy: Path, tmp_path: Path
) -> None:
    book = tmp_path / "book"
    write_book(load_definitions(processes_copy), book)
    before = files_of(book)
    broken = processes_copy / "exchange.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("role: cs_agent", "role: cs_agnet", 1), "utf-8")
    with pytest.raises(DefinitionError) as caught:
        write_book(load_definitions(processes_copy), book)
    [problem] = caught.value.errors
    assert problem.location.file == str(broken) and problem.location.line > 1
    assert "cs_agnet" in problem.message
    assert files_of(book) == before
    with pytest.raises(DefinitionError):
        write_book(load_definitions(processes_copy), tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()


def test_a_layout_past_its_time_bound_stops_the_book_with_one_line(
    needs_dot: None, processes_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = tmp_path / "book"
    write_book(load_definitions(processes_copy), book)
    before = files_of(book)

    def too_slow(dot_text: str, fmt: str, *, timeout: float) -> bytes:
        raise LayoutTimeout(f"Graphviz's layout took longer than {timeout:g} s and was stopped", timeout=timeout)

    monkeypatch.setattr("engine.render.book.layout", too_slow)
    code, _, err = call("book", str(processes_copy), "-o", str(book), "--timeout", "0.5")
    assert code == 1
    assert err == "procflow book: Graphviz's layout took longer than 0.5 s and was stopped\n"
    assert files_of(book) == before


def test_two_definitions_with_one_id_are_refused_at_the_second_id(
    needs_dot: None, processes_copy: Path, tmp_path: Path
) -> None:
    shutil.copy(processes_copy / "exchange.yaml", processes_copy / "exchange_copy.yaml")
    with pytest.raises(DefinitionError) as caught:
        write_book(load_definitions(processes_copy), tmp_path / "book")
    [problem] = caught.value.errors
    assert problem.location.file.endswith("exchange_copy.yaml") and problem.location.line == 3
    assert "`exchange`" in problem.message
    assert not (tmp_path / "book").exists()


def test_a_folder_that_is_not_a_book_is_not_overwritten(processes_copy: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "mine.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(BookError, match="not an audit book"):
        write_book(load_definitions(processes_copy), notes)
    assert [p.name for p in notes.iterdir()] == ["mine.txt"]


def test_a_previous_book_is_replaced_whole(needs_dot: None, processes_copy: Path, tmp_path: Path) -> None:
    book = tmp_path / "book"
    write_book(load_definitions(processes_copy), book)
    (processes_copy / "sales_service.yaml").unlink()
    write_book(load_definitions(processes_copy), book)
    assert (book / MARKER).is_file()
    assert not list(book.rglob("sales_service.*"))
    assert (book / "procedures" / "exchange.html").is_file()


def test_no_definitions_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(NoDefinitions, match=r"no \.yaml or \.yml definitions"):
        load_definitions(tmp_path)
    with pytest.raises(NoDefinitions, match="no such file or folder"):
        load_definitions(tmp_path / "nowhere")


# --- the command -----------------------------------------------------------------------------------


def call(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def test_the_command_writes_the_book_and_says_where_to_open_it(
    needs_dot: None, processes_copy: Path, tmp_path: Path
) -> None:
    code, out, err = call("book", str(processes_copy), "-o", str(tmp_path / "book"), "--lang", "en")
    assert code == 0, err
    assert str(tmp_path / "book" / "index.html") in out
    assert tables((tmp_path / "book" / "index.html").read_text(encoding="utf-8")).html_lang == "en"


def test_the_command_lists_every_error_and_writes_nothing(processes_copy: Path, tmp_path: Path) -> None:
    broken = processes_copy / "complaint.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("type: task", "type: tsak", 1), "utf-8")
    code, out, err = call("book", str(processes_copy), "-o", str(tmp_path / "book"))
    assert code == 1
    assert f"{broken}:" in err and "tsak" in err and "no book written" in err
    assert "Traceback" not in err
    assert not (tmp_path / "book").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ("book", "nowhere", "-o", "never-written"),
        ("book", str(PROCESSES)),
        ("book", str(PROCESSES), "-o", "never-written", "--lang", "fr"),
        ("book", str(PROCESSES), "-o", "never-written", "--timeout", "0"),
        ("book", str(PROCESSES), "-o", "never-written", "--timeout", "nan"),
    ],
    ids=["no such folder", "no -o", "unknown language", "zero timeout", "nan timeout"],
)
def test_usage_mistakes_exit_2_with_one_message(argv: tuple[str, ...], tmp_path: Path) -> None:
    code, _, err = call(*argv)
    assert code == 2 and err.strip() and "Traceback" not in err


def test_an_unusable_output_folder_is_one_line_and_exit_1(processes_copy: Path, tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x", encoding="utf-8")
    code, _, err = call("book", str(processes_copy), "-o", str(target))
    assert code == 1 and err.count("\n") == 1 and "is a file" in err


# --- in a real browser ------------------------------------------------------------------------------

BROWSER_TIMEOUT = 60.0
"""A bound on every wait for the browser, so a hung Chromium fails the test instead of hanging the suite."""


class DevTools:
    """A minimal Chrome DevTools Protocol client over one websocket, with one page attached."""

    def __init__(self, url: str) -> None:
        import websocket  # the dev extra's websocket-client

        self.socket = websocket.create_connection(url, timeout=BROWSER_TIMEOUT, suppress_origin=True)
        self.events: list[dict[str, object]] = []
        self._next = 0
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def call(self, method: str, *, page: bool = False, **params: object) -> dict[str, object]:
        self._next += 1
        message: dict[str, object] = {"id": self._next, "method": method, "params": params}
        if page:
            message["sessionId"] = self.session
        self.socket.send(json.dumps(message))
        deadline = time.monotonic() + BROWSER_TIMEOUT
        while True:
            reply = self._receive(deadline, f"an answer to {method}")
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply["result"]  # type: ignore[no-any-return]
            self.events.append(reply)

    def wait_for(self, event: str) -> dict[str, object]:
        deadline = time.monotonic() + BROWSER_TIMEOUT
        while True:
            for index, seen in enumerate(self.events):
                if seen.get("method") == event:
                    return self.events.pop(index)
            self.events.append(self._receive(deadline, event))

    def _receive(self, deadline: float, awaited: str) -> dict[str, object]:
        """The next message, or a failed test once ``deadline`` has passed (a safety bound, not a measure)."""
        import websocket

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"Chromium sent no {awaited} within {BROWSER_TIMEOUT:.0f} s")
        self.socket.settimeout(remaining)
        try:
            return json.loads(self.socket.recv())  # type: ignore[no-any-return]
        except websocket.WebSocketTimeoutException:
            pytest.fail(f"Chromium sent no {awaited} within {BROWSER_TIMEOUT:.0f} s")

    def open(self, url: str) -> list[str]:
        """Load ``url``; the console errors, uncaught exceptions and failed loads it caused."""
        self.events.clear()
        navigation = self.call("Page.navigate", page=True, url=url)
        assert "errorText" not in navigation, navigation
        self.wait_for("Page.loadEventFired")
        self.evaluate("1")  # a round trip: every event sent before it has arrived
        problems = []
        for event in self.events:
            method, params = event.get("method"), event.get("params")
            assert isinstance(params, dict)
            if method == "Runtime.exceptionThrown":
                problems.append(f"exception: {params['exceptionDetails']}")
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert", "warning"):
                problems.append(f"console.{params['type']}: {params['args']}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                problems.append(f"log {params['entry']['level']}: {params['entry']['text']}")
        return problems

    def close(self) -> None:
        """Ask Chromium to quit (it then ends its helper processes itself); it does not answer."""
        try:
            self.socket.send(json.dumps({"id": self._next + 1, "method": "Browser.close", "params": {}}))
        finally:
            self.socket.close()

    def evaluate(self, expression: str, *, wait: bool = False) -> object:
        """The value of ``expression`` in the page (once its promise settles, with ``wait``)."""
        result = self.call("Runtime.evaluate", page=True, expression=expression, returnByValue=True, awaitPromise=wait)
        assert "exceptionDetails" not in result, result
        return result["result"]["value"]  # type: ignore[index]


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if DOT is None:
        _missing("Graphviz's dot", "apt-get install graphviz")
    folder = tmp_path_factory.mktemp("definitions")
    for path in SHIPPED:
        shutil.copy(path, folder / path.name)
    # One hostile label, so the browser also proves markup in a definition stays text.
    hostile = folder / "exchange.yaml"
    hostile.write_text(hostile.read_text(encoding="utf-8").replace("zh: 售后退换货", f"zh: '{HOSTILE}'", 1), "utf-8")
    out = tmp_path_factory.mktemp("book") / "book"
    write_book(load_definitions(folder), out)
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> object:
    if CHROMIUM is None:
        _missing("Chromium", "apt-get install chromium")
    if importlib.util.find_spec("websocket") is None:
        _missing("websocket-client", "pip install -e '.[dev]'")
    profile = tmp_path_factory.mktemp("chromium-profile")
    log_path = profile.parent / "chromium.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,  # its own process group, so the finally below ends all its helpers
    )
    try:
        devtools = DevTools(_devtools_url(profile, process, log_path))
        devtools.call("Page.enable", page=True)
        devtools.call("Runtime.enable", page=True)
        devtools.call("Log.enable", page=True)
        devtools.call("DOM.enable", page=True)
        devtools.call("CSS.enable", page=True)
        yield devtools
        devtools.close()
    finally:
        _stop(process)
        log.close()


def _devtools_url(profile: Path, process: subprocess.Popen[bytes], log: Path) -> str:
    """Chromium writes its port and browser path to DevToolsActivePort once it listens."""
    active = profile / "DevToolsActivePort"
    for _ in range(int(BROWSER_TIMEOUT * 10)):
        if active.is_file():
            lines = active.read_text(encoding="utf-8").split()
            if len(lines) == 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
            pytest.fail(f"Chromium exited with status {process.returncode} before listening:\n{tail}")
        try:
            process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
    pytest.fail(f"Chromium did not open its DevTools port within {BROWSER_TIMEOUT:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Wait for Chromium to quit; past a bound, end its process group (it runs in a session of its own)."""
    for signal_number in (None, signal.SIGTERM, signal.SIGKILL):
        if signal_number is not None:
            try:
                os.killpg(process.pid, signal_number)
            except ProcessLookupError:
                return
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.mark.parametrize("name", ["index.html"] + [f"procedures/{p.stem}.html" for p in SHIPPED])
def test_every_page_loads_without_console_errors(browser: DevTools, book: Path, name: str) -> None:
    problems = browser.open((book / name).as_uri())
    assert problems == []
    assert browser.evaluate("document.querySelectorAll('script').length") == 0
    assert browser.evaluate("document.title")


def test_the_index_links_every_procedure(browser: DevTools, book: Path) -> None:
    assert browser.open((book / "index.html").as_uri()) == []
    links = browser.evaluate(
        "[...document.querySelectorAll('#procedures td:nth-child(3) a')].map(a => a.getAttribute('href'))"
    )
    assert links == [f"procedures/{p.stem}.html" for p in SHIPPED]


DIAGRAM_GEOMETRY = """(() => [...document.querySelectorAll('figure.diagram svg')].map(svg => {
  const box = svg.getBoundingClientRect(), style = getComputedStyle(svg);
  const chart = svg.closest('.chart').getBoundingClientRect();
  return {width: box.width, height: box.height, left: box.left,
          chartLeft: chart.left, chartRight: chart.right,
          pageWidth: document.documentElement.scrollWidth,
          shown: style.display !== 'none' && style.visibility === 'visible' && style.opacity !== '0',
          nodes: [...svg.querySelectorAll('g.node > title')].map(t => t.textContent)};
}))()"""


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_diagram_is_present_visible_and_draws_every_step(browser: DevTools, book: Path, path: Path) -> None:
    process = load_process(path)
    assert browser.open((book / "procedures" / f"{process.id}.html").as_uri()) == []
    [diagram] = browser.evaluate(DIAGRAM_GEOMETRY)  # type: ignore[misc]
    assert diagram["shown"]
    assert diagram["width"] > 100 and diagram["height"] > 100
    # drawn at full size in its own scrolling box, which fits the page
    assert 0 <= diagram["chartLeft"] <= diagram["left"] and diagram["chartRight"] <= diagram["pageWidth"]
    drawn = Counter(diagram["nodes"])
    assert all(drawn[state] == 1 for state in process.states), drawn  # each step drawn once


def test_chinese_is_drawn_with_a_font_that_has_its_glyphs(browser: DevTools, book: Path) -> None:
    """Chromium names the system fonts it drew a node's text with; Chinese must not fall back to boxes."""
    assert browser.open((book / "procedures" / "return_repair.html").as_uri()) == []
    # Mark the diagram's first text in Chinese, so DevTools can be asked about that very element.
    assert browser.evaluate(
        "(() => { const text = [...document.querySelectorAll('svg g.node text')]"
        ".find(t => /[\\u4e00-\\u9fff]/.test(t.textContent));"
        " if (text) text.setAttribute('data-probe', ''); return !!text; })()"
    )
    root = browser.call("DOM.getDocument", page=True)["root"]["nodeId"]  # type: ignore[index]
    for selector in ('h1 [lang="zh-Hans"]', "#steps tbody td[lang='zh-Hans']", "svg text[data-probe]"):
        node = browser.call("DOM.querySelector", page=True, nodeId=root, selector=selector)["nodeId"]
        assert node, selector
        fonts = browser.call("CSS.getPlatformFontsForNode", page=True, nodeId=node)["fonts"]
        families = {font["familyName"] for font in fonts}  # type: ignore[union-attr]
        assert any("CJK" in family for family in families), (selector, fonts)


SCREEN = (1280, 1600)

# Chromium's own PNG decoder reads the screenshot back: its size, the share of white pixels and how
# many distinct colours it has (a Python decoder takes seconds for a page this size).
PICTURE_STATISTICS = """(async () => {
  const image = new Image();
  image.src = 'data:image/png;base64,%s';
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let white = 0; const colours = new Set();
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i] === 255 && pixels[i + 1] === 255 && pixels[i + 2] === 255) white++;
    colours.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
  }
  return {width: canvas.width, height: canvas.height, white: white / (pixels.length / 4), colours: colours.size};
})()"""


def test_a_screenshot_of_a_procedure_page_is_a_real_picture(browser: DevTools, book: Path) -> None:
    width, height = SCREEN
    browser.call(
        "Emulation.setDeviceMetricsOverride", page=True, width=width, height=height, deviceScaleFactor=1, mobile=False
    )
    try:
        assert browser.open((book / "procedures" / "return_repair.html").as_uri()) == []
        encoded = browser.call("Page.captureScreenshot", page=True, format="png")["data"]
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride", page=True)
    assert isinstance(encoded, str)
    shot = base64.b64decode(encoded)
    keep = os.environ.get("PROCFLOW_SCREENSHOT")  # a path to keep the picture at, to look at it
    if keep:
        Path(keep).write_bytes(shot)
    assert png_size(shot) == SCREEN
    picture = browser.evaluate(PICTURE_STATISTICS % encoded, wait=True)
    assert isinstance(picture, dict)
    assert (picture["width"], picture["height"]) == SCREEN
    assert picture["white"] < 0.97  # text, tables and the diagram, not an empty page
    assert picture["colours"] > 50  # anti-aliased glyphs in several colours, not a flat fill


def png_size(data: bytes) -> tuple[int, int]:
    """The size in a well-formed PNG's header; every chunk's checksum must hold."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, size, kinds = 8, (0, 0), []
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        (checksum,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == checksum, f"bad checksum in the {kind!r} chunk"
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        kinds.append(kind)
        offset += 12 + length
    assert kinds[0] == b"IHDR" and b"IDAT" in kinds and kinds[-1] == b"IEND", kinds
    return size


def test_the_records_table_lists_each_records_fields_and_the_transitions_that_write_it() -> None:
    process = load_process(PROCESSES / "return_repair.yaml")
    rows = {row[0]: row for row in tables(page_of(process)).rows["records"]}
    _, _, _, archived, fields, written_by, required_by = rows["repair_plan"]
    assert archived == "是 yes"  # the final step `completed` requires every record
    # each key with its glossary name (`fields:`), its type and whether it is required
    for name, kind in [
        ("repair_content ( 维修内容 / Repair work)", "string"),
        ("parts ( 所需配件 / Parts needed)", "array"),
        ("cost_estimate ( 成本评估 / Cost estimate)", "number"),
    ]:
        assert f"{name} {kind}, 必填 required" in fields
    assert "quote ( 报价 / Quote) number" in fields and "quote ( 报价 / Quote) number, 必填" not in fields
    assert "plan_repair · submit_plan" in written_by
    assert "prepare_quote · send_quote (quote) (修订) (amends)" in written_by
    assert required_by == "completed"
    assert rows["repair_application"][6] == "completed returned_unrepaired rejected"


def test_a_record_field_taken_from_the_data_is_shown_with_where_it_comes_from() -> None:
    process = load_process(PROCESSES / "qc_signoff.yaml")
    rows = {row[0]: row for row in tables(page_of(process)).rows["records"]}
    assert "quantity_logged ← payload.quantity" in rows["tracking_record"][5]
    assert "customer ← data.customer" in rows["tracking_record"][5]
