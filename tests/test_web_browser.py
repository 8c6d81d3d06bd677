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

from benchmarks.workload import load_workload
from engine.http import auth

PASSWORD = "a long pass phrase for the test"
PEOPLE = {
    "wang": ["customer"],
    "li": ["cs_agent"],
    "chen": ["receiver"],
    "liu": ["engineer"],
    "sun": ["engineer"],
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
def test_the_inbox_case_page_and_studio_are_real_pictures_that_fit_the_width(browser, server, size):  # noqa: F811
    base, tokens, _ = server
    customer = {"Authorization": f"Bearer {tokens['wang']}"}
    _, _, case = call(base, "POST", "/procedures/return_repair/cases", customer, {})
    person = Person(browser, base)
    person.sign_in("li")
    for name, path in (
        ("inbox", "/app/inbox"),
        ("case", f"/app/cases/{case['id']}"),
        ("studio", "/app/studio/return_repair"),
    ):
        person.open(path)
        picture = person.screenshot(name, size)
        assert (picture["width"], picture["height"]) == size
        assert picture["white"] < 0.97 and picture["colours"] > 20  # text and colour, not an empty page
        assert picture["scroll_width"] <= size[0], name  # nothing scrolls sideways but the chart


def pointers(value: object, at: str = "") -> dict[str, object]:
    """A payload as the form's inputs name its leaves: JSON pointers."""
    if isinstance(value, dict):
        found: dict[str, object] = {}
        for key, inner in value.items():
            found |= pointers(inner, f"{at}/{key}")
        return found
    if isinstance(value, list) and value and isinstance(value[0], dict):
        found = {}
        for index, inner in enumerate(value):
            found |= pointers(inner, f"{at}/{index}")
        return found
    return {at: value}


FILL = """((form, name, value) => {
  const input = [...form.elements].find(e => e.name === name);
  if (!input) return false;
  if (input.type === 'checkbox') input.checked = Boolean(value);
  else if (input.type === 'datetime-local') input.value = String(value).slice(0, 19);
  else input.value = String(value);
  input.dispatchEvent(new Event('input', {bubbles: true}));
  return true;
})(%s, %s, %s)"""


def send(person: Person, case: str, trigger: str, payload: dict) -> None:
    """Open the case, fill the trigger's form as its payload says (asking for list rows as needed),
    confirm a sign-off with the password, send it, and see it done."""
    person.open(f"/app/cases/{case}")
    form = f"document.querySelector('form[action$=\"/events/{trigger}\"]')"
    assert person.js(f"!!{form}"), (trigger, person.text(".actions"))
    person.js(f"{form}.closest('details').open = true")  # as a click on the action's summary does
    for name, value in pointers(payload).items():
        while not person.js(FILL % (form, json.dumps(name), json.dumps(value))):
            listed = name.rsplit("/", 2)[0]
            assert person.js(f"!!{form}.querySelector('button[name=more_rows][value=\"{listed}\"]')"), name
            person.click(f"form[action$='/events/{trigger}'] button[name=more_rows][value='{listed}']")
    if person.js(f"!!{form}.querySelector('[name=signoff_password]')"):
        person.type(f"form[action$='/events/{trigger}'] [name=signoff_password]", PASSWORD)
    person.submit(f"form[action$='/events/{trigger}'] [name=csrf_token]")
    assert person.text(".done") == f"✓ {trigger}", person.text("main")[:2000]


def test_people_run_a_return_repair_case_from_application_to_follow_up_in_the_browser(browser, server):  # noqa: F811
    base, tokens, _ = server
    workload = load_workload()
    customer = {"Authorization": f"Bearer {tokens['wang']}"}
    status, _, case = call(base, "POST", "/procedures/return_repair/cases", customer, {})  # from the phone app
    assert status == 201
    person = Person(browser, base)
    first, *rest = workload.events
    # The agent takes the application down on the phone: finds the case in the inbox, leaves out the
    # fault, sees it refused at that field, and sends it complete.
    person.sign_in("li")
    person.click(f"a[href='/app/cases/{case['id']}']")
    form = "document.querySelector('form[action$=\"/events/submit\"]')"
    for name, value in pointers(dict(first.payload)).items():
        if name != "/fault_description":
            assert person.js(FILL % (form, json.dumps(name), json.dumps(value)))
    person.submit("form[action$='/events/submit'] [name=csrf_token]")
    assert person.js("document.querySelector('[name=\"/fault_description\"]').getAttribute('aria-invalid')") == "true"
    problem = person.text("[id$='fault_description-problems']")
    assert problem, person.text(".actions")
    assert person.js(f"{form}.querySelector('[name=\"/customer_name\"]').value") == "王先生"  # kept as typed
    send(person, case["id"], "submit", dict(first.payload))
    signed_in = "li"
    for event in rest:
        if event.actor.id != signed_in:
            person.sign_in(event.actor.id)
            signed_in = event.actor.id
            if event.trigger in ("diagnosed", "approve"):  # the engineer and the supervisor find it in their queue
                assert case["id"] in person.text("main")
        send(person, case["id"], event.trigger, dict(event.payload))
    status, _, finished = call(base, "GET", f"/cases/{case['id']}", customer)
    assert finished["state"]["id"] == workload.final_state and finished["finished"]
    # The auditor finds the case and sees its path on the chart.
    person.sign_in("qian")
    person.open(f"/app/book/cases?case={case['id']}")
    person.click(f"a[href='/app/cases/{case['id']}']")
    signatures = person.text("table.history")
    assert "zhou (supervisor)" in signatures and "wang (customer)" in signatures
    chart = person.devtools.evaluate(
        "fetch(document.querySelector('#case-chart img').src).then(r => r.text())", wait=True
    )
    assert isinstance(chart, str) and chart.count('stroke="#1565c0"') + chart.count('stroke="#1565C0"') >= 10
    assert person.js("document.querySelector('#case-chart img').naturalWidth") > 200
    person.screenshot("audited-case", DESKTOP)
