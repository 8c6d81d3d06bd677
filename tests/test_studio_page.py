"""The Studio page (engine/web/templates/studio.html with static/studio-page.js) in headless Chromium,
against the real JSON routes served on a local port: the draft's chart appears, an unknown key is
listed and marked, the diff is drawn, and publishing makes revision 2. The page layout (base.html,
sessions) is the lead's: here a stub base.html, and the session is a bearer header the test adds."""

import base64
import json
import threading
import time
from pathlib import Path

import jinja2
import pytest
import uvicorn
from conftest import FIXTURE, ROOT
from http_support import make_users
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from test_book import DevTools, browser  # noqa: F401  (the module's Chromium, reused)
from test_studio_editor import SHOTS, until

from engine.http import Authenticator, auth, create_app
from engine.model import thaw_json
from engine.schema import process_schema
from engine.service import Workflows

WEB = ROOT / "engine" / "web"
BASE = """<!doctype html><html><head><meta charset="utf-8"><title>{% block title %}{% endblock %}</title>
<link rel="icon" href="data:,">
<style>body { font: 14px sans-serif; margin: 1em; } .cm-editor { height: 24em; border: 1px solid #999; }
.studio-chart img { max-width: 100%; }</style></head><body>{% block main %}{% endblock %}</body></html>"""
TEXT = FIXTURE.read_text(encoding="utf-8")


def render(**context: object) -> str:
    loader = jinja2.ChoiceLoader(
        [jinja2.DictLoader({"base.html": BASE}), jinja2.FileSystemLoader(str(WEB / "templates"))]
    )
    environment = jinja2.Environment(loader=loader, autoescape=True)
    defaults = {"csrf_token": "token-1", "t": lambda key: key, "static_url": "/static", "schema": {}}
    return environment.get_template("studio.html").render(defaults | context)


def test_the_template_escapes_the_draft_and_offers_publishing_to_publishers_only():
    page = render(process_id="minimal_repair", draft="title: </textarea><script>x</script>", can_publish=False)
    assert "&lt;/textarea&gt;&lt;script&gt;" in page and "<script>x" not in page
    assert 'id="studio-diff-button"' in page and 'id="studio-publish-button"' not in page
    assert 'id="studio-publish-button"' in render(process_id="minimal_repair", draft="", can_publish=True)
    assert 'data-csrf="token-1"' in page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """The JSON API and the page on a local port; every request signed in as `pat`, a publisher."""
    users = make_users(tmp_path_factory.mktemp("users"))
    auth.add_user(users.path, "pat", ["publisher", "supervisor"], None)
    token = auth.new_token(users.path, "pat")
    workflows = Workflows("memory:")
    workflows.register(FIXTURE)
    api = create_app(workflows, Authenticator(users.path))
    schema = thaw_json(process_schema())
    page = render(process_id="minimal_repair", draft=TEXT, can_publish=True, schema=schema)

    async def studio_page(request):
        return HTMLResponse(page)

    pages = Starlette(
        routes=[
            Route("/studio-page", studio_page),
            Mount("/static", StaticFiles(directory=str(WEB / "static"))),
            Mount("/", api),
        ]
    )

    async def signed_in(scope, receive, send):  # stands in for the lead's session
        if scope["type"] == "http":
            scope = dict(scope, headers=[*scope["headers"], (b"authorization", f"Bearer {token}".encode())])
        await pages(scope, receive, send)

    server = uvicorn.Server(uvicorn.Config(signed_in, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(600):  # a safety bound on start-up, not a measure
        if server.started:
            break
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", workflows
    server.should_exit = True
    thread.join(timeout=30)
    workflows.close()


def test_the_page_checks_draws_diffs_and_publishes(browser: DevTools, site) -> None:  # noqa: F811
    base, workflows = site
    assert browser.open(f"{base}/studio-page") == []
    # the first check draws the chart from the server's SVG, shown as an image
    assert browser.evaluate(until("document.querySelector('#studio-chart img')?.complete"), wait=True)
    assert browser.evaluate("document.querySelector('#studio-chart img').naturalWidth") > 100
    assert browser.evaluate("document.querySelectorAll('#studio-chart svg').length") == 0
    # an unknown key: listed with its place, and marked in the editor
    browser.evaluate(
        "(() => { const view = procflowStudioPage.editor.view; const at = view.state.doc.line(6).to;"
        " view.dispatch({changes: {from: at, insert: '\\ncolour: red'}}); return true; })()"
    )
    listed = browser.evaluate(until("document.querySelector('#studio-problems li')?.textContent"), wait=True)
    assert str(listed).startswith("7:1 error: unknown key `colour`")
    assert browser.evaluate(until("!!document.querySelector('.cm-lintRange-error')"), wait=True)
    shot(browser, "studio-page-problem.png")
    # a valid rename: the diff lists and draws it
    renamed = TEXT.replace("check_warranty", "warranty_check")
    browser.evaluate(f"procflowStudioPage.editor.setText({json.dumps(renamed)}) || true")
    browser.evaluate(until("document.getElementById('studio-status').textContent === 'studio.valid'"), wait=True)
    browser.evaluate("document.getElementById('studio-diff-button').click() || true")
    words = browser.evaluate(until("document.querySelector('#studio-changes li')?.textContent"), wait=True)
    assert "warranty_check" in str(words)
    assert browser.evaluate(until("document.querySelector('#studio-diff img')?.complete"), wait=True)
    # publishing (confirmed) makes revision 2 and shows the plan
    browser.evaluate("window.confirm = () => true")
    browser.evaluate("document.getElementById('studio-publish-button').click() || true")
    plan = browser.evaluate(until("document.querySelector('#studio-published pre')?.textContent"), wait=True)
    assert "check_warranty: warranty_check" in str(plan)
    assert workflows.latest("minimal_repair").revision == 2
    shot(browser, "studio-page-published.png")


def shot(devtools: DevTools, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    metrics = devtools.call("Page.getLayoutMetrics", page=True)["cssContentSize"]
    data = devtools.call(
        "Page.captureScreenshot",
        page=True,
        format="png",
        captureBeyondViewport=True,
        clip={"x": 0, "y": 0, "width": metrics["width"], "height": min(metrics["height"], 4000), "scale": 1},  # type: ignore[index]
    )["data"]
    path = SHOTS / name
    path.write_bytes(base64.b64decode(str(data)))
    return path
