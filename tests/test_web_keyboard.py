"""The pages with the keyboard alone, in headless Chromium: sign in with Tab and Enter, reach a case
from the inbox with Tab and Enter, and see where the focus is."""

from __future__ import annotations

from test_book import DevTools, browser  # noqa: F401  (browser: the shared Chromium fixture)
from test_http_server import call
from test_studio_editor import until
from test_web_browser import PASSWORD, Person, server  # noqa: F401  (server: the module's procflow serve)

KEYS = {"Tab": 9, "Enter": 13}


def press(devtools: DevTools, key: str) -> None:
    code = KEYS[key]
    for kind in ("rawKeyDown", "keyUp"):
        devtools.call(
            "Input.dispatchKeyEvent",
            page=True,
            type=kind,
            key=key,
            code=key,
            windowsVirtualKeyCode=code,
            nativeVirtualKeyCode=code,
            **({"text": "\r"} if key == "Enter" and kind == "rawKeyDown" else {}),
        )
    if key == "Enter":
        devtools.call("Input.dispatchKeyEvent", page=True, type="char", key="Enter", text="\r")


def focused(person: Person) -> str:
    return str(person.js("document.activeElement.id || document.activeElement.getAttribute('href') || ''"))


def test_a_person_signs_in_and_opens_a_case_with_the_keyboard_only(browser, server):  # noqa: F811
    base, tokens, _ = server
    _, _, case = call(
        base, "POST", "/procedures/return_repair/cases", {"Authorization": f"Bearer {tokens['wang']}"}, {}
    )
    person = Person(browser, base)
    person.devtools.call("Network.clearBrowserCookies", page=True)
    person.open("/app/login?lang=en")
    # The name box has the focus from the start: Chromium gives `autofocus` the focus at its next
    # rendering step, which may come after the load event, so the focus is awaited once.
    assert person.devtools.evaluate(until("document.activeElement.id"), wait=True) == "user"
    person.devtools.call("Input.insertText", page=True, text="li")
    press(person.devtools, "Tab")
    assert focused(person) == "password"
    person.devtools.call("Input.insertText", page=True, text=PASSWORD)
    person.devtools.events.clear()
    press(person.devtools, "Enter")
    person.devtools.wait_for("Page.loadEventFired")
    assert person.path() == "/app/inbox"
    target = f"/app/cases/{case['id']}"
    for _ in range(80):  # Tab through the page until the case's link has the focus
        press(person.devtools, "Tab")
        if focused(person) == target:
            break
    assert focused(person) == target
    assert person.js("getComputedStyle(document.activeElement).outlineStyle") != "none"  # the focus is seen
    person.devtools.events.clear()
    press(person.devtools, "Enter")
    person.devtools.wait_for("Page.loadEventFired")
    assert person.path() == target
