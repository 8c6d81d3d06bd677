"""The audit book served live from the store, as an auditor's browser sees it: the procedures and their
revisions, a revision's book page and its links, the case search, heat maps; nobody else gets in."""

import datetime as dt
import re
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import pytest
from web_support import Browser, add_people, pages_app, sign_in

from engine.render import heatmap_overlay
from engine.runtime import Actor
from engine.service import Workflows

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "tests" / "fixtures" / "minimal.yaml"
PEOPLE = {"qian": ["auditor"], "wang": ["cs_agent"], "li": ["clerk"]}
CUSTOMER = Actor("cara", ("customer",))
CLERK = Actor("li", ("clerk",))
UTC = dt.UTC
NOV = dt.datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def site(tmp_path):
    users = add_people(tmp_path / "users.yaml", PEOPLE)
    workflows = Workflows(f"sqlite:///{tmp_path / 'cases.db'}")
    workflows.register(ROOT / "processes" / "return_repair.yaml")
    workflows.register(MINIMAL)
    yield pages_app(workflows, users), workflows
    workflows.close()


def case(workflows: Workflows, name: str, when: dt.datetime, *, warranty: bool | None, model: str = "X1", hold=False):
    """A case of the minimal procedure: started at ``when``, submitted (when ``warranty`` is given)
    and put on hold a day later."""
    instance = workflows.start("minimal_repair", CUSTOMER, at=when, instance_id=name)
    if warranty is not None:
        payload = {"in_warranty": warranty, "model": model}
        workflows.fire(name, "submit", CUSTOMER, payload, at=when + dt.timedelta(hours=1))
        if hold:
            workflows.fire(name, "hold", CLERK, at=when + dt.timedelta(days=1))
    return instance.id


@pytest.fixture
def cases(site):
    app, workflows = site
    case(workflows, "mr-001", NOV, warranty=True)
    case(workflows, "mr-002", NOV + dt.timedelta(days=1), warranty=False, model=HOSTILE)
    case(workflows, "mr-003", NOV + dt.timedelta(days=2), warranty=False, hold=True)
    case(workflows, "other-004", NOV + dt.timedelta(days=20), warranty=None)
    return app, workflows


def found_ids(page) -> list[str]:
    return re.findall(r'<a href="/app/cases/([^"]+)">', page.text)


ROUTES = [
    "/app/book",
    "/app/book/cases?process=minimal_repair",
    "/app/book/procedures/minimal_repair/1",
    "/app/book/procedures/minimal_repair/1/chart.svg",
    "/app/book/procedures/minimal_repair/return_repair.html",
    "/app/book/heatmap/minimal_repair?from=2026-11-01&to=2026-11-30",
    "/app/book/heatmap/minimal_repair/chart.svg?from=2026-11-01&to=2026-11-30",
]


@pytest.mark.parametrize("path", ROUTES)
def test_every_book_page_sends_a_stranger_to_sign_in_and_refuses_other_roles(cases, path):
    app, _ = cases
    stranger = Browser(app).get(path)
    assert stranger.status_code == 303 and stranger.headers["location"].startswith("/app/login?next=")
    assert Browser(app).post(path, data={}).status_code in (403, 404, 405)  # the book takes no POST at all
    for name in ("wang", "li"):
        assert sign_in(app, name).get(path).status_code == 403
    assert sign_in(app, "qian").get(path).status_code in (200, 303)


def test_the_book_lists_every_procedure_with_each_revision_and_its_open_cases(cases):
    app, workflows = cases
    page = sign_in(app, "qian").get("/app/book?lang=en")
    assert page.status_code == 200
    ref = workflows.latest("minimal_repair")
    assert ref.content_hash[:12] in page.text and 'href="/app/book/procedures/minimal_repair/1"' in page.text
    assert 'href="/app/book/procedures/return_repair/1"' in page.text
    row = re.search(r"<tr>\s*<td[^>]*>1</td>.*?" + ref.content_hash[:12] + r".*?</tr>", page.text, re.S).group(0)
    assert re.findall(r'data-label="Open cases">(\d+)<', row) == ["4"]  # none of them has ended


def test_a_revision_page_is_the_book_page_of_the_stored_text_and_its_links_and_style_work(cases):
    app, workflows = cases
    auditor = sign_in(app, "qian")
    path = "/app/book/procedures/minimal_repair/1"
    page = auditor.get(path + "?lang=en")
    assert page.status_code == 200 and "Simple repair" in page.text and "<svg" in page.text
    assert workflows.latest("minimal_repair").content_hash in page.text
    assert "Revision in the store" in page.text and "revision 1" in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src" not in policy and "default-src 'none'" in policy
    style = re.search(r"<style>(.*?)</style>", page.text, re.S).group(1)
    import base64
    import hashlib

    assert f"'sha256-{base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()}'" in policy
    links = {unescape(h) for h in re.findall(r'href="([^"#][^"]*)"', page.text) if not h.startswith("data:")}
    assert links, "the page links to its diagrams and back to the list"
    for link in links:
        answer = auditor.get(urljoin(f"http://procflow.test{path}", link))
        assert answer.status_code in (200, 303), link
    assert auditor.get(urljoin(f"http://procflow.test{path}", "../index.html")).headers["location"] == "/app/book"
    assert auditor.get(path + "/chart.svg").headers["content-type"].startswith("image/svg+xml")
    assert auditor.get("/app/book/procedures/minimal_repair/9").status_code == 404


