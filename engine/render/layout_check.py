"""Reading a laid-out chart (Graphviz ``-Tjson``) for what makes it hard to read.

Two counts, from the positions dot chose:

- ``label_overlaps``: pairs of text boxes that cover each other: an edge label with another edge label,
  with a step's box, or with a lane's (or department's) title;
- ``arrow_crossings``: arrows whose drawn spline runs through the text of a step, of an edge label it
  does not carry, or of a lane title.

Text boxes come from the ``_ldraw_`` text operations (baseline point, alignment, width, font size);
boxes are shrunk by ``TOLERANCE`` points on each side so boxes that merely touch do not count. The
dotted links of a clock to the steps it times are brackets, not arrows, and are left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TOLERANCE = 1.0
"""Points by which every box is shrunk before boxes are compared."""
SAMPLES = 16
"""Points sampled along each cubic Bézier segment of an arrow."""


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float
    name: str

    def shrunk(self, by: float) -> Box:
        return Box(self.x0 + by, self.y0 + by, self.x1 - by, self.y1 - by, self.name)

    def meets(self, other: Box) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def holds(self, x: float, y: float) -> bool:
        return self.x0 < x < self.x1 and self.y0 < y < self.y1


@dataclass(frozen=True)
class Arrow:
    name: str
    points: tuple[tuple[float, float], ...]
    """Points sampled along the drawn spline."""
    carries: str | None
    """The name of the label node this arrow enters or leaves (its own text), if any."""
    tail: str
    head: str
    """The names of the nodes it joins, as dot has them (what ``graphviz_run`` routes again by)."""


@dataclass(frozen=True)
class Layout:
    """The boxes and arrows of one laid-out chart."""

    edge_labels: tuple[Box, ...]
    nodes: tuple[Box, ...]
    """Steps' outlines (edge-label nodes are among ``edge_labels``)."""
    node_texts: tuple[Box, ...]
    titles: tuple[Box, ...]
    """Lane and department titles."""
    arrows: tuple[Arrow, ...]


@dataclass(frozen=True)
class Findings:
    label_overlaps: tuple[tuple[str, str], ...]
    arrow_crossings: tuple[tuple[str, str], ...]

    @property
    def total(self) -> int:
        return len(self.label_overlaps) + len(self.arrow_crossings)


TITLE_NODE_PREFIX = "_title_"
"""Names of the nodes that carry a lane's or a department's title (see ``dot.py``)."""
LABEL_NODE_PREFIX = "_label_"
"""Names of the small nodes that carry an arrow's text in the middle of the arrow (see ``dot.py``)."""


def read(json_text: str | bytes) -> Layout:
    graph = json.loads(json_text)
    names: dict[int, str] = {}
    edge_labels: list[Box] = []
    nodes: list[Box] = []
    node_texts: list[Box] = []
    titles: list[Box] = []
    for obj in graph.get("objects", []):
        name = str(obj.get("name", ""))
        if "nodes" in obj or "bb" in obj:  # a cluster (or the graph itself: its caption is not a lane)
            if name.startswith("cluster_") and name != "cluster_legend":
                titles.extend(_text_box(_ops(obj.get("_ldraw_")), "title:" + name))
            continue
        names[int(obj["_gvid"])] = name
        text = _text_box(_ops(obj.get("_ldraw_")), name)
        if name.startswith(LABEL_NODE_PREFIX):
            edge_labels.extend(text)
            continue
        if name.startswith(TITLE_NODE_PREFIX):
            titles.extend(Box(b.x0, b.y0, b.x1, b.y1, "title:" + name) for b in text)
            continue
        x, y = (float(v) for v in str(obj["pos"]).split(",")[:2])
        half_w, half_h = float(obj["width"]) * 36, float(obj["height"]) * 36
        nodes.append(Box(x - half_w, y - half_h, x + half_w, y + half_h, name))
        node_texts.extend(text)
    arrows = []
    for edge in graph.get("edges", []):
        tail, head = names[int(edge["tail"])], names[int(edge["head"])]
        label = f"{tail}->{head}"
        edge_labels.extend(_text_box(_ops(edge.get("_ldraw_")), "label:" + label))
        if tail.startswith(("clock_", "_legend", TITLE_NODE_PREFIX)):
            continue
        carries = next((n for n in (tail, head) if n.startswith(LABEL_NODE_PREFIX)), None)
        points = tuple(_spline_points(_ops(edge.get("_draw_"))))
        arrows.append(Arrow(label, points, carries, tail, head))
    return Layout(tuple(edge_labels), tuple(nodes), tuple(node_texts), tuple(titles), tuple(arrows))


