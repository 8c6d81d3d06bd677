"""A ``Diagram`` (and an optional ``Overlay``) → Graphviz DOT text.

Flowchart conventions, so an auditor reads the chart without a legend: start and end are
terminators (ovals; the end has a double border), tasks are boxes, decisions diamonds with each
branch's condition on its arrow (the default says 否则 / otherwise), waits for someone outside the
company are parallelograms (the flowchart's input symbol). Each role is a lane (a ``cluster_``),
inside its department's group. Arrows fired by a deadline are dashed.

The text is built here rather than through the ``graphviz`` package so that every byte is ours to
order and escape: the same definition always gives the same text, and labels are HTML-like labels
whose text is XML-escaped, so no label can break the syntax.
"""

from __future__ import annotations

import datetime
import html
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import quote as quote_url

from engine.model import Text
from engine.render.diagram import ADDITION, ClockBand, Diagram, Edge, Lang, Node, Step
from engine.render.layout_check import LABEL_NODE_PREFIX, TITLE_NODE_PREFIX
from engine.render.overlay import EdgeMark, NodeMark, Overlay

FONT = "Noto Sans CJK SC"
"""A CJK font (Debian's fonts-noto-cjk), so PNG and PDF show Chinese glyphs, not boxes."""

_SHAPES: Mapping[str, Mapping[str, str]] = {
    "start": {"shape": "oval", "style": "filled", "fillcolor": "#E8F5E9", "color": "#2E7D32"},
    "final": {"shape": "oval", "style": "filled", "fillcolor": "#ECEFF1", "color": "#37474F", "peripheries": "2"},
    "task": {"shape": "box", "style": "filled", "fillcolor": "#FFFFFF", "color": "#37474F"},
    "decision": {"shape": "diamond", "style": "filled", "fillcolor": "#FFF8E1", "color": "#F9A825"},
    "wait": {"shape": "parallelogram", "style": "filled", "fillcolor": "#E3F2FD", "color": "#1565C0"},
    "any": {"shape": "note", "style": "filled", "fillcolor": "#FAFAFA", "color": "#757575"},
}
_PATH = "#1565C0"
_CURRENT = "#FFB300"
_OVERDUE = "#C62828"
_FADED = "#BDBDBD"
ADDITION_COLOR = "#AD1457"
"""Steps and arrows declared as additions not in the source: this colour, dashed (see the legend)."""
ADDITION_NODE = {"style": "filled,dashed", "color": ADDITION_COLOR, "fillcolor": "#FCE4EC", "penwidth": "2"}
ADDITION_EDGE = {"style": "dashed", "color": ADDITION_COLOR, "fontcolor": ADDITION_COLOR, "penwidth": "1.5"}

TITLE_WIDTH = 24
"""Wrap titles at this many columns (a Chinese character takes two)."""
DETAIL_WIDTH = 34


class Html(str):
    """An attribute value that is an HTML-like label, written between ``<`` and ``>``."""


@dataclass(frozen=True)
class Mark:
    """A style laid over one step or arrow by whoever draws the chart for a purpose (``render.changes``
    marks what a change added, removed or changed): Graphviz attributes, the SVG class it carries
    (``class="node added"``), and lines added to its label in ``color``."""

    css_class: str
    attributes: Mapping[str, str]
    color: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Marks:
    """Per-element styles: steps by node id, arrows by the moves they stand for (an arrow takes the mark
    of the first of its moves that has one), the legend's entries and a caption line."""

    nodes: Mapping[str, Mark] = field(default_factory=lambda: MappingProxyType({}))
    steps: Mapping[Step, Mark] = field(default_factory=lambda: MappingProxyType({}))
    legend: tuple[tuple[str, Mark], ...] = ()
    caption: str | None = None


