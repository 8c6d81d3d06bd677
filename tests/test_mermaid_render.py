"""Each procedure's Mermaid chart as Mermaid itself draws it (the ``mermaid`` package, as code-hosting
sites use it, in headless Chromium, its dist file served from localhost: no CDN): it parses, every step
is a node, every lane's title is in full view (no node on it), and no two arrow texts are on each other.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path

import pytest
from conftest import ROOT, SHIPPED, missing_tool
from drawing_support import Rect, inside, overlap, served
from test_book import DevTools, browser, png_size  # noqa: F401  (browser: the shared Chromium fixture)

from engine.processes import load_process
from engine.render import render_mermaid

MERMAID = ROOT / "tests" / "mermaid" / "node_modules" / "mermaid" / "dist"
SCREENSHOTS = ROOT / "out" / "mermaid"
PADDING = 20

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<style>html, body { margin: 0; background: #fff; overflow: hidden; }
#chart { display: inline-block; padding: PADpx; }</style>
<script src="/mermaid/mermaid.min.js"></script>
</head><body><div id="chart"></div><script>
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', flowchart: { useMaxWidth: false } });
// The chart drawn, and where Mermaid put each node, each subgraph with its title, and each arrow's text.
window.draw = async (name) => {
  const text = await (await fetch('/files/' + name + '.mmd')).text();
  const chart = document.getElementById('chart');
  chart.innerHTML = '';
  try {
    await mermaid.parse(text);
    const { svg } = await mermaid.render('chart-' + name, text);
    chart.innerHTML = svg;
  } catch (error) {
    return { error: String(error && error.message || error) };
  }
  const box = (element) => {
    const r = element.getBoundingClientRect();
    return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height];
  };
  const root = chart.querySelector('svg');
  const nodes = [...root.querySelectorAll('g.node')].map((g) => [g.dataset.id || g.id, box(g), g.textContent]);
  const clusters = [...root.querySelectorAll('g.cluster')].map((g) => {
    const title = g.querySelector('.cluster-label');
    return [g.dataset.id || g.id, box(g.querySelector('rect')), title && box(title), title ? title.textContent : ''];
  });
  const labels = [...root.querySelectorAll('g.edgeLabel')].map((g) => [g.textContent, box(g)])
    .filter(([text, r]) => text.trim() && r[2] > 0 && r[3] > 0);
  const { width, height } = root.getBoundingClientRect();
  return { nodes, clusters, labels, size: [Math.ceil(width) + 2 * PAD, Math.ceil(height) + 2 * PAD] };
};
</script></body></html>
""".replace("PAD", str(PADDING))


@pytest.fixture(scope="module")
def charts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local web server for the page, Mermaid's own dist file and each procedure's chart: no CDN."""
    if not (MERMAID / "mermaid.min.js").is_file():
        missing_tool("mermaid", "make editor-tools: npm ci in tests/mermaid")
    site = tmp_path_factory.mktemp("mermaid-site")
    (site / "index.html").write_text(PAGE, encoding="utf-8")
    (site / "mermaid").symlink_to(MERMAID, target_is_directory=True)
    (site / "files").mkdir()
    for path in SHIPPED:
        (site / "files" / f"{path.stem}.mmd").write_text(render_mermaid(load_process(path)), encoding="utf-8")
    with served(site) as address:
        yield address


@pytest.fixture(scope="module")
def page(browser: DevTools, charts: str) -> DevTools:  # noqa: F811 (the fixture imported above)
    """The page, loaded once (Mermaid is a large script) for every procedure's chart."""
    assert browser.open(charts) == []
    return browser


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_mermaid_draws_every_step_with_each_lane_title_and_arrow_text_in_view(page: DevTools, path: Path) -> None:
    drawn = page.evaluate(f"draw({path.stem!r})", wait=True)
    assert isinstance(drawn, dict)
    assert "error" not in drawn, drawn.get("error")
    width, height = drawn["size"]
    page.call(
        "Emulation.setDeviceMetricsOverride", page=True, width=width, height=height, deviceScaleFactor=1, mobile=False
    )
    try:
        shot = base64.b64decode(page.call("Page.captureScreenshot", page=True, format="png")["data"])  # type: ignore[arg-type]
    finally:
        page.call("Emulation.clearDeviceMetricsOverride", page=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{path.stem}.png").write_bytes(shot)
    assert png_size(shot) == (width, height)

    process = load_process(path)
    nodes = {_node_id(str(node_id)): (_rect(rect), str(text)) for node_id, rect, text in drawn["nodes"]}
    for state in process.states.values():
        assert f"s_{state.id}" in nodes, f"step {state.id} is not drawn"
        rect, text = nodes[f"s_{state.id}"]
        assert rect[2] > 0 and rect[3] > 0, state.id
        assert state.label.zh.split("\n")[0] in text and state.label.en.split("\n")[0] in text, (state.id, text)

    titles = {}
    for cluster_id, rect, title, text in drawn["clusters"]:
        assert title is not None and str(text).strip(), f"{cluster_id} has no title"
        titles[_cluster_id(str(cluster_id), path.stem)] = (_rect(rect), _rect(title), str(text))
    assert {f"lane_{s.role}" for s in process.states.values() if s.role} <= set(titles)
    labels = [(str(text), _rect(rect)) for text, rect in drawn["labels"]]
    hidden = [
        f"{lane}'s title {text!r} reaches out of its box"
        for lane, (box, title, text) in titles.items()
        if not inside(title, box)
    ]
    for lane, (_, title, text) in titles.items():
        hidden += [
            f"{lane}'s title {text!r} is under {node}" for node, (rect, _) in nodes.items() if overlap(title, rect)
        ]
        hidden += [
            f"{lane}'s title {text!r} is under the arrow text {words!r}"
            for words, rect in labels
            if overlap(title, rect)
        ]
    assert hidden == []
    assert [f"{a!r} / {b!r}" for (a, ra), (b, rb) in combinations(labels, 2) if overlap(ra, rb)] == []


def _rect(value: object) -> Rect:
    assert isinstance(value, list) and len(value) == 4, value
    return float(value[0]), float(value[1]), float(value[2]), float(value[3])


def _node_id(drawn_id: str) -> str:
    """The chart's node id from the id Mermaid gives its element (``chart-NAME-flowchart-s_apply-12``)."""
    found = re.fullmatch(r".*?flowchart-(.+)-\d+", drawn_id)
    return found.group(1) if found else drawn_id


def _cluster_id(drawn_id: str, name: str) -> str:
    """The chart's subgraph id from the id Mermaid gives its element (``chart-NAME-lane_role``)."""
    return drawn_id.removeprefix(f"chart-{name}-")
