"""A chart printed on paper (A4 or A3, portrait or landscape) with its text at ``MIN_TEXT`` pt or more.

The chart is laid out once (Graphviz ``-Tdot``: the DOT text again with every position). A chart
that fits one sheet at a readable size is drawn on one sheet, never larger than its full size.
Otherwise it is cut into a grid of sheets read row by row, neighbours sharing ``OVERLAP`` pt, at the
largest scale that needs no more sheets; on each sheet every lane or department that runs onto it
with its title elsewhere gets its title again at the top-left of the part shown, and the sheet says
where it is in the grid. Each sheet is drawn by Graphviz from the same positions (``neato -n2`` with a
``viewport``), so the layout itself is the one every other format shows. A chart that would take
more than ``MAX_PAGES`` sheets is refused with the paper that would hold it on one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import RenderError
from engine.render.dot import FONT, Html, attributes, quote, title_node
from engine.render.graphviz_run import DEFAULT_TIMEOUT, LAID_OUT, layout
from engine.render.pdf_pages import combine

POINTS_PER_MM = 72 / 25.4
PAPERS: Mapping[str, tuple[float, float]] = {
    "A4": (210 * POINTS_PER_MM, 297 * POINTS_PER_MM),
    "A3": (297 * POINTS_PER_MM, 420 * POINTS_PER_MM),
}
"""Portrait width and height in points."""
_ISO_A = {"A4": (210, 297), "A3": (297, 420), "A2": (420, 594), "A1": (594, 841), "A0": (841, 1189)}
MIN_TEXT = 7.0
"""The smallest text on paper, in points: below it a printed chart cannot be read."""
MARGIN = 10 * POINTS_PER_MM
"""Blank on every side of a sheet, which office printers cannot print to the edge of."""
OVERLAP = 24.0
"""Points of the chart shown on both of two neighbouring sheets, to lay them edge to edge."""
MAX_PAGES = 48


@dataclass(frozen=True)
class Sheet:
    name: str
    landscape: bool
    width: float
    height: float

    @property
    def label(self) -> str:
        return f"{self.name} {'landscape' if self.landscape else 'portrait'}"


@dataclass(frozen=True)
class Box:
    left: float
    bottom: float
    right: float
    top: float

    def overlaps(self, other: Box) -> bool:
        across = self.left < other.right and other.left < self.right
        return across and self.bottom < other.top and other.bottom < self.top

    def holds(self, x: float, y: float) -> bool:
        return self.left <= x <= self.right and self.bottom <= y <= self.top


@dataclass(frozen=True)
class Plan:
    """How a chart goes on paper: the scale, the grid and each sheet's window on the chart (in its points)."""

    sheet: Sheet
    scale: float
    columns: int
    rows: int
    smallest_font: float
    """The chart's smallest text at full size, in points."""
    windows: tuple[Box, ...]
    """The sheets printed, row by row: a window on which nothing is drawn is left out."""
    places: tuple[tuple[int, int], ...]
    """Each printed sheet's row and column in the grid, from 1."""

    @property
    def smallest_printed(self) -> float:
        return round(self.smallest_font * self.scale, 2)


@dataclass(frozen=True)
class Cluster:
    name: str
    box: Box
    label_at: tuple[float, float] | None
    label: str
    fontsize: float
    width: float
    height: float
    """The label's size, in points."""


@dataclass(frozen=True)
class PaperChart:
    """A chart drawn for paper: the PDF and how it was cut."""

    pdf: bytes
    plan: Plan


def sheet(name: str, *, landscape: bool = False) -> Sheet:
    if name not in PAPERS:
        raise RenderError(f"paper {name!r} is not one procflow prints on: choose one of {', '.join(PAPERS)}")
    width, height = PAPERS[name]
    return Sheet(name, landscape, *((height, width) if landscape else (width, height)))


def paper_pdf(dot_text: str, paper: Sheet, *, title: str = "", timeout: float = DEFAULT_TIMEOUT) -> PaperChart:
    """``dot_text`` laid out once and drawn on as many sheets of ``paper`` as its text at 7 pt needs."""
    laid_out = layout(dot_text, LAID_OUT, timeout=timeout).decode("utf-8")
    read = json.loads(layout(laid_out, "json", timeout=timeout, laid_out=True))
    bounds = _box(read["bb"])
    found = plan(bounds, smallest_font(read), paper, drawn(read))
    clusters = _clusters(read)
    pages = []
    for number, window in enumerate(found.windows, start=1):
        extra = _page_marks(found, number, window, clusters, title)
        options = (
            "-Gmargin=%.4f" % (MARGIN / 72),
            "-Gpad=0",
            "-Gviewport={:.3f},{:.3f},{:.6f},{:.3f},{:.3f}".format(*_viewport(found, window)),
        )
        text = laid_out.rstrip().removesuffix("}") + "".join(extra) + "}\n"
        pages.append(layout(text, "pdf", timeout=timeout, laid_out=True, options=options))
    return PaperChart(combine(pages), found)