def to_dot(
    diagram: Diagram,
    lang: Lang,
    overlay: Overlay | None = None,
    marks: Marks | None = None,
    *,
    label_nodes: bool = True,
) -> str:
    """The chart as DOT text. With ``label_nodes`` (the default) an arrow's text is a small node in the
    middle of the arrow, so dot gives it room of its own: two arrows running both ways between two
    steps cannot print their texts on one spot, and no arrow is drawn through another's text.
    ``bpmn_layout.py`` lays out the chart without them, since BPMN wants one route per flow."""
    lines = [f"digraph {quote(diagram.id)} {{"]
    caption = _caption(diagram, lang, overlay)
    if marks is not None and marks.caption:
        caption += "<BR/>" + _tag('FONT POINT-SIZE="10"', _html_lines(marks.caption, 120))
    lines.append(
        "  graph "
        + attributes(
            {
                "rankdir": "TB",
                "newrank": "true",
                "fontname": FONT,
                "fontsize": "16",
                "labelloc": "t",
                "labeljust": "l",
                "label": Html(caption),
                "nodesep": "0.35",
                "ranksep": "0.45",
                "tooltip": diagram.title,
            }
        )
        + ";"
    )
    lines.append("  node " + attributes({"fontname": FONT, "fontsize": "11", "margin": "0.12,0.06"}) + ";")
    lines.append(
        "  edge " + attributes({"fontname": FONT, "fontsize": "9", "color": "#546E7A", "arrowsize": "0.7"}) + ";"
    )
    by_lane: dict[str | None, list[str]] = {}
    lane_of = {node.id: node.lane for node in diagram.nodes}
    for node in diagram.nodes:
        by_lane.setdefault(node.lane, []).append(
            f"{quote(node.id)} {attributes(_node_attributes(node, lang, overlay, marks))};"
        )
    edge_lines = []
    for index, edge in enumerate(diagram.edges):
        attrs = _edge_attributes(edge, lang, overlay, marks)
        if not (label_nodes and attrs.get("label") and edge.source != edge.dest):
            edge_lines.append(f"  {quote(edge.source)} -> {quote(edge.dest)} {attributes(attrs)};")
            continue
        # The text as a node of its own, in the lane of the step the arrow leaves.
        name = f"{LABEL_NODE_PREFIX}{index}"
        by_lane.setdefault(lane_of.get(edge.source), []).append(f"{quote(name)} {attributes(_label_node(attrs))};")
        line = {k: v for k, v in attrs.items() if k not in ("label", "fontcolor")}
        tail_half = {**line, "arrowhead": "none", "id": f"arrow{index}-tail"}
        edge_lines.append(f"  {quote(edge.source)} -> {quote(name)} {attributes(tail_half)};")
        edge_lines.append(f"  {quote(name)} -> {quote(edge.dest)} {attributes(line)};")
    titles = label_nodes  # lane titles as nodes too, so arrows are routed round them, not through them
    first = _first_steps(diagram)
    for group in diagram.groups:
        lines.append(f"  subgraph {quote('cluster_dept_' + group.id)} {{")
        lines.append("    graph " + attributes(_group_style(group.label, titles)) + ";")
        lanes = [lane for lane in diagram.lanes if lane.group == group.id]
        if titles:
            words = _tag("B", _html_lines(group.label, TITLE_WIDTH * 2))
            heads = [TITLE_NODE_PREFIX + "lane_" + lane.id for lane in lanes]
            lines.extend(_title_node(TITLE_NODE_PREFIX + "dept_" + group.id, words, "13", heads[:1], "    "))
        for lane in lanes:
            lines.extend(_lane(lane.id, lane.label, by_lane.get(lane.id, []), first.get(lane.id), titles, "    "))
        lines.append("  }")
    for lane in (lane for lane in diagram.lanes if lane.group is None):
        lines.extend(_lane(lane.id, lane.label, by_lane.get(lane.id, []), first.get(lane.id), titles, "  "))
    lines.extend("  " + line for line in by_lane.get(None, []))
    lines.extend(edge_lines)
    entries = list(marks.legend) if marks is not None else []
    keys = _keys(diagram, lang)
    if keys or entries:
        lines.extend(_legend(lang, keys, entries))
    for index, band in enumerate(diagram.clocks):
        lines.extend(_clock_lines(band, index))
    lines.append("}")
    return "\n".join(lines) + "\n"


CLOCK_KEY = Text(
    "时钟：跨步骤的承诺时限，点线连到它计时的步骤（虚线：等待客户时暂停）",
    "Clock: a promise across steps, dotted to the steps it times (dashed: paused while waiting)",
)
PART_KEY = Text(
    "▸ 分工 — 由谁做：步骤中由各角色分担的工作（条件在括号内）",
    "▸ part — by whom: a share of the step's work and the roles that do it (when, in brackets)",
)
ACTED_KEY = Text("办理：在此步骤推进流程的其他角色", "acted on by: other roles that move the work on from this step")


