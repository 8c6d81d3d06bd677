"""The BPMN diagram as bpmn-js draws it is readable: for each procedure, read from bpmn-js's
elementRegistry (shapes, waypoints) and from the drawn SVG (where each text really is), then check
that each task's, lane's and annotation's text stays inside it, no text covers another or a shape,
no two shapes sit on each other (a boundary event on its task excepted), each flow node is inside
its lane, and no flow runs through a task on its way. A screenshot of each, at the diagram's actual
size, is kept in out/bpmn-layout.
"""

from __future__ import annotations

import base64
from itertools import combinations, pairwise
from pathlib import Path

import pytest
from conftest import ROOT, SHIPPED
from drawing_support import TOLERANCE, Rect, inside, overlap
from test_book import DevTools, browser, png_size  # noqa: F401  (browser: the shared Chromium fixture)
from test_bpmn import EXAMPLES, documents, viewer  # noqa: F401  (documents and viewer: the fixtures the test uses)

SCREENSHOTS = ROOT / "out" / "bpmn-layout"
PROCEDURES = SHIPPED + EXAMPLES

GEOMETRY = """(() => {
  const registry = window.viewer.get('elementRegistry');
  const canvas = window.viewer.get('canvas');
  const box = canvas.viewbox();
  const origin = canvas.getContainer().getBoundingClientRect();
  // Where a drawn text really is, in diagram coordinates: the text as laid out, not the DI's label bounds.
  const drawn = (gfx) => {
    const rects = [...gfx.querySelectorAll('text')].map((t) => t.getBoundingClientRect()).filter((r) => r.width > 0);
    if (!rects.length) return null;
    const left = Math.min(...rects.map((r) => r.left)), top = Math.min(...rects.map((r) => r.top));
    const right = Math.max(...rects.map((r) => r.right)), bottom = Math.max(...rects.map((r) => r.bottom));
    const x = box.x + (left - origin.left) / box.scale, y = box.y + (top - origin.top) / box.scale;
    return [x, y, (right - left) / box.scale, (bottom - top) / box.scale];
  };
  const shapes = [], flows = [], labels = [];
  for (const element of registry.getAll()) {
    const bo = element.businessObject;
    if (!bo || bo.$type === 'bpmn:Collaboration') continue;
    if (element.type === 'label') {
      const text = drawn(registry.getGraphics(element));
      if (text) labels.push([element.labelTarget.id, text, false]);
    } else if (element.waypoints) {
      flows.push([bo.id, bo.$type, bo.sourceRef ? bo.sourceRef.id : null, bo.targetRef ? bo.targetRef.id : null,
                  element.waypoints.map((p) => [p.x, p.y])]);
    } else {
      const lanes = bo.$type === 'bpmn:Lane' ? (bo.flowNodeRef || []).map((n) => n.id) : [];
      shapes.push([bo.id, bo.$type, [element.x, element.y, element.width, element.height],
                   bo.attachedToRef ? bo.attachedToRef.id : null, lanes]);
      const text = drawn(registry.getGraphics(element));
      if (text) labels.push([bo.id, text, true]);
    }
  }
  return { shapes, flows, labels };
})()"""

FLOW_NODE_TYPES = (
    "Task",
    "UserTask",
    "CallActivity",
    "ExclusiveGateway",
    "StartEvent",
    "EndEvent",
    "BoundaryEvent",
)
TASK_TYPES = ("Task", "UserTask", "CallActivity")


