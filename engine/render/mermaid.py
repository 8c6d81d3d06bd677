"""A ``Diagram`` → a Mermaid flowchart, which code-hosting sites draw inline in Markdown.

Lanes are ``subgraph``s (inside their department's subgraph), with the same shapes as the DOT
chart: stadium for the start, double circle for an end, box, diamond, and parallelogram for a wait.
Node ids are the state ids made safe for Mermaid (``end`` is a keyword, so every id is prefixed);
every label is quoted, and the characters Mermaid would read as syntax are written as entity codes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from engine.render.diagram import ADDITION, ClockBand, Diagram, Edge, Node
from engine.render.dot import clean

_SHAPES: Mapping[str, tuple[str, str]] = {
    "start": ('(["', '"])'),
    "final": ('((("', '")))'),
    "task": ('["', '"]'),
    "decision": ('{"', '"}'),
    "wait": ('[/"', '"/]'),
    "any": ('>"', '"]'),
}
_CLASSES = (
    "classDef start fill:#E8F5E9,stroke:#2E7D32",
    "classDef final fill:#ECEFF1,stroke:#37474F",
    "classDef task fill:#FFFFFF,stroke:#37474F",
    "classDef decision fill:#FFF8E1,stroke:#F9A825",
    "classDef wait fill:#E3F2FD,stroke:#1565C0",
    "classDef any fill:#FAFAFA,stroke:#757575",
)
ADDITION_CLASS = "classDef addition fill:#FCE4EC,stroke:#AD1457,stroke-width:2px,stroke-dasharray:5 5"
"""Steps declared as additions not in the source (a class after the kinds', so it wins)."""
ADDITION_LINK = "stroke:#AD1457,stroke-width:2px,stroke-dasharray:5 5"
_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;", "|": "#124;"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def to_mermaid(diagram: Diagram) -> str:
    ids = _safe_ids(diagram)
    # The front matter is YAML; a JSON string is a valid YAML scalar whatever the title holds.
    title = json.dumps(clean(diagram.title).replace("\n", " / "), ensure_ascii=False)
    # Mermaid sizes a subgraph's title for one line and draws the first node over any second line:
    # titles go on one line (``zh / en``), with a margin below them for a title Mermaid wraps itself.
    lines = ["---", f"title: {title}", "config:", "  flowchart:", "    subGraphTitleMargin: {top: 4, bottom: 22}"]
    lines += ["---", "flowchart TD"]
    by_lane: dict[str | None, list[Node]] = {}
    for node in diagram.nodes:
        by_lane.setdefault(node.lane, []).append(node)
    for group in diagram.groups:
        lines.append(f'  subgraph {ids.group(group.id)}["{label(one_line(group.label))}"]')
        for lane in (lane for lane in diagram.lanes if lane.group == group.id):
            lines.extend(_lane(ids.lane(lane.id), lane.label, by_lane.get(lane.id, []), ids, "    "))
        lines.append("  end")
    for lane in (lane for lane in diagram.lanes if lane.group is None):
        lines.extend(_lane(ids.lane(lane.id), lane.label, by_lane.get(lane.id, []), ids, "  "))
    for node in by_lane.get(None, []):
        lines.append("  " + _node(node, ids))
    for edge in diagram.edges:
        lines.append("  " + _edge(edge, ids))
    for band in diagram.clocks:
        lines.extend("  " + line for line in _clock(band, ids))
    lines.extend("  " + line for line in _CLASSES)
    if diagram.clocks:
        lines.append("  classDef clock fill:#F3E5F5,stroke:#6A1B9A,color:#6A1B9A,stroke-dasharray:3 3")
        lines.append(f"  class {','.join(ids.clock(b.id) for b in diagram.clocks)} clock")
    for kind in _SHAPES:
        members = [ids.node(n.id) for n in diagram.nodes if n.kind == kind]
        if members:
            lines.append(f"  class {','.join(members)} {kind}")
    lines.extend("  " + line for line in _additions(diagram, ids))
    return "\n".join(lines) + "\n"


def _additions(diagram: Diagram, ids: _Ids) -> list[str]:
    """The addition class on the steps and arrows declared as not in the source, and a legend node."""
    if not diagram.has_additions:
        return []
    members = [ids.node(n.id) for n in diagram.nodes if n.addition is not None]
    legend = ids.node("_legend_addition")
    lines = [ADDITION_CLASS, f'{legend}["{label(ADDITION.zh + " / " + ADDITION.en)}"]']
    lines.append(f"class {','.join([*members, legend])} addition")
    links = [str(index) for index, edge in enumerate(diagram.edges) if edge.addition]
    if links:
        lines.append(f"linkStyle {','.join(links)} {ADDITION_LINK}")
    return lines


def _lane(lane_id: str, title: str, nodes: list[Node], ids: _Ids, indent: str) -> list[str]:
    lines = [f'{indent}subgraph {lane_id}["{label(one_line(title))}"]']
    lines.extend(f"{indent}  {_node(node, ids)}" for node in nodes)
    lines.append(f"{indent}end")
    return lines


def _node(node: Node, ids: _Ids) -> str:
    opening, closing = ("[[", "]]") if node.starts is not None else _SHAPES[node.kind]  # a subroutine box
    details = (
        [d for d in (node.starts, node.limit, node.time_limit, node.acted_by) if d]
        + list(node.records)
        + [part.line for part in node.parts]
    )
    text = "<br/>".join([f"<b>{label(node.title)}</b>"] + [f"<small>{label(d)}</small>" for d in details])
    return f"{ids.node(node.id)}{opening}{text}{closing}"


def _edge(edge: Edge, ids: _Ids) -> str:
    parts = []
    for each in edge.labels:
        parts.append(label(each.text.replace("\n", " / ") if len(edge.labels) > 1 else each.text))
        if each.guard:
            parts.append(f"[{label(each.guard)}]")
        if each.note:
            parts.append(f"<i>{label(each.note)}</i>")
    arrow = "-.->" if edge.kind == "deadline" else "-->"
    return f'{ids.node(edge.source)} {arrow}|"{"<br/>".join(parts)}"| {ids.node(edge.dest)}'


def _clock(band: ClockBand, ids: _Ids) -> list[str]:
    """A clock as a note node with its name and points, linked (dotted, no arrow) to each step it
    covers; the link to a step where it pauses is labelled so."""
    note = ids.clock(band.id)
    lines = [f'{note}[/"{label(band.title)}"/]']
    for state in band.covers:
        link = '-. "paused" .-' if state in band.paused else "-.-"
        lines.append(f"{note} {link} {ids.node(state)}")
    return lines


def one_line(value: str) -> str:
    """A title on one line: its lines (Chinese, then English) joined by `` / ``."""
    return " / ".join(part.strip() for part in value.split("\n") if part.strip())


def label(value: str) -> str:
    """Text safe inside a quoted Mermaid label: syntax characters as entity codes, lines as ``<br/>``."""
    return "".join(_ENTITIES.get(ch, ch) for ch in clean(value)).replace("\n", "<br/>")


class _Ids:
    """Mermaid-safe ids: ``s_<state>``, ``lane_<role>``, ``dept_<department>``, unique even when two
    names differ only in characters Mermaid does not allow."""

    def __init__(self) -> None:
        self._given: dict[tuple[str, str], str] = {}
        self._taken: set[str] = set()

    def _id(self, prefix: str, name: str) -> str:
        key = (prefix, name)
        if key not in self._given:
            base = f"{prefix}_{_UNSAFE.sub('_', name)}"
            candidate, n = base, 2
            while candidate in self._taken:
                candidate, n = f"{base}_{n}", n + 1
            self._given[key] = candidate
            self._taken.add(candidate)
        return self._given[key]

    def node(self, name: str) -> str:
        return self._id("s", name)

    def lane(self, name: str) -> str:
        return self._id("lane", name)

    def group(self, name: str) -> str:
        return self._id("dept", name)

    def clock(self, name: str) -> str:
        return self._id("clock", name)


def _safe_ids(diagram: Diagram) -> _Ids:
    ids = _Ids()
    for node in diagram.nodes:  # assigned in file order, so the ids do not depend on edge order
        ids.node(node.id)
    return ids