def _keys(diagram: Diagram, lang: Lang) -> list[str]:
    """The legend's keys for what this chart draws that a flowchart reader would not know:
    additions not in the source, clocks, parts of a step, roles acting at another's step."""
    keys = []
    if diagram.has_additions:
        words = _words(lang, ADDITION.zh, ADDITION.en)
        node = {"shape": "box", **ADDITION_NODE, "fontsize": "10", "label": Html(_html_lines(words, TITLE_WIDTH * 3))}
        node["id"] = "legend-addition"
        keys.append(f"    {quote('_legend_addition')} {attributes(node)};")
    plain = {"shape": "box", "style": "filled", "fillcolor": "#FFFFFF", "color": "#37474F", "fontsize": "9"}
    if diagram.clocks:
        node = {"shape": "note", "style": "filled", "fillcolor": "#F3E5F5", "color": CLOCK_COLOURS[0]}
        node.update({"fontcolor": CLOCK_COLOURS[0], "fontsize": "9", "id": "legend-clock"})
        node["label"] = Html(_html_lines(_words(lang, CLOCK_KEY.zh, CLOCK_KEY.en), TITLE_WIDTH * 3))
        keys.append(f"    {quote('_legend_clock')} {attributes(node)};")
    if any(node.parts for node in diagram.nodes):
        label = Html(_html_lines(_words(lang, PART_KEY.zh, PART_KEY.en), TITLE_WIDTH * 3))
        keys.append(f"    {quote('_legend_part')} {attributes({**plain, 'label': label, 'id': 'legend-part'})};")
    if any(node.acted_by for node in diagram.nodes):
        label = Html(_html_lines(_words(lang, ACTED_KEY.zh, ACTED_KEY.en), TITLE_WIDTH * 3))
        keys.append(f"    {quote('_legend_acted')} {attributes({**plain, 'label': label, 'id': 'legend-acted'})};")
    return keys


def _legend(lang: Lang, keys: list[str], entries: list[tuple[str, Mark]]) -> list[str]:
    """The chart's own keys, then the marks'."""
    keys = list(keys)
    for words, mark in entries:
        node = {"shape": "box", "style": "filled", "fillcolor": "#FFFFFF", **mark.attributes, "fontsize": "10"}
        node.update({"label": Html(_html_lines(words, TITLE_WIDTH * 3)), "id": f"legend-{mark.css_class}"})
        node["class"] = mark.css_class
        keys.append(f"    {quote('_legend_' + mark.css_class)} {attributes(node)};")
    return [
        f"  subgraph {quote('cluster_legend')} {{",
        "    graph "
        + attributes(
            {
                "label": Html(_tag("B", _escape(_words(lang, "图例", "Legend")))),
                "style": "dotted",
                "color": "#90A4AE",
                "fontsize": "10",
            }
        )
        + ";",
        *keys,
        "  }",
    ]


def _lane(lane_id: str, label: str, nodes: list[str], first: str | None, titles: bool, indent: str) -> list[str]:
    lines = [f"{indent}subgraph {quote('cluster_lane_' + lane_id)} {{"]
    lines.append(f"{indent}  graph " + attributes(_lane_style(label, titles)) + ";")
    if titles:
        name = TITLE_NODE_PREFIX + "lane_" + lane_id
        lines.extend(
            _title_node(name, _html_lines(label, TITLE_WIDTH * 2), "11", [first] if first else [], indent + "  ")
        )
    lines.extend(f"{indent}  {node}" for node in nodes)
    lines.append(f"{indent}}}")
    return lines


def _label_node(edge: Mapping[str, str]) -> dict[str, str]:
    """An arrow's text as a borderless node with a white ground, so the arrow reads as passing through it."""
    attrs = {
        "shape": "box",
        "style": "rounded,filled",
        "color": "#FFFFFF",
        "fillcolor": "#FFFFFF",
        "fontsize": "9",
        "margin": "0.04,0.02",
        "width": "0",
        "height": "0",
        "label": edge["label"],
        "tooltip": edge["tooltip"],
    }
    if "fontcolor" in edge:
        attrs["fontcolor"] = edge["fontcolor"]
    if "class" in edge:
        attrs["class"] = edge["class"]
    return attrs


