"""The pages in a real headless Chromium against `procflow serve`: people sign in, find the case in
their inbox, act on it through its forms, and the auditor reads its path; screenshots of the inbox,
the case page and the studio at desktop and phone widths are real pictures (kept with
PROCFLOW_SCREENSHOTS=folder, to look at)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from conftest import PROCESSES
from test_book import PICTURE_STATISTICS, DevTools, browser  # noqa: F401  (browser: the shared Chromium fixture)
from test_http_server import call, serving

from engine.http import auth

PASSWORD = "a long pass phrase for the test"
PEOPLE = {
    "wang": ["customer"],
    "li": ["cs_agent"],
    "chen": ["receiver"],
    "liu": ["engineer"],
    "zhou": ["supervisor"],
    "zhao": ["sales_manager"],
    "qian": ["auditor"],
}
DESKTOP, PHONE = (1280, 900), (390, 844)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    users = folder / "users.yaml"
    for name, roles in PEOPLE.items():
        auth.add_user(users, name, roles, PASSWORD)
    tokens = {"wang": auth.new_token(users, "wang")}
    store = f"sqlite:///{folder / 'store.db'}"
    with serving(folder, store, users, [PROCESSES / "return_repair.yaml"]) as (base, log):
        yield base, tokens, log


class Person:
    """One person at the browser: signs in, opens pages, fills and sends forms with the keyboard's text."""

    def __init__(self, devtools: DevTools, base: str):
        self.devtools = devtools
        self.base = base

    def open(self, path: str) -> None:
        assert self.devtools.open(self.base + path) == []

    def sign_in(self, name: str) -> None:
        self.devtools.call("Network.clearBrowserCookies", page=True)
        self.open("/app/login?lang=zh")
        self.type("#user", name)
        self.type("#password", PASSWORD)
        self.submit("#password")
        assert self.path() == "/app/inbox", self.text("main")

    def type(self, selector: str, text: str) -> None:
        self.js(f"document.querySelector({json.dumps(selector)}).focus()")
        self.js(f"document.querySelector({json.dumps(selector)}).value = ''")
        self.devtools.call("Input.insertText", page=True, text=text)

    def submit(self, selector: str) -> None:
        """Send the form the element is in, as pressing its submit button does, and wait for the page."""
        self.devtools.events.clear()
        self.js(f"document.querySelector({json.dumps(selector)}).form.requestSubmit()")
        self.devtools.wait_for("Page.loadEventFired")

    def click(self, selector: str) -> None:
        self.devtools.events.clear()
        self.js(f"document.querySelector({json.dumps(selector)}).click()")
        self.devtools.wait_for("Page.loadEventFired")

    def js(self, expression: str) -> object:
        return self.devtools.evaluate(f"({expression}) ?? null")

    def path(self) -> str:
        return str(self.js("location.pathname"))

    def text(self, selector: str) -> str:
        return str(self.js(f"document.querySelector({json.dumps(selector)})?.innerText ?? ''"))

    def screenshot(self, name: str, size: tuple[int, int]) -> dict[str, object]:
        width, height = size
        self.devtools.call(
            "Emulation.setDeviceMetricsOverride",
            page=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 600,
        )
        try:
            self.js("1")
            overflow = self.js("document.documentElement.scrollWidth")
            encoded = self.devtools.call("Page.captureScreenshot", page=True, format="png")["data"]
        finally:
            self.devtools.call("Emulation.clearDeviceMetricsOverride", page=True)
        assert isinstance(encoded, str)
        keep = os.environ.get("PROCFLOW_SCREENSHOTS")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            (Path(keep) / f"{name}-{width}.png").write_bytes(base64.b64decode(encoded))
        picture = self.devtools.evaluate(PICTURE_STATISTICS % encoded, wait=True)
        assert isinstance(picture, dict)
        return picture | {"scroll_width": overflow}


def test_an_agent_finds_a_new_case_in_the_inbox_and_opens_it(browser, server):  # noqa: F811
    base, tokens, _ = server
    customer = {"Authorization": f"Bearer {tokens['wang']}"}
    status, _, case = call(base, "POST", "/procedures/return_repair/cases", customer, {})
    assert status == 201
    person = Person(browser, base)
    person.sign_in("li")
    assert case["id"] in person.text("main")  # the agent may take the application down for the customer
    person.click(f"a[href='/app/cases/{case['id']}']")
    assert person.path() == f"/app/cases/{case['id']}"
    assert "提交维修申请" in person.text(".actions")


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_inbox_and_case_page_are_real_pictures_that_fit_the_width(browser, server, size):  # noqa: F811
    base, tokens, _ = server
    customer = {"Authorization": f"Bearer {tokens['wang']}"}
    _, _, case = call(base, "POST", "/procedures/return_repair/cases", customer, {})
    person = Person(browser, base)
    person.sign_in("li")
    for name, path in (("inbox", "/app/inbox"), ("case", f"/app/cases/{case['id']}")):
        person.open(path)
        picture = person.screenshot(name, size)
        assert (picture["width"], picture["height"]) == size
        assert picture["white"] < 0.97 and picture["colours"] > 20  # text and colour, not an empty page
        assert picture["scroll_width"] <= size[0], name  # nothing scrolls sideways but the chart