def plan(bounds: Box, smallest: float, paper: Sheet, marks: Sequence[Box] | None = None) -> Plan:
    """The scale and grid for a chart of ``bounds`` (points) whose smallest text is ``smallest`` pt;
    of the grid's sheets, those that one of ``marks`` (what is drawn) touches, all when not given."""
    width, height = bounds.right - bounds.left, bounds.top - bounds.bottom
    area_w, area_h = paper.width - 2 * MARGIN, paper.height - 2 * MARGIN
    needed = MIN_TEXT / smallest
    fit = min(area_w / width, area_h / height)
    if fit >= needed:
        scale, columns, rows = min(fit, 1.0), 1, 1
    else:
        step_w, step_h = area_w - OVERLAP, area_h - OVERLAP
        columns = max(1, math.ceil((width * needed - OVERLAP) / step_w))
        rows = max(1, math.ceil((height * needed - OVERLAP) / step_h))
        # as large as the same grid allows: bigger text for no more paper
        scale = min(1.0, (columns * step_w + OVERLAP) / width, (rows * step_h + OVERLAP) / height)
    if columns * rows > MAX_PAGES:
        raise RenderError(
            f"the chart would take {columns * rows} sheets of {paper.label} ({columns} × {rows}) with its text "
            f"at {MIN_TEXT:g} pt; {needs(width, height, smallest)}, or draw it as .svg"
        )
    window_w, window_h = area_w / scale, area_h / scale
    step_x, step_y = (area_w - OVERLAP) / scale, (area_h - OVERLAP) / scale
    covered_w = window_w + (columns - 1) * step_x
    covered_h = window_h + (rows - 1) * step_y
    left = bounds.left - (covered_w - width) / 2
    top = bounds.top + (covered_h - height) / 2
    grid = [
        (
            (row + 1, column + 1),
            Box(
                left + column * step_x,
                top - row * step_y - window_h,
                left + column * step_x + window_w,
                top - row * step_y,
            ),
        )
        for row in range(rows)
        for column in range(columns)
    ]
    kept = [(place, window) for place, window in grid if marks is None or any(m.overlaps(window) for m in marks)]
    return Plan(paper, scale, columns, rows, smallest, tuple(w for _, w in kept), tuple(place for place, _ in kept))


def drawn(read: Mapping[str, Any]) -> list[Box]:
    """Boxes around what Graphviz draws (``-Tjson``): clusters, nodes, each piece of each line, labels."""
    boxes: list[Box] = []

    def points(value: object) -> None:
        if isinstance(value, dict):
            found = value.get("points")
            if isinstance(found, list) and found:
                for (x0, y0), (x1, y1) in zip(found, found[1:] or found, strict=False):
                    boxes.append(Box(min(x0, x1) - 1, min(y0, y1) - 1, max(x0, x1) + 1, max(y0, y1) + 1))
            if value.get("op") in ("T",) and "pt" in value:
                x, y = value["pt"]
                width = float(value.get("width", 0))
                boxes.append(Box(x - width, y - 4, x + width, y + 8))
            for item in value.values():
                points(item)
        elif isinstance(value, list):
            for item in value:
                points(item)

    points({key: value for key, value in read.items() if key != "_draw_"})  # the root's: the white page
    return boxes


def needs(width: float, height: float, smallest: float) -> str:
    """Which paper holds a chart of this size on one sheet with its text at ``MIN_TEXT``."""
    scale = MIN_TEXT / smallest
    long_side, short_side = max(width, height) * scale + 2 * MARGIN, min(width, height) * scale + 2 * MARGIN
    for name, (short_mm, long_mm) in _ISO_A.items():
        if short_side <= short_mm * POINTS_PER_MM and long_side <= long_mm * POINTS_PER_MM:
            return f"it fits one sheet of {name}"
    return "it is larger than one sheet of A0"


def smallest_font(read: Mapping[str, Any]) -> float:
    """The smallest text size Graphviz draws in the chart (``F`` operations of its ``-Tjson``), in points."""
    sizes: list[float] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            if value.get("op") == "F":
                sizes.append(float(value["size"]))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(read)
    return min(sizes) if sizes else 14.0


