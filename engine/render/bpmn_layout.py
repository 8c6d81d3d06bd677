"""The room each part of a BPMN diagram takes as a BPMN viewer draws it, and the DOT text that gives it
that room, so Graphviz lays the diagram out with every name clear of the others.

A viewer (bpmn-js, and the modelers built on it) draws a task's name inside it, wrapped to its width
in 12 px Arial; the name of an event, a gateway or a flow outside it, in 11 px, in the label box the
file gives. The chart's own DOT text sizes nodes and arrow texts for the chart's longer texts (records,
parts, guards), not for these: here each layout node is a box of fixed size holding the shape and
what is written below it (a gateway's or event's name; under a task, the events on its border and
their names), each flow's name a fixed-size box dot places beside the flow, each lane's title a band
at its top. Text is measured with Arial's advance widths (Liberation Sans, what a browser draws for
Arial on Linux, has the same), a CJK character a full em, and wrapped as bpmn-js wraps it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.render.diagram import Diagram
from engine.render.dot import attributes, quote

TEXT_SIZE = 12.0
"""bpmn-js's font size inside a shape (a task's name, a lane's title, an annotation)."""
LABEL_SIZE = 11.0
"""bpmn-js's font size outside a shape (an event's, a gateway's or a flow's name)."""
LINE_HEIGHT = 1.2
_ARIAL = (
    "278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556 556 556 556 556 556 "
    "278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 500 667 556 833 722 778 667 778 722 667 "
    "611 722 667 944 667 667 611 278 278 278 469 556 333 556 556 500 556 556 278 556 556 222 222 500 222 833 "
    "556 556 556 556 333 500 278 556 500 722 500 500 500 334 260 334 584"
)
_ASCII_WIDTHS = {chr(32 + index): int(width) for index, width in enumerate(_ARIAL.split())}
"""Arial's advance widths of the printable ASCII characters, in thousandths of an em."""
_OTHER_WIDTH = 600
"""Any other narrow character (accented letters, symbols): a little more than Arial's average."""
_SLACK = 1.05
"""Measured text is taken this much wider than computed, for the fonts a browser may use instead."""
POINTS_PER_INCH = 72.0


def text_width(text: str, size: float) -> float:
    """How wide ``text`` is drawn in ``size`` px Arial (CJK in a CJK font, a full em each)."""
    total = 0
    for ch in text:
        if ch in _ASCII_WIDTHS:
            total += _ASCII_WIDTHS[ch]
        elif unicodedata.east_asian_width(ch) in ("W", "F"):
            total += 1000
        elif unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        else:
            total += _OTHER_WIDTH
    return total * size / 1000 * _SLACK


def text_lines(text: str, size: float, max_width: float) -> list[str]:
    """``text`` broken into lines as diagram-js breaks a label to fit ``max_width``: at its newlines,
    then each line at a space or hyphen where one fits, else cut where the width runs out."""
    pending = re.split(r"\u00ad?\r?\n", text)
    lines = []
    while pending:
        original = pending.pop(0)
        fit = original
        while True:
            width = text_width(fit.rstrip(), size) if fit else 0.0
            if fit in ("", " ") or width <= max_width or len(fit) < 2:
                break
            fit = _shorten(fit, width, max_width)
        if len(fit) < len(original):
            pending.insert(0, original[len(fit) :].strip())
        lines.append(fit)
    return lines


def _shorten(line: str, width: float, max_width: float) -> str:
    length = max(len(line) * (max_width / width), 1.0)
    kept: list[str] = []
    count = 0
    parts = re.split(r"(\s|-|\u00ad)", line)
    if len(parts) > 1:
        for part in parts:
            if not part:
                break
            if len(part) + count < length:
                kept.append(part)
                count += len(part)
                continue
            if part in ("-", "\u00ad") and kept:
                kept.pop()
            break
    if kept and kept[-1] == "\u00ad":
        kept[-1] = "-"
    return "".join(kept) or line[: max(math.floor(length - 1 + 0.5), 1)]


def text_box(text: str, size: float, max_width: float) -> tuple[float, float]:
    """The width and height ``text`` takes, wrapped to ``max_width``."""
    lines = text_lines(text, size, max_width) if text else []
    width = max((text_width(line.rstrip(), size) for line in lines), default=0.0)
    return min(width, max_width), len(lines) * size * LINE_HEIGHT


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2