def _first_steps(diagram: Diagram) -> dict[str, str]:
    """Each lane's earliest step: fewest arrows from a start (file order breaks ties), where its title goes."""
    depth = {node.id: 0 for node in diagram.nodes if node.kind == "start"}
    queue = list(depth)
    following: dict[str, list[str]] = {}
    for edge in diagram.edges:
        following.setdefault(edge.source, []).append(edge.dest)
    while queue:
        current = queue.pop(0)
        for dest in following.get(current, []):
            if dest not in depth:
                depth[dest] = depth[current] + 1
                queue.append(dest)
    first: dict[str, str] = {}
    for node in sorted(diagram.nodes, key=lambda n: depth.get(n.id, len(diagram.nodes))):  # stable: file order
        if node.lane is not None:
            first.setdefault(node.lane, node.id)
    return first


def title_node(cluster: str) -> str | None:
    """The name of the node that carries the title of the lane or department drawn as ``cluster``
    (``cluster_lane_<role>`` → ``_title_lane_<role>``); ``None`` for other clusters (the legend)."""
    if cluster.startswith(("cluster_lane_", "cluster_dept_")):
        return TITLE_NODE_PREFIX + cluster.removeprefix("cluster_")
    return None


def _title_node(name: str, label: str, size: str, below: list[str], indent: str) -> list[str]:
    """A lane's (or department's) title as a node, held by an invisible edge one rank above the first
    step in it: dot routes arrows round nodes, where it draws them through a cluster's own label."""
    style = {"shape": "plain", "label": Html(label), "fontsize": size, "fontcolor": "#455A64"}
    lines = [f"{indent}{quote(name)} {attributes(style)};"]
    lines.extend(f"{indent}{quote(name)} -> {quote(b)} [style=invis];" for b in below)
    return lines


def _group_style(label: str, titles: bool = False) -> dict[str, str]:
    return {
        "label": Html("" if titles else _tag("B", _html_lines(label, TITLE_WIDTH * 2))),
        "tooltip": label,
        "style": "rounded",
        "color": "#90A4AE",
        "penwidth": "1.5",
        "fontsize": "13",
        "margin": "10",
    }


def _lane_style(label: str, titles: bool = False) -> dict[str, str]:
    return {
        "label": Html("" if titles else _html_lines(label, TITLE_WIDTH * 2)),
        "tooltip": label,
        "style": "filled",
        "fillcolor": "#F5F7FA",
        "color": "#CFD8DC",
        "fontsize": "11",
        "fontcolor": "#455A64",
        "margin": "8",
    }


def _node_attributes(node: Node, lang: Lang, overlay: Overlay | None, marks: Marks | None = None) -> dict[str, str]:
    attrs = dict(_SHAPES[node.kind])
    lines = [_tag("B", _html_lines(node.title, TITLE_WIDTH))]
    details = (
        [d for d in (node.starts, node.limit, node.time_limit, node.acted_by) if d]
        + list(node.records)
        + [part.line for part in node.parts]
    )
    for detail in details:
        lines.append(_tag('FONT POINT-SIZE="9" COLOR="#455A64"', _html_lines(detail, DETAIL_WIDTH)))
    if node.starts is not None:
        attrs["peripheries"] = "2"  # a sub-procedure box: a double border
    if node.addition is not None:
        attrs.update(ADDITION_NODE)
        words = _words(lang, ADDITION.zh, ADDITION.en)
        lines.append(_tag(f'FONT POINT-SIZE="9" COLOR="{ADDITION_COLOR}"', _html_lines(words, DETAIL_WIDTH)))
    mark = overlay.nodes.get(node.id) if overlay else None
    if overlay is not None:
        for note, color in _node_overlay_notes(overlay, mark, lang):
            lines.append(_tag("B", _tag(f'FONT POINT-SIZE="9" COLOR="{color}"', _html_lines(note, DETAIL_WIDTH))))
    marked = marks.nodes.get(node.id) if marks is not None else None
    if marked is not None:
        lines.extend(_mark_notes(marked))
    attrs["label"] = Html(_join(lines))
    attrs["tooltip"] = node.source or (f"{node.id}: {node.addition}" if node.addition else node.id)
    if node.href:
        attrs["URL"] = _url(node.href)
        attrs["target"] = "_blank"
    attrs["id"] = f"state-{node.id}"
    if overlay is not None:
        attrs.update(_node_overlay_style(overlay, mark))
    if marked is not None:
        attrs.update(marked.attributes)
        attrs["class"] = marked.css_class
    return attrs


