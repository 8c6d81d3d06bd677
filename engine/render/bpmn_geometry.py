"""The geometry of the drawn diagram: positions read from ``dot -Tjson`` as BPMN DI coordinates, and
boxes and routes (where a line leaves a box, whether a piece of a route runs through one, a detour
round it, a point along a route).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from engine.errors import RenderError
from engine.render.bpmn_layout import POINTS_PER_INCH, Box

MARGIN = 20.0


class DotLayout:
    """Positions read from ``dot -Tjson``, turned into BPMN DI coordinates: pixels, y downwards."""

    def __init__(self, graph: Mapping[str, Any]) -> None:
        x0, _, _, y1 = (float(v) for v in str(graph["bb"]).split(","))
        self._x0, self._top = x0, y1
        self.bounds = self._bb(str(graph["bb"]))
        self.nodes: dict[str, Box] = {}
        self.clusters: dict[str, Box] = {}
        names: dict[int, str] = {}
        for obj in graph.get("objects", []):
            name = str(obj["name"])
            if "nodes" in obj or "bb" in obj:
                if "bb" in obj:
                    self.clusters[name] = self._bb(str(obj["bb"]))
                continue
            names[int(obj["_gvid"])] = name
            x, y = self._point(str(obj["pos"]))
            width = float(obj["width"]) * POINTS_PER_INCH
            height = float(obj["height"]) * POINTS_PER_INCH
            self.nodes[name] = Box(x - width / 2, y - height / 2, width, height)
        self.edges: dict[tuple[str, str], list[tuple[list[tuple[float, float]], tuple[float, float] | None]]] = {}
        for edge in sorted(graph.get("edges", []), key=lambda e: int(e["_gvid"])):
            key = (names[int(edge["tail"])], names[int(edge["head"])])
            label = self._point(str(edge["lp"])) if "lp" in edge else None
            self.edges.setdefault(key, []).append((self._route(str(edge.get("pos", ""))), label))

    def _point(self, text: str) -> tuple[float, float]:
        x, y = text.split(",")[:2]
        return float(x) - self._x0 + MARGIN, self._top - float(y) + MARGIN

    def _bb(self, text: str) -> Box:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
        left, top = self._point(f"{x0},{y1}")
        return Box(left, top, x1 - x0, y1 - y0)

    def _route(self, pos: str) -> list[tuple[float, float]]:
        """The waypoints of an edge's spline: each Bézier segment's ends and middle, then the arrow's tip."""
        end = None
        controls = []
        for token in pos.split(";")[0].split():
            if token.startswith("e,"):
                end = self._point(token[2:])
            elif not token.startswith("s,"):
                controls.append(self._point(token))
        # Each Bézier segment at its quarters, so the straight pieces between the waypoints keep to the curve,
        # which dot routes round the nodes, and cut no corner across a node; points in line are dropped.
        points = controls[:1]
        for i in range(0, len(controls) - 3, 3):
            p0, p1, p2, p3 = controls[i : i + 4]
            points.extend(_bezier(p0, p1, p2, p3, t) for t in (0.25, 0.5, 0.75))
            points.append(p3)
        if end is not None:
            points.append(end)
        rounded = [(round(x, 1), round(y, 1)) for x, y in points]
        return [
            p
            for i, p in enumerate(rounded)
            if i in (0, len(rounded) - 1) or not _in_line(rounded[i - 1], p, rounded[i + 1])
        ]

    def take_edge(self, source: str, dest: str) -> tuple[list[tuple[float, float]], tuple[float, float] | None]:
        """The next laid-out edge from ``source`` to ``dest``, in the order the DOT text wrote them."""
        routes = self.edges.get((source, dest))
        if not routes:
            raise RenderError(f"the layout has no edge {source} -> {dest}")
        return routes.pop(0)