def check(layout: Layout) -> Findings:
    labels = [b.shrunk(TOLERANCE) for b in layout.edge_labels]
    others = [b.shrunk(TOLERANCE) for b in (*layout.nodes, *layout.titles)]
    overlaps = []
    for i, first in enumerate(labels):
        for second in labels[i + 1 :]:
            if first.name != second.name and first.meets(second):
                overlaps.append((first.name, second.name))
        overlaps.extend((first.name, other.name) for other in others if first.meets(other))
    crossings = tuple((arrow.name, box.name) for arrow, box in _crossings(layout))
    return Findings(tuple(overlaps), crossings)


def arrows_through_nodes(layout: Layout) -> frozenset[tuple[str, str]]:
    """The (tail, head) of each arrow that runs through the text of a node: a step, an arrow's text
    or a title drawn as a node. Routed again round the nodes, such an arrow misses them; a title
    that is a cluster's own label is no node, and no router knows to go round it."""
    cluster_title = "title:cluster_"
    return frozenset((a.tail, a.head) for a, box in _crossings(layout) if not box.name.startswith(cluster_title))


def _crossings(layout: Layout) -> Iterable[tuple[Arrow, Box]]:
    texts = [b.shrunk(TOLERANCE) for b in (*layout.node_texts, *layout.titles)]
    texts += [b.shrunk(TOLERANCE) for b in layout.edge_labels if b.name.startswith(LABEL_NODE_PREFIX)]
    for arrow in layout.arrows:
        if not arrow.points:
            continue
        xs, ys = [x for x, _ in arrow.points], [y for _, y in arrow.points]
        reach = Box(min(xs), min(ys), max(xs), max(ys), arrow.name)
        for box in texts:
            # A point strictly inside a box puts the arrow's extent over it: the cheap test goes first.
            if box.name != arrow.carries and box.meets(reach) and any(box.holds(x, y) for x, y in arrow.points):
                yield arrow, box


def _ops(value: Any) -> list[Mapping[str, Any]]:
    # Graphviz 2.43 writes some draw-op lists as Python-like strings: read them with quotes fixed.
    if isinstance(value, str):
        return list(json.loads(value.replace("'", '"')))
    return list(value or [])


def _text_box(ops: Iterable[Mapping[str, Any]], name: str) -> list[Box]:
    """One box round all the text lines of one label (empty when it has none)."""
    size = 14.0
    x0 = y0 = float("inf")
    x1 = y1 = float("-inf")
    for op in ops:
        if op.get("op") == "F":
            size = float(op["size"])
        elif op.get("op") == "T" and str(op.get("text", "")).strip():
            x, y = (float(v) for v in op["pt"])
            width = float(op["width"])
            left = {"l": x, "r": x - width}.get(str(op.get("align")), x - width / 2)
            x0, x1 = min(x0, left), max(x1, left + width)
            y0, y1 = min(y0, y - size * 0.25), max(y1, y + size * 0.8)
    return [Box(x0, y0, x1, y1, name)] if x0 < x1 else []


def _spline_points(ops: Iterable[Mapping[str, Any]]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for op in ops:
        if op.get("op") in ("b", "B"):
            controls = [(float(x), float(y)) for x, y in op["points"]]
            for start in range(0, len(controls) - 3, 3):
                points.extend(_bezier(controls[start : start + 4]))
    return points


def _bezier(c: Sequence[tuple[float, float]]) -> Iterable[tuple[float, float]]:
    for step in range(SAMPLES + 1):
        t = step / SAMPLES
        u = 1 - t
        a, b, cc, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        yield (
            a * c[0][0] + b * c[1][0] + cc * c[2][0] + d * c[3][0],
            a * c[0][1] + b * c[1][1] + cc * c[2][1] + d * c[3][1],
        )


def arrows(graph: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """The chart's arrows as the reader sees them, from parsed ``-Tjson``/``-Tjson0`` output: the two
    halves of an arrow through a label node joined into one (tail, head, attributes) with the label's
    text and tooltip, in the order dot holds them; the invisible edges placing lane titles left out."""
    objects = graph["objects"]
    label_nodes = {o["_gvid"]: o for o in objects if str(o.get("name", "")).startswith(LABEL_NODE_PREFIX)}
    into = {e["head"]: e for e in graph.get("edges", []) if e["head"] in label_nodes}
    found = []
    for edge in graph.get("edges", []):
        if edge["head"] in label_nodes or str(objects[edge["tail"]]["name"]).startswith(TITLE_NODE_PREFIX):
            continue  # a first half (joined below), or the invisible edge that places a title
        attrs = dict(edge)
        tail = edge["tail"]
        if tail in label_nodes:
            first = into[tail]
            attrs.update(label=label_nodes[tail]["label"], tooltip=label_nodes[tail].get("tooltip", ""))
            tail = first["tail"]
        found.append((str(objects[tail]["name"]), str(objects[edge["head"]]["name"]), attrs))
    return found