@dataclass(frozen=True)
class Room:
    """The layout node of one flow node: ``width`` × ``height``, the shape at the top in the middle
    (``shape_width`` × ``shape_height``), or, for an event or gateway, in the centre."""

    width: float
    height: float
    shape_width: float
    shape_height: float
    centred: bool
    label_width: float = 0.0
    label_height: float = 0.0
    """The name below an event or gateway (none: 0)."""

    def shape(self, node: Box) -> Box:
        """Where the shape is drawn in the node Graphviz placed."""
        x = node.x + (node.width - self.shape_width) / 2
        y = node.y + (node.height - self.shape_height) / 2 if self.centred else node.y
        return Box(x, y, self.shape_width, self.shape_height)


def layout_dot(
    diagram: Diagram,
    rooms: Mapping[str, Room],
    flow_labels: Sequence[tuple[float, float] | None],
    titles: Mapping[str, tuple[float, float]],
) -> str:
    """DOT text of the diagram's lanes, nodes and flows, each node of its ``rooms`` size, each flow (by
    its index in ``diagram.edges``) with a label box of the size given (None: no label), and each
    cluster (``cluster_lane_ROLE``, ``cluster_dept_DEPARTMENT``, and ``graph`` for the pool) with a
    title band of the size in ``titles``."""
    lines = [f"digraph {quote(diagram.id)} {{"]
    graph = {"rankdir": "TB", "newrank": "true", "nodesep": "0.35", "ranksep": "0.45", "labelloc": "t"}
    lines.append(f"  graph {attributes(graph)[:-1]}, label=<{_cell(*titles['graph'])}>];")
    lines.append('  node [shape="box", fixedsize="true", label=""];')
    by_lane: dict[str | None, list[str]] = {}
    for node in diagram.nodes:
        room = rooms[node.id]
        size = {"width": _inches(room.width), "height": _inches(room.height)}
        by_lane.setdefault(node.lane, []).append(f"{quote(node.id)} {attributes(size)};")
    for group in diagram.groups:
        lines.extend(_cluster(f"cluster_dept_{group.id}", titles, "10", "  "))
        for lane in (lane for lane in diagram.lanes if lane.group == group.id):
            lines.extend(_cluster(f"cluster_lane_{lane.id}", titles, "8", "    "))
            lines.extend(f"      {node}" for node in by_lane.get(lane.id, []))
            lines.append("    }")
        lines.append("  }")
    for lane in (lane for lane in diagram.lanes if lane.group is None):
        lines.extend(_cluster(f"cluster_lane_{lane.id}", titles, "8", "  "))
        lines.extend(f"    {node}" for node in by_lane.get(lane.id, []))
        lines.append("  }")
    lines.extend(f"  {node}" for node in by_lane.get(None, []))
    for edge, label in zip(diagram.edges, flow_labels, strict=True):
        text = f" [label=<{_cell(*label)}>]" if label is not None else ""
        lines.append(f"  {quote(edge.source)} -> {quote(edge.dest)}{text};")
    for band in diagram.clocks:
        note = f"clock_{band.id}"
        room = rooms[note]
        lines.append(f"  {quote(note)} {attributes({'width': _inches(room.width), 'height': _inches(room.height)})};")
        lines.extend(f'  {quote(note)} -> {quote(state)} [constraint="false"];' for state in band.covers)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _cluster(name: str, titles: Mapping[str, tuple[float, float]], margin: str, indent: str) -> list[str]:
    return [
        f"{indent}subgraph {quote(name)} {{",
        f'{indent}  graph [margin="{margin}", label=<{_cell(*titles[name])}>];',
    ]


def _cell(width: float, height: float) -> str:
    """An empty HTML-like label of exactly ``width`` × ``height`` points: the room dot keeps for a text."""
    size = f'WIDTH="{math.ceil(width)}" HEIGHT="{math.ceil(height)}"'
    return f'<TABLE BORDER="0" CELLPADDING="0" CELLSPACING="0"><TR><TD FIXEDSIZE="TRUE" {size}> </TD></TR></TABLE>'


def _inches(points: float) -> str:
    return f"{points / POINTS_PER_INCH:.4f}"