def _mark_notes(mark: Mark) -> list[str]:
    return [_tag(f'FONT POINT-SIZE="9" COLOR="{mark.color}"', _html_lines(note, DETAIL_WIDTH)) for note in mark.notes]


def _node_overlay_notes(overlay: Overlay, mark: NodeMark | None, lang: Lang) -> list[tuple[str, str]]:
    """What the histories add to a step's label, each with its colour."""
    notes: list[tuple[str, str]] = []
    if mark is None:
        return notes
    if mark.current:
        notes.append((_words(lang, "◆ 当前所在", "◆ current step"), "#E65100"))
    if mark.overdue_since is not None:
        since = mark.overdue_since.isoformat(timespec="minutes")
        notes.append((_words(lang, f"已逾期(自 {since})", f"OVERDUE since {since}"), _OVERDUE))
    if overlay.kind == "heatmap":
        notes.append((_words(lang, f"进入 {mark.visits} 次", f"entered {mark.visits}×"), "#BF360C"))
        if mark.median_stay is not None:
            spent = span(mark.median_stay)
            notes.append((_words(lang, f"停留中位数 {spent}", f"median stay {spent}"), "#BF360C"))
    return notes


def _node_overlay_style(overlay: Overlay, mark: NodeMark | None) -> dict[str, str]:
    if mark is None:  # never reached: greyed out
        return {"fillcolor": "#F5F5F5", "color": _FADED, "fontcolor": "#9E9E9E"}
    style: dict[str, str] = {}
    if overlay.kind == "instance":
        style = {"color": _PATH, "penwidth": "2"}
    if mark.current:
        style = {"fillcolor": _CURRENT, "color": "#E65100", "penwidth": "3"}
    if mark.overdue_since is not None:
        style.update({"color": _OVERDUE, "penwidth": "4"})
    return style


def _edge_attributes(edge: Edge, lang: Lang, overlay: Overlay | None, marks: Marks | None = None) -> dict[str, str]:
    lines = []
    for label in edge.labels:
        # Several transitions on one arrow: each on one line, so they read as a list.
        words = label.text.replace("\n", " / ") if len(edge.labels) > 1 else label.text
        lines.append(_html_lines(words, DETAIL_WIDTH))
        if label.guard:
            lines.append(f'<FONT COLOR="#6A1B9A">[{_html_lines(label.guard, DETAIL_WIDTH)}]</FONT>')
        if label.note:
            lines.append(_tag("I", _html_lines(label.note, DETAIL_WIDTH)))
    attrs: dict[str, str] = {}
    if edge.kind == "deadline":
        attrs.update({"style": "dashed", "color": "#8D6E63"})
    if edge.kind == "default":
        attrs["color"] = "#795548"
    if edge.addition:
        attrs.update(ADDITION_EDGE)
    mark = _edge_mark(edge, overlay) if overlay is not None else None
    if overlay is not None:
        if mark is None:
            attrs.update(
                {"color": _FADED, "fontcolor": "#9E9E9E", "style": "dotted" if overlay.kind == "heatmap" else "solid"}
            )
        elif overlay.kind == "instance":
            steps = " ".join(f"#{n}" for n in mark.order)
            lines.insert(0, f'<B><FONT COLOR="{_PATH}">{_escape(steps)}</FONT></B>')
            attrs.update({"color": _PATH, "penwidth": "2.5"})
        else:
            width = 1 + 5 * mark.count / max(overlay.max_count, 1)
            lines.insert(0, f"<B>×{mark.count}</B>")
            attrs.update({"color": "#D84315", "penwidth": f"{width:.1f}"})
    marked = next((marks.steps[s] for s in sorted(edge.steps) if s in marks.steps), None) if marks else None
    if marked is not None:
        lines.extend(_mark_notes(marked))
        attrs.update(marked.attributes)
        attrs["class"] = marked.css_class
    attrs["label"] = Html(_join(lines))
    reasons = "; ".join(label.addition for label in edge.labels if label.addition)
    attrs["tooltip"] = f"{edge.tooltip} · {reasons}" if reasons else edge.tooltip
    return attrs


def _edge_mark(edge: Edge, overlay: Overlay) -> EdgeMark | None:
    marks = [overlay.steps[step] for step in sorted(edge.steps) if step in overlay.steps]
    if not marks:
        return None
    return EdgeMark(sum(m.count for m in marks), tuple(sorted(n for m in marks for n in m.order)))