def crosses(segment: tuple[tuple[float, float], tuple[float, float]], rect: Rect) -> bool:
    """Whether the segment passes through the inside of ``rect`` (Liang-Barsky clipping, shrunk by the tolerance)."""
    (x0, y0), (x1, y1) = segment
    left, top = rect[0] + TOLERANCE, rect[1] + TOLERANCE
    right, bottom = rect[0] + rect[2] - TOLERANCE, rect[1] + rect[3] - TOLERANCE
    dx, dy = x1 - x0, y1 - y0
    low, high = 0.0, 1.0
    for p, q in ((-dx, x0 - left), (dx, right - x0), (-dy, y0 - top), (dy, bottom - y0)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low > high:
            return False
    return high - low > 1e-9


def problems(geometry: dict[str, list[list[object]]]) -> dict[str, list[str]]:
    """Every readability problem in the drawing, by kind."""
    kinds = {str(s[0]): str(s[1]).removeprefix("bpmn:") for s in geometry["shapes"]}
    boxes: dict[str, Rect] = {str(s[0]): tuple(s[2]) for s in geometry["shapes"]}  # type: ignore[misc, arg-type]
    host = {str(s[0]): str(s[3]) for s in geometry["shapes"] if s[3]}
    nodes = [n for n in boxes if kinds[n] in FLOW_NODE_TYPES]
    labels: list[tuple[str, Rect]] = [(str(owner), tuple(rect)) for owner, rect, _ in geometry["labels"]]  # type: ignore[misc]
    inner = [(str(owner), tuple(rect)) for owner, rect, embedded in geometry["labels"] if embedded]
    found: dict[str, list[str]] = {
        "text outside its shape": [],
        "labels overlapping": [],
        "label on a shape": [],
        "shapes overlapping": [],
        "outside its lane": [],
        "flow through a task": [],
    }

    def related(a: str, b: str) -> bool:
        return a == b or host.get(a) == b or host.get(b) == a

    for owner, rect in inner:
        if not inside(rect, boxes[owner]):  # type: ignore[arg-type]
            found["text outside its shape"].append(f"{owner}: {rect} not inside {boxes[owner]}")
    for (first, a), (second, b) in combinations(labels, 2):
        if overlap(a, b):
            found["labels overlapping"].append(f"{first} / {second}")
    for owner, rect in labels:
        for node in nodes:
            if not related(owner, node) and overlap(rect, boxes[node]):
                found["label on a shape"].append(f"{owner}'s label on {node}")
    for first, second in combinations(nodes, 2):
        if not related(first, second) and overlap(boxes[first], boxes[second]):
            found["shapes overlapping"].append(f"{first} / {second}")
    lane_of = {
        node: str(s[0])
        for s in geometry["shapes"]
        if s[1] == "bpmn:Lane" and not any(kinds.get(str(n)) == "Lane" for n in s[4])  # type: ignore[union-attr]
        for node in s[4]  # type: ignore[union-attr]
    }
    for node, lane in lane_of.items():
        if not inside(boxes[node], boxes[lane]):
            found["outside its lane"].append(f"{node} outside {lane}")
    tasks = [n for n in nodes if kinds[n] in TASK_TYPES]
    for flow_id, flow_type, source, target, points in geometry["flows"]:
        if flow_type != "bpmn:SequenceFlow":
            continue
        ends = {str(source), str(target), host.get(str(source)), host.get(str(target))}
        for segment in pairwise(tuple(p) for p in points):  # type: ignore[attr-defined]
            for task in tasks:
                if task not in ends and crosses(segment, boxes[task]):  # type: ignore[arg-type]
                    found["flow through a task"].append(f"{flow_id} ({source} -> {target}) through {task}")
    return found


PADDING = 20
ACTUAL_SIZE = """(() => {
  const canvas = window.viewer.get('canvas');
  canvas.resized();
  const inner = canvas.viewbox().inner;
  canvas.viewbox({ x: inner.x - %(pad)d, y: inner.y - %(pad)d, width: window.innerWidth, height: window.innerHeight });
  return canvas.viewbox().scale;
})()"""


@pytest.mark.parametrize("path", PROCEDURES, ids=lambda p: p.stem)
def test_bpmn_js_draws_every_label_and_shape_clear_of_the_others(
    browser: DevTools,  # noqa: F811 (the fixture imported above)
    viewer: str,  # noqa: F811
    path: Path,
) -> None:
    """Drawn at its actual size (one diagram pixel a screen pixel), in a window as large as the diagram,
    so the texts are laid out as a reader sees them and the kept screenshot can be read."""
    try:
        assert browser.open(viewer) == []
        warnings = browser.evaluate(f"show({path.stem!r}).then((result) => result.warnings)", wait=True)
        size = browser.evaluate("(({ width, height }) => [width, height])(window.viewer.get('canvas').viewbox().inner)")
        assert isinstance(size, list)
        width, height = (int(value) + 2 * PADDING for value in size)
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            page=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        assert browser.evaluate(ACTUAL_SIZE % {"pad": PADDING}) == 1
        geometry = browser.evaluate(GEOMETRY)
        shot = base64.b64decode(browser.call("Page.captureScreenshot", page=True, format="png")["data"])  # type: ignore[arg-type]
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride", page=True)
    assert warnings == []
    assert isinstance(geometry, dict)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{path.stem}.png").write_bytes(shot)
    assert png_size(shot) == (width, height)
    found = problems(geometry)
    assert {kind: len(items) for kind, items in found.items()} == dict.fromkeys(found, 0), found