def _viewport(found: Plan, window: Box) -> tuple[float, float, float, float, float]:
    area_w, area_h = found.sheet.width - 2 * MARGIN, found.sheet.height - 2 * MARGIN
    centre_x, centre_y = (window.left + window.right) / 2, (window.bottom + window.top) / 2
    return area_w, area_h, found.scale, centre_x, centre_y


def _box(text: str) -> Box:
    left, bottom, right, top = (float(v) for v in text.split(","))
    return Box(left, bottom, right, top)


def _clusters(read: Mapping[str, Any]) -> list[Cluster]:
    """The lanes and departments (``cluster_lane_*``, ``cluster_dept_*``) with where their titles are:
    the title's own node (``dot.title_node``), or the cluster's label when the DOT gives it one."""
    objects = read.get("objects", [])
    count = int(read.get("_subgraph_cnt", 0))
    nodes = {str(item.get("name", "")): item for item in objects[count:]}
    found = []
    for item in objects[:count]:
        name = str(item.get("name", ""))
        if not name.startswith(("cluster_lane_", "cluster_dept_")) or "bb" not in item:
            continue
        title = nodes.get(title_node(name) or "")
        if title is not None and "pos" in title:
            text, at, width, height = title, title["pos"], title.get("width", 1), title.get("height", 0.3)
        else:
            text, at, width, height = item, item.get("lp"), item.get("lwidth", 1), item.get("lheight", 0.3)
        label_at = tuple(float(v) for v in str(at).split(",")[:2]) if at else None
        found.append(
            Cluster(
                name,
                _box(item["bb"]),
                (label_at[0], label_at[1]) if label_at else None,
                str(text.get("label", "")),
                float(text.get("fontsize", 11)),
                float(width) * 72,
                float(height) * 72,
            )
        )
    return found


def _page_marks(found: Plan, number: int, window: Box, clusters: Sequence[Cluster], title: str) -> list[str]:
    """The nodes drawn on this sheet only: lane titles that are elsewhere, and where the sheet is."""
    inset = 6 / found.scale  # 6 pt on paper from the edge of the part shown
    lowest = MIN_TEXT / found.scale  # a text size that prints at MIN_TEXT or more
    lines: list[str] = []
    taken: list[Box] = []
    for index, cluster in enumerate(clusters):
        if not cluster.box.overlaps(window) or not cluster.label:
            continue
        if cluster.label_at is not None and window.holds(*cluster.label_at):
            continue
        width, height = cluster.width + 12, cluster.height + 6
        left = max(window.left, cluster.box.left) + inset
        top = min(window.top, cluster.box.top) - inset
        for other in taken:  # a department and its lane both cut: stack their titles
            if Box(left, top - height, left + width, top).overlaps(other):
                top = other.bottom - 2
        placed = Box(left, top - height, left + width, top)
        taken.append(placed)
        attrs = {
            "shape": "box",
            "style": "filled,dashed",
            "fillcolor": "#F5F7FAE6",
            "color": "#90A4AE",
            "fontname": FONT,
            "fontcolor": "#455A64",
            "fontsize": f"{max(cluster.fontsize, lowest):.2f}",
            "width": "%.3f" % (width / 72),
            "height": "%.3f" % (height / 72),
            "fixedsize": "true",
            "pos": f"{left + width / 2:.2f},{top - height / 2:.2f}!",
            "label": Html(cluster.label),  # Graphviz's own copy of the lane's title, escaped as it was
        }
        lines.append(f"  {quote(f'_sheet_lane_{index}')} {attributes(attrs)};\n")
    where = f"{title} · {number} / {len(found.windows)}"
    if found.columns * found.rows > 1:
        row, column = found.places[number - 1]
        where += f" · row {row} of {found.rows}, column {column} of {found.columns}"
    size = max(9.0, lowest)
    mark_w, mark_h = sum(size if ord(ch) > 0x2E80 else size * 0.62 for ch in where) + 8, size * 1.6
    mark = {
        "shape": "plaintext",
        "style": "filled",
        "fillcolor": "#FFFFFFE6",
        "fontname": FONT,
        "fontcolor": "#5B6472",
        "fontsize": f"{size:.2f}",
        "label": where,
        "width": "%.3f" % (mark_w / 72),
        "height": "%.3f" % (mark_h / 72),
        "fixedsize": "true",
        "pos": f"{window.right - inset - mark_w / 2:.2f},{window.bottom + inset + mark_h / 2:.2f}!",
    }
    lines.append(f"  {quote('_sheet_mark')} {attributes(mark)};\n")
    return lines
