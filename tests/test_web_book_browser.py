"""The auditors' book in a real headless Chromium against `procflow serve`: a revision's page keeps its
own style under the page's policy (no violation reported), the heat map's chart loads as an image, and
the book's pages fit desktop and phone widths."""

from __future__ import annotations

import pytest
from test_book import browser  # noqa: F401  (the shared Chromium fixture)
from test_http_server import call
from test_web_browser import DESKTOP, PHONE, Person, server  # noqa: F401  (server: procflow serve)


@pytest.fixture(scope="module")
def case_id(server):  # noqa: F811
    base, tokens, _ = server
    status, _, case = call(
        base, "POST", "/procedures/return_repair/cases", {"Authorization": f"Bearer {tokens['wang']}"}, {}
    )
    assert status == 201
    return case["id"]


def test_a_revision_page_keeps_its_style_under_the_policy_and_the_heat_map_chart_loads(browser, server, case_id):  # noqa: F811
    base, _, _ = server
    auditor = Person(browser, base)
    auditor.sign_in("qian")
    auditor.open("/app/book?lang=en")  # `open` fails on any console error, CSP violations included
    auditor.click("a[href='/app/book/procedures/return_repair/1']")
    assert auditor.path() == "/app/book/procedures/return_repair/1"
    assert auditor.devtools.open(base + "/app/book/procedures/return_repair/1") == []
    assert "Noto Sans CJK SC" in str(auditor.js("getComputedStyle(document.body).fontFamily"))  # the book's CSS
    assert auditor.js("document.querySelector('figure.diagram svg') !== null")
    auditor.open("/app/book/cases?process=return_repair")
    assert case_id in auditor.text("main")
    auditor.click(f"a[href='/app/cases/{case_id}']")
    assert "/app/book/procedures/return_repair/1" in str(auditor.js("document.querySelector('p.audit a').href"))
    auditor.open("/app/book/heatmap/return_repair")
    assert auditor.js("document.querySelector('#heat-chart img').naturalWidth") > 0


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_book_pages_are_real_pictures_that_fit_the_width(browser, server, case_id, size):  # noqa: F811
    base, _, _ = server
    auditor = Person(browser, base)
    auditor.sign_in("qian")
    for name, path in (
        ("book", "/app/book"),
        ("book-cases", "/app/book/cases?process=return_repair"),
        ("book-heatmap", "/app/book/heatmap/return_repair"),
    ):
        auditor.open(path)
        picture = auditor.screenshot(name, size)
        assert picture["white"] < 0.99 and picture["colours"] > 10, name
        assert picture["scroll_width"] <= size[0], name