CLOCK_COLOURS = ("#6A1B9A", "#00838F", "#AD1457", "#EF6C00")
"""One colour per clock, in order: its note and its brackets to the steps it covers."""


def _clock_lines(band: ClockBand, index: int) -> list[str]:
    """A clock as a note with its name and points, bracketing each step it covers with a dotted line of
    its colour (dashed to a step where it pauses); the caption's legend says what the notes mean."""
    colour = CLOCK_COLOURS[index % len(CLOCK_COLOURS)]
    note = "clock_" + band.id
    style = {
        "shape": "note",
        "style": "filled",
        "fillcolor": "#F3E5F5",
        "color": colour,
        "fontcolor": colour,
        "fontsize": "10",
        "label": clean(band.title),
        "tooltip": clean(band.tooltip),
    }
    lines = [f"  {quote(note)} {attributes(style)};"]
    for state in band.covers:
        dash = "dashed" if state in band.paused else "dotted"
        link = {"style": dash, "color": colour, "arrowhead": "none", "constraint": "false", "penwidth": "1.4"}
        lines.append(f"  {quote(note)} -> {quote(state)} {attributes(link)};")
    return lines


def _caption(diagram: Diagram, lang: Lang, overlay: Overlay | None) -> str:
    lines = [
        _tag("B", _html_lines(diagram.title, 80)),
        _tag('FONT POINT-SIZE="10"', _html_lines(diagram.subtitle, 100)),
    ]
    if diagram.clocks:
        legend = _words(
            lang,
            "时钟：跨步骤的承诺时限，点线连到它计时的步骤（虚线：等待客户时暂停）",
            "Clock: a promise across steps, dotted to the steps it times (dashed: paused while waiting)",
        )
        lines.append(_tag(f'FONT POINT-SIZE="10" COLOR="{CLOCK_COLOURS[0]}"', _html_lines(legend, 100)))
    if overlay is not None:
        caption = {
            "zh": overlay.caption.zh,
            "en": overlay.caption.en,
            "both": f"{overlay.caption.zh}\n{overlay.caption.en}",
        }
        lines.append(_tag(f'FONT POINT-SIZE="11" COLOR="{_PATH}"', _html_lines(caption[lang], 100)))
    return _join(lines)


def _words(lang: Lang, zh: str, en: str) -> str:
    return {"zh": zh, "en": en, "both": f"{zh} / {en}"}[lang]


def span(duration: datetime.timedelta) -> str:
    """A duration as a person says it: ``45 min``, ``5.5 h``, ``3.2 d``."""
    minutes = duration.total_seconds() / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d"


# --- DOT syntax --------------------------------------------------------------------------------


def clean(value: str) -> str:
    """``value`` without the characters no label should carry: control characters (newlines
    excepted), unpaired surrogates, and those XML cannot hold."""
    return "".join(
        ch for ch in value if ch == "\n" or (unicodedata.category(ch) not in ("Cc", "Cs") and ch not in "\ufffe\uffff")
    )


def quote(value: str) -> str:
    """A DOT quoted string whose value, read as a Graphviz escString, is ``value``: backslashes are
    doubled (``\\n`` and ``\\N`` would otherwise be read as escapes), quotes escaped, and newlines
    written as ``\\n``."""
    # `&` goes as `&amp;`: Graphviz writes names and tooltips into SVG as they are, and takes a
    # stray `&;` for an entity (invalid XML); labels turn `&amp;` back into `&` in every format.
    text = clean(value).replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def attributes(attrs: Mapping[str, str]) -> str:
    parts = []
    for name, value in attrs.items():
        # An empty HTML-like label is a syntax error to Graphviz; an empty string is not.
        parts.append(f"{name}=<{value}>" if isinstance(value, Html) and value else f"{name}={quote(value)}")
    return "[" + ", ".join(parts) + "]"


def _html_lines(value: str, width: int) -> str:
    """Text for an HTML-like label: XML-escaped, wrapped at ``width`` columns, lines joined by ``<BR/>``."""
    wrapped = [piece for line in clean(value).split("\n") for piece in wrap(line, width)]
    return "<BR/>".join(_escape(piece) for piece in wrapped)


