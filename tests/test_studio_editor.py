"""The Studio's editor bundle (engine/web/static/studio.js) alone, in headless Chromium: it turns a
textarea into the editor, marks an unknown key, offers the schema's keys, and marks the problems a
server check returns at their lines. The screenshot is kept in out/screenshots/ to look at."""

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURE, ROOT
from test_book import DevTools, browser  # noqa: F401  (the module's Chromium, reused)

BUNDLE = ROOT / "engine" / "web" / "static" / "studio.js"
SCHEMA = ROOT / "schemas" / "process.schema.json"
SHOTS = ROOT / "out" / "screenshots"

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>studio editor</title>
<link rel="icon" href="data:,">
<style>body {{ font: 14px sans-serif; margin: 1em; }} .cm-editor {{ height: 30em; border: 1px solid #999; }}</style>
</head><body>
<textarea id="draft">{text}</textarea>
<textarea id="checked">{text}</textarea>
<script src="{bundle}"></script>
<script>
const schema = {schema};
window.editor = procflowStudio.mount(document.getElementById("draft"), {{schema}});
window.checks = [];
window.checkedEditor = procflowStudio.mount(document.getElementById("checked"), {{
  schema,
  check: async (text) => ({{problems: [{{line: 2, column: 1, end: {{line: 2, column: 3}}, severity: "error",
                                         code: "unknown-key", message: "from the server: " + text.length}}]}}),
  onChecked: (result) => window.checks.push(result),
}});
</script></body></html>"""


def until(condition: str) -> str:
    """A promise of ``condition``'s first truthy value, polled in the page (bounded, not a measure)."""
    return f"""new Promise((done, fail) => {{
      const start = Date.now();
      (function poll() {{
        const value = ({condition});
        if (value) done(value);
        else if (Date.now() - start > 30000) fail(new Error("never: " + {json.dumps(condition)}));
        else setTimeout(poll, 50);
      }})();
    }})"""


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not BUNDLE.is_file():
        pytest.fail("engine/web/static/studio.js is missing: cd tools/studio-editor && npm ci && npm run build")
    text = FIXTURE.read_text(encoding="utf-8").replace("&", "&amp;").replace("<", "&lt;")
    schema = SCHEMA.read_text(encoding="utf-8").replace("</", "<\\/")
    path = tmp_path_factory.mktemp("studio") / "editor.html"
    path.write_text(PAGE.format(text=text, bundle=BUNDLE.as_uri(), schema=schema), encoding="utf-8")
    return path


def type_at_end_of_line(devtools: DevTools, editor: str, line: int, text: str) -> None:
    devtools.evaluate(
        f"""(() => {{ const view = {editor}.view; const at = view.state.doc.line({line}).to;
        view.focus(); view.dispatch({{selection: {{anchor: at}}}}); return true; }})()"""
    )
    for character in text:  # as typed, one key at a time (completion opens on typing)
        devtools.call("Input.insertText", page=True, text=character)


def test_the_editor_mounts_on_the_textarea_and_keeps_it_in_sync(browser: DevTools, page: Path) -> None:  # noqa: F811
    assert browser.open(page.as_uri()) == []
    assert browser.evaluate("document.querySelectorAll('.cm-editor').length") == 2
    assert browser.evaluate("document.getElementById('draft').hidden") is True
    assert browser.evaluate("editor.getText() === document.getElementById('draft').value")
    assert browser.evaluate("document.querySelectorAll('.cm-editor .cm-line').length") > 50


def test_an_unknown_key_is_marked_from_the_schema(browser: DevTools, page: Path) -> None:  # noqa: F811
    assert browser.open(page.as_uri()) == []
    type_at_end_of_line(browser, "editor", 6, "\ncolour: red")
    assert "colour: red" in str(browser.evaluate("document.getElementById('draft').value"))
    assert browser.evaluate(
        until("document.querySelectorAll('#draft + .cm-editor .cm-lintRange-error').length"), wait=True
    )
    marked = browser.evaluate("document.querySelector('#draft + .cm-editor .cm-lintRange-error').textContent")
    assert marked and "colour" in str(marked)


def test_completion_offers_the_schemas_keys(browser: DevTools, page: Path) -> None:  # noqa: F811
    assert browser.open(page.as_uri()) == []
    type_at_end_of_line(browser, "editor", 6, "\ndes")
    options = browser.evaluate(
        until("[...document.querySelectorAll('.cm-tooltip-autocomplete li')].map(li => li.textContent).join('|')"),
        wait=True,
    )
    assert "description" in str(options)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = browser.call("Page.captureScreenshot", page=True, format="png")["data"]
    (SHOTS / "studio-editor-completion.png").write_bytes(base64.b64decode(str(shot)))


def test_the_servers_problems_are_marked_at_their_lines(browser: DevTools, page: Path) -> None:  # noqa: F811
    assert browser.open(page.as_uri()) == []
    type_at_end_of_line(browser, "checkedEditor", 3, "  ")
    assert browser.evaluate(until("window.checks.length"), wait=True)
    marked = browser.evaluate(
        until("document.querySelector('#checked + .cm-editor .cm-lintRange-error')?.textContent"), wait=True
    )
    line2 = browser.evaluate("checkedEditor.view.state.doc.line(2).text.slice(0, 2)")
    assert marked == line2
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.evaluate("document.querySelector('#checked + .cm-editor').scrollIntoView()")
    shot = browser.call("Page.captureScreenshot", page=True, format="png")["data"]
    (SHOTS / "studio-editor-server-problem.png").write_bytes(base64.b64decode(str(shot)))


def test_the_committed_bundle_is_built_from_the_sources_as_they_are(tmp_path: Path) -> None:
    tools = ROOT / "tools" / "studio-editor"
    if not (tools / "node_modules").is_dir() or shutil.which("node") is None:
        pytest.skip("cd tools/studio-editor && npm ci: the editor's build tools are not installed")
    out = tmp_path / "studio.js"
    built = subprocess.run(
        ["node", "build.mjs"], cwd=tools, env={**os.environ, "STUDIO_OUT": str(out)}, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    assert out.read_bytes() == BUNDLE.read_bytes(), "rebuild it: cd tools/studio-editor && npm run build"