def border_point(box: Box, toward: tuple[float, float]) -> tuple[float, float]:
    """Where the line from the centre of ``box`` to ``toward`` leaves the box."""
    cx, cy = box.center
    dx, dy = toward[0] - cx, toward[1] - cy
    if dx == 0 and dy == 0:
        return round(cx, 1), round(cy, 1)
    scale = min(box.width / 2 / abs(dx) if dx else float("inf"), box.height / 2 / abs(dy) if dy else float("inf"))
    return round(cx + dx * scale, 1), round(cy + dy * scale, 1)


def _in_line(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> bool:
    """Whether ``b`` lies (within half a pixel) on the straight line from ``a`` to ``c``."""
    length = math.hypot(c[0] - a[0], c[1] - a[1])
    if length == 0:
        return True
    return abs((c[0] - a[0]) * (a[1] - b[1]) - (a[0] - b[0]) * (c[1] - a[1])) / length < 0.5


def point_in(box: Box, point: tuple[float, float]) -> bool:
    return box.x <= point[0] <= box.x + box.width and box.y <= point[1] <= box.y + box.height


def _bezier(
    p0: tuple[float, float], p1: tuple[float, float], p2: tuple[float, float], p3: tuple[float, float], t: float
) -> tuple[float, float]:
    u = 1 - t
    return (
        u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
        u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
    )


def box_within(inner: Box, outer: Box) -> bool:
    return (
        inner.x >= outer.x
        and inner.y >= outer.y
        and inner.x + inner.width <= outer.x + outer.width
        and inner.y + inner.height <= outer.y + outer.height
    )


def boxes_overlap(a: Box, b: Box) -> bool:
    return min(a.x + a.width, b.x + b.width) > max(a.x, b.x) and min(a.y + a.height, b.y + b.height) > max(a.y, b.y)


def point_along(route: list[tuple[float, float]], fraction: float) -> tuple[float, float]:
    """The point ``fraction`` of the way along the route."""
    pieces = list(zip(route, route[1:], strict=False))
    lengths = [math.hypot(b[0] - a[0], b[1] - a[1]) for a, b in pieces]
    left = sum(lengths) * fraction
    for (a, b), length in zip(pieces, lengths, strict=True):
        if left <= length and length > 0:
            t = left / length
            return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t
        left -= length
    return route[-1]


def crosses(a: tuple[float, float], b: tuple[float, float], box: Box) -> bool:
    """Whether the straight piece from ``a`` to ``b`` runs through the inside of ``box`` (Liang-Barsky)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    low, high = 0.0, 1.0
    edges = (
        (-dx, a[0] - box.x - 1),
        (dx, box.x + box.width - 1 - a[0]),
        (-dy, a[1] - box.y - 1),
        (dy, box.y + box.height - 1 - a[1]),
    )
    for p, q in edges:
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


def detour_round(
    a: tuple[float, float], b: tuple[float, float], box: Box, obstacles: list[Box]
) -> list[tuple[float, float]] | None:
    """Two corners just outside ``box`` that take the piece from ``a`` to ``b`` round it, on the side that is
    shortest and crosses no obstacle; None when no side does."""
    gap = 12.0
    left, right = box.x - gap, box.x + box.width + gap
    top, bottom = box.y - gap, box.y + box.height + gap
    sides = [
        [(left, top), (left, bottom)],
        [(right, top), (right, bottom)],
        [(left, top), (right, top)],
        [(left, bottom), (right, bottom)],
    ]
    best: tuple[float, list[tuple[float, float]]] | None = None
    for corners in sides:
        near, far = sorted(corners, key=lambda c: (c[0] - a[0]) ** 2 + (c[1] - a[1]) ** 2)
        path = [a, near, far, b]
        if any(crosses(p, q, o) for p, q in zip(path, path[1:], strict=False) for o in obstacles):
            continue
        length = sum(math.hypot(q[0] - p[0], q[1] - p[1]) for p, q in zip(path, path[1:], strict=False))
        if best is None or length < best[0]:
            best = (length, [(round(near[0], 1), round(near[1], 1)), (round(far[0], 1), round(far[1], 1))])
    return best[1] if best is not None else None