def _escape(text: str) -> str:
    # Graphviz's HTML-label lexer rejects text made only of `]` (2.43), so `]` goes as an entity; and
    # it reads `\N`, `\G` and `\\` in HTML text as escapes, so backslashes are doubled.
    return html.escape(text, quote=False).replace("]", "&#93;").replace("\\", "\\\\")


def _url(link: str) -> str:
    """``link`` percent-encoded: Graphviz writes URLs into SVG without XML-escaping them."""
    return quote_url(clean(link), safe=":/?#@!$'()*+,;=%~")


def _tag(opening: str, inner: str) -> str:
    """``inner`` inside an HTML-like element; nothing when it is empty (Graphviz refuses ``<B></B>``)."""
    return f"<{opening}>{inner}</{opening.split()[0]}>" if inner else ""


def _join(lines: list[str]) -> str:
    return "<BR/>".join(line for line in lines if line)


def wrap(line: str, width: int) -> list[str]:
    """Break ``line`` into pieces of at most ``width`` columns (wide characters count two), at spaces
    where there are any and between wide characters otherwise."""
    pieces: list[str] = []
    current = ""
    for token in _tokens(line):
        if current and _columns(current + token) > width:
            pieces.append(current.rstrip())
            current = token.lstrip()
        else:
            current += token
    if current.strip() or not pieces:
        pieces.append(current.rstrip())
    for _ in range(len(pieces)):  # each round only moves characters forward or joins lines: it settles
        mended = _by_chinese_rules(list(pieces))
        if mended == pieces:
            break
        pieces = mended
    return pieces


CLOSING = frozenset("，。、；：？！）》」』】〕〉〗”’…‥·—～,.;:?!)]}%％")
"""Punctuation no line may begin with (Chinese typesetting's 行首禁则), half-width kin included."""
OPENING = frozenset("（《「『【〔〈〖“‘([{")
"""Punctuation no line may end with (行尾禁则)."""


def _by_chinese_rules(pieces: list[str]) -> list[str]:
    """Lines mended after wrapping: closing punctuation at a line's start hangs at the end of the line
    before (past the width, as Chinese typesetting does); opening punctuation at a line's end moves
    down; a line that would hold one wide character alone takes the one before with it."""
    for i in range(1, len(pieces)):
        while pieces[i] and pieces[i][0] in CLOSING:
            pieces[i - 1] += pieces[i][0]
            pieces[i] = pieces[i][1:].lstrip()
        while len(pieces[i - 1]) > 1 and pieces[i - 1][-1] in OPENING and pieces[i]:
            pieces[i] = pieces[i - 1][-1] + pieces[i]
            pieces[i - 1] = pieces[i - 1][:-1]
    pieces = [piece for index, piece in enumerate(pieces) if piece or index == 0]
    if len(pieces) > 1 and len(pieces[0]) == 1 and _columns(pieces[0]) == 2:
        # A first line left with one character (its opening punctuation moved down) goes down with it.
        pieces[1] = pieces[0] + pieces[1]
        pieces[0] = ""
    for i in range(1, len(pieces)):
        if len(pieces[i]) == 1 and _columns(pieces[i]) == 2:
            # Take the previous line's last character (with any punctuation that must not start a line).
            take = 1
            while take < len(pieces[i - 1]) - 1 and pieces[i - 1][-take] in CLOSING:
                take += 1
            while take < len(pieces[i - 1]) - 1 and pieces[i - 1][-take - 1] in OPENING:
                take += 1
            if len(pieces[i - 1]) - take >= 2 and _columns(pieces[i - 1][-take:]) == 2 * take:
                pieces[i] = pieces[i - 1][-take:] + pieces[i]
                pieces[i - 1] = pieces[i - 1][:-take]
            elif _columns(pieces[i - 1]) == 2 * len(pieces[i - 1]):  # too short to share: one line
                pieces[i] = pieces[i - 1] + pieces[i]
                pieces[i - 1] = ""
    return [piece for index, piece in enumerate(pieces) if piece or index == len(pieces) - 1]


def _tokens(line: str) -> Iterable[str]:
    """Words with their leading space, and each wide character on its own."""
    word = ""
    for ch in line:
        if _columns(ch) == 2:
            if word:
                yield word
                word = ""
            yield ch
        elif ch == " " and word.strip():
            yield word
            word = ch
        else:
            word += ch
    if word:
        yield word


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