def test_the_case_page_tells_an_auditor_the_revision_and_content_the_case_runs_on(cases):
    app, workflows = cases
    page = sign_in(app, "qian").get("/app/cases/mr-001?lang=en")
    ref = workflows.latest("minimal_repair")
    assert page.status_code == 200 and ref.content_hash[:12] in page.text
    assert 'href="/app/book/procedures/minimal_repair/1"' in page.text
    assert "/claim" not in page.text  # an auditor reads; they have nothing to do there


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("process=minimal_repair", ["mr-001", "mr-002", "mr-003", "other-004"]),
        ("step=on_hold", ["mr-003"]),
        ("step=quote", ["mr-002"]),
        ("overdue_at=2026-11-03T12:00", ["mr-001"]),  # accepting has 24 h
        ("overdue_at=2026-11-20T00:00", ["mr-001", "mr-002", "mr-003"]),
        ("overdue=1&process=return_repair", []),
        ("case=mr-002", ["mr-002"]),
        ("case=mr-00&prefix=1", ["mr-001", "mr-002", "mr-003"]),
        ("case=mr-00", []),
        ("field=model&value=X1", ["mr-001", "mr-003"]),
        ("field=in_warranty&value=true&kind=boolean", ["mr-001"]),
        ("field=in_warranty&value=false&kind=boolean", ["mr-002", "mr-003"]),
        ("field=in_warranty&value=true", []),  # the text "true" is not the boolean
        ("from=2026-11-03&to=2026-11-04", ["mr-002", "mr-003"]),
        ("from=2026-11-03T16:30%2B08:00", ["mr-002", "mr-003", "other-004"]),  # 08:30 UTC
    ],
)
def test_the_search_finds_cases_by_each_filter(cases, query, expected):
    app, _ = cases
    page = sign_in(app, "qian").get(f"/app/book/cases?{query}")
    assert page.status_code == 200, page.text
    assert found_ids(page) == expected


def test_the_search_pages_by_cursor(cases):
    app, _ = cases
    import engine.web.book_cases as book_cases

    auditor = sign_in(app, "qian")
    saved, book_cases.PAGE_SIZE = book_cases.PAGE_SIZE, 3
    try:
        first = auditor.get("/app/book/cases?process=minimal_repair")
        following = unescape(re.search(r'class="button" href="\?([^"]+)"', first.text).group(1))
        second = auditor.get(f"/app/book/cases?{following}")
    finally:
        book_cases.PAGE_SIZE = saved
    assert found_ids(first) == ["mr-001", "mr-002", "mr-003"] and found_ids(second) == ["other-004"]


def test_a_hostile_data_value_is_searched_and_shown_escaped(cases):
    app, _ = cases
    page = sign_in(app, "qian").get("/app/book/cases", params={"field": "model", "value": HOSTILE})
    assert found_ids(page) == ["mr-002"]
    assert HOSTILE not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"field": "model'); DROP TABLE instances; --", "value": "x"}, "DROP TABLE"),
        ({"field": "$.model", "value": "x"}, "$.model"),
        ({"from": "yesterday"}, "`from`"),
        ({"overdue_at": "2026-13-40"}, "`overdue_at`"),
        ({"after": "forged"}, "search cursor"),
        ({"field": "quote", "value": "lots", "kind": "number"}, "`value`"),
    ],
)
def test_a_bad_query_is_a_400_page_naming_what_is_wrong(cases, query, named):
    app, workflows = cases
    page = sign_in(app, "qian").get("/app/book/cases", params=query)
    assert page.status_code == 400 and named in unescape(page.text)
    assert len(workflows.list()) == 4


def test_a_heat_map_counts_the_histories_with_events_in_the_period(cases):
    app, workflows = cases
    process = workflows.runtime("minimal_repair", workflows.latest("minimal_repair").content_hash).process
    auditor = sign_in(app, "qian")
    page = auditor.get("/app/book/heatmap/minimal_repair?from=2026-11-02&to=2026-11-03&lang=en")
    assert page.status_code == 200
    # mr-001 and mr-002 have events on 2-3 November; mr-003 starts on the 4th, other-004 on the 22nd.
    assert re.search(r'id="drawn">(\d+)<', page.text).group(1) == "2"
    expected = heatmap_overlay(process, [workflows.get("mr-001"), workflows.get("mr-002")])
    for state_id in process.states:
        shown = re.search(rf'id="heat-{state_id}">.*?class="visits">(\d+)<', page.text, re.S).group(1)
        mark = expected.nodes.get(state_id)
        assert int(shown) == (mark.visits if mark else 0), state_id
    assert re.search(r'id="heat-apply">.*?class="visits">(\d+)<', page.text, re.S).group(1) == "2"
    image = unescape(re.search(r'<img src="([^"]+)"', page.text).group(1))
    chart = auditor.get(image)
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert "script" not in chart.headers["content-security-policy"].replace("'none'", "")
    whole = auditor.get("/app/book/heatmap/minimal_repair?from=2026-11-01&to=2026-11-30")
    assert re.search(r'id="drawn">(\d+)<', whole.text).group(1) == "4"
    empty = auditor.get("/app/book/heatmap/minimal_repair?from=2025-01-01&to=2025-01-31")
    assert empty.status_code == 200 and re.search(r'id="drawn">(\d+)<', empty.text).group(1) == "0"


def test_a_heat_map_with_a_bad_date_is_a_400_page(cases):
    app, _ = cases
    auditor = sign_in(app, "qian")
    assert auditor.get("/app/book/heatmap/minimal_repair?from=2026-02-30").status_code == 400
    assert auditor.get("/app/book/heatmap/minimal_repair?from=2026-11-30&to=2026-11-01").status_code == 400
    assert auditor.get("/app/book/heatmap/no_such_process").status_code == 404
