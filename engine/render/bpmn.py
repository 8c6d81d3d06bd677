"""A process as BPMN 2.0 XML, drawn (BPMN DI) from the same Graphviz layout as the chart.

What maps to what (docs/charts.md repeats it for the people who open the file in a BPM tool):

* the process is one ``bpmn:process`` inside a ``bpmn:collaboration`` with one pool
  (``bpmn:participant``); each department is a lane whose child lanes are its roles, a role without
  a department is a lane of its own; steps without a role (the end states) sit in the pool outside
  every lane, as they sit outside every lane of the chart;
* a step with a role is a ``bpmn:userTask`` (one that hands the work to another procedure is a
  ``bpmn:callActivity`` naming it); a decision is a ``bpmn:exclusiveGateway`` whose outgoing flows
  carry the branch's label as ``name`` and its procflow expression as ``conditionExpression``
  (``language`` is ``EXPRESSION_LANGUAGE``), the ``否则 / otherwise`` branch being the gateway's
  ``default``; a final state is a ``bpmn:endEvent``; the start step is preceded by a
  ``bpmn:startEvent``;
* each transition (or several between the same two steps, as the chart merges them) is a
  ``bpmn:sequenceFlow`` named by its label, ``procflow:move`` under its ``extensionElements``
  naming the trigger. A step's exits are alternatives taken by the event fired, and BPMN reads
  several flows out of a task as a fork, so a step with several exits is followed by an unnamed
  exclusive gateway ``choice-STEP`` whose flows say which event takes them:
  ``trigger == 'approve'``, ``and`` the transition's guard when it has one;
* ``isExecutable`` is true: procflow runs the process (conditions are in its expression language,
  ``trigger`` being the name of the event fired); the file is for reading and drawing, not for
  another engine to run;
* a step's ``time_limit`` is a non-interrupting boundary ``bpmn:timerEventDefinition``
  (``timeDuration`` as ISO 8601, or the procflow expression the limit is read from); a ``deadline``
  is an interrupting one, and the transition it fires leaves from it;
* a shared transition (top-level ``transitions:``, ``source:`` a list or ``'*'``; the chart's
  ``any of N steps`` note) is, on each of its steps that is an activity, an interrupting
  ``bpmn:boundaryEvent`` ``event-STEP-TRIGGER`` catching a ``bpmn:message`` (``message-TRIGGER``,
  one per trigger, named by the transition's label, as the event is): the event fired, in whichever
  of those steps the case is. Its one ``bpmn:sequenceFlow`` (unnamed: the event carries the name)
  leads to the transition's destination, the transition's conditions as its ``conditionExpression``;
  ``procflow:shared`` on the event (trigger, roles, ``cancels``) and ``cancels="true"`` on the
  flow's ``procflow:move`` say what a ``cancels: true`` transition does, and so does
  ``bpmn:documentation``. A message rather than a flow from a throw event, because nothing in the
  process leads into such an event (a reader drops it and all behind it); a decision among the
  steps (``'*'`` takes them in) gets none, as a case never rests in one. A step fired into the
  transition by its deadline keeps the timer's flow;
* a step's boundary events sit on its bottom edge, side by side (the layout makes the step wide
  enough): the time limit leftmost, an event alone on the right, clear of the name;
* what BPMN has no element for is written twice: in words in ``bpmn:documentation`` (what a
  modeller shows) and as data under ``extensionElements`` in the ``PROCFLOW_NS`` namespace:
  ``procflow:signoff`` and ``procflow:part`` on tasks, ``procflow:timer`` (working time, days
  before a date) on timers, ``procflow:clock`` on the process for each clock, which is also drawn as
  a ``bpmn:textAnnotation`` associated with the steps it times.

Labels are in ``zh``, ``en`` or ``both`` (``中文 / English`` on one line). Positions, sizes, lane
rectangles and edge routes come from ``dot -Tjson`` on the chart's lanes, steps and arrows with the
start event, the ``choice-`` gateways and one edge per step of each shared transition in place of its
note (``bpmn_layout.layout_dot``), each node and name given the room a viewer draws it in, so the
diagram opens laid out as the chart is and readable: no name on another or on a shape, every flow
node in its lane, no flow across a task. Where dot still puts a flow's name on something, the name
moves beside the flow; where it runs a flow through a task, the flow goes round it.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from engine.errors import RenderError
from engine.model import DataLimit, Duration, Process, State, Text, Transition
from engine.render.bpmn_layout import LABEL_SIZE, TEXT_SIZE, Box, Room, layout_dot, text_box, text_lines
from engine.render.diagram import Diagram, Edge, Lang, Node, Step, extract
from engine.render.dot import clean
from engine.render.graphviz_run import DEFAULT_TIMEOUT, layout

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
PROCFLOW_NS = "https://procflow.dev/schemas/bpmn-1"
"""The namespace of what procflow adds under ``extensionElements`` (sign-offs, parts, clocks, timers,
moves, shared transitions)."""
EXPRESSION_LANGUAGE = "https://procflow.dev/schemas/expression-1"
"""The ``language`` of every condition and timer expression: procflow's expression language."""

_PREFIXES = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS, "xsi": XSI_NS, "procflow": PROCFLOW_NS}
START_EVENT = "_start"
"""The node id of the start event in the layout (state ids begin with a letter, so it is no state's)."""
CHOICE = "_choice_"
"""The node id prefix of the gateway after a step with several ways out."""
ANY = "_any_"
"""The chart's node id prefix of the origin of a shared transition (not drawn in BPMN)."""
CANCELS = Text(
    "撤销案件:不论步骤中未完成的分工和结束状态要求的记录",
    "cancels the case: taken whatever the step's open parts and the records its final state requires",
)
"""What a ``cancels: true`` transition's flow (and boundary event) says in ``bpmn:documentation``."""
TASK_KINDS = frozenset({"start", "task", "wait"})
"""The chart's kinds of the steps that are BPMN activities (a task, user task or call activity)."""
EVENT_SIZE = 36.0
GATEWAY_SIZE = 50.0
TASK_WIDTH = 100.0
TASK_HEIGHT = 60.0
MARGIN = 20.0
BOUNDARY_GAP = 8.0
"""The space between two events side by side on a task's border."""
LABEL_SPREAD = 40.0
"""How far a name below an event or gateway reaches past it on either side."""
LABEL_GAP = 4.0
"""The space between a shape and the name written below it."""
TASK_MAX_WIDTH = 220.0
TASK_LINES = 3
"""A task is made wider (up to ``TASK_MAX_WIDTH``) until its name takes at most this many lines."""
TASK_PADDING = 7.0
"""bpmn-js's padding round a task's name."""
TASK_CLEARANCE = 26.0
"""The room kept above and below a task's name (which bpmn-js centres): its type icon in the top-left
corner, the events on its bottom edge."""
BOUNDARY_LABEL_WIDTH = 72.0
"""The width of a timer's name under its event on a task's border."""
FLOW_LABEL_WIDTH = 150.0
"""The widest a flow's name is drawn before it is wrapped."""
TITLE_BAND = 30.0
"""The height of the band at the top of a lane or pool where bpmn-js writes its title."""
ANNOTATION_WIDTH = 200.0
ANNOTATION_PADDING = 7.0
_POINTS_PER_INCH = 72.0


def _q(prefix: str, name: str) -> str:
    return f"{{{_PREFIXES[prefix]}}}{name}"


def to_bpmn(process: Process, lang: Lang = "both", *, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """The process as BPMN 2.0 XML (UTF-8), laid out by Graphviz's ``dot`` within ``timeout`` seconds.

    Raises ``RenderError`` when ``dot`` is missing or fails, ``LayoutTimeout`` past the bound."""
    drawn, escapes = _with_bpmn_nodes(process, extract(process, lang), lang)
    rooms = _rooms(process, drawn, escapes, lang)
    flow_labels = [_flow_label_size(_label_of_flow(process, edge, escapes, lang)) for edge in drawn.edges]
    dot_text = layout_dot(drawn, rooms, flow_labels, _titles(process, drawn, lang))
    positions = _Layout(json.loads(layout(dot_text, "json", timeout=timeout)))
    return _Writer(process, drawn, escapes, lang, positions, rooms).document()


def _drawn_kind(node: Node) -> str:
    """What the layout node is drawn as: ``event`` (start or end), ``gateway`` or ``task``."""
    if node.id == START_EVENT or node.kind == "final":
        return "event"
    return "gateway" if node.kind == "decision" else "task"


def _one_line(text: str) -> str:
    return clean(text).replace("\n", " / ")


def _rooms(process: Process, diagram: Diagram, escapes: Mapping[Edge, Escape], lang: Lang) -> dict[str, Room]:
    """The room each layout node takes as a viewer draws it: a task wide enough for its name in a few
    lines and for the events on its border, with a band below for their lower halves and the timers'
    names; an event or gateway with its name below it (as much room above, so it stays centred); a
    clock's annotation the size of its text."""
    rooms: dict[str, Room] = {}
    for node in diagram.nodes:
        name = _one_line(node.title)
        kind = _drawn_kind(node)
        if kind == "task":
            rooms[node.id] = _task_room(name, _border_names(process, node.id, escapes, lang))
            continue
        size = GATEWAY_SIZE if kind == "gateway" else EVENT_SIZE
        if not name:
            rooms[node.id] = Room(size, size, size, size, centred=True)
            continue
        label_width = size + 2 * LABEL_SPREAD
        label_height = text_box(name, LABEL_SIZE, label_width)[1]
        height = size + 2 * (LABEL_GAP + label_height)
        rooms[node.id] = Room(label_width, height, size, size, True, label_width, label_height)
    for band in diagram.clocks:
        width, height = text_box(clean(band.title), TEXT_SIZE, ANNOTATION_WIDTH)
        width, height = width + 2 * ANNOTATION_PADDING, height + 2 * ANNOTATION_PADDING
        rooms[f"clock_{band.id}"] = Room(width, height, width, height, centred=False)
    return rooms


def _task_room(name: str, border: list[str | None]) -> Room:
    slot = max(((BOUNDARY_LABEL_WIDTH if label else EVENT_SIZE) + BOUNDARY_GAP for label in border), default=0.0)
    width = max(TASK_WIDTH, (len(border) + 1) * slot) if border else TASK_WIDTH
    while width < TASK_MAX_WIDTH and len(text_lines(name, TEXT_SIZE, width - 2 * TASK_PADDING)) > TASK_LINES:
        width += 10
    height = max(TASK_HEIGHT, text_box(name, TEXT_SIZE, width - 2 * TASK_PADDING)[1] + 2 * TASK_CLEARANCE)
    band = 0.0
    if border:
        named = [text_box(label, LABEL_SIZE, BOUNDARY_LABEL_WIDTH)[1] for label in border if label]
        band = EVENT_SIZE / 2 + (LABEL_GAP + max(named) if named else LABEL_GAP)
    return Room(width, height + band, width, height, centred=False)


def _border_names(process: Process, step: str, escapes: Mapping[Edge, Escape], lang: Lang) -> list[str | None]:
    """The events on a step's border in the order they are placed, each with the name written under it
    (None: a shared transition's event, whose name goes beside the flow it starts)."""
    state = process.states.get(step)
    if state is None:
        return []
    names: list[str | None] = []
    if state.time_limit is not None or state.time_limit_from is not None:
        names.append(_words(lang, "时限", "time limit"))
    names.extend(_words(lang, "期限", "deadline") for _ in state.deadlines)
    names.extend(None for escape in escapes.values() if escape.step == step)
    return names


def _label_of_flow(process: Process, edge: Edge, escapes: Mapping[Edge, Escape], lang: Lang) -> str:
    """The text written beside a flow: its name, or for a shared transition's flow its event's name."""
    escape = escapes.get(edge)
    if escape is not None:
        return _event_name(escape.transition, lang)
    return _flow_name(edge)


def _flow_name(edge: Edge) -> str:
    return "; ".join(_one_line(label.text) for label in edge.labels)


def _event_name(transition: Transition, lang: Lang) -> str:
    return _one_line(_in(lang, transition.label))


def _flow_label_size(name: str) -> tuple[float, float] | None:
    if not name:
        return None
    width, height = text_box(name, LABEL_SIZE, FLOW_LABEL_WIDTH)
    return width + 4, height + 4


def _titles(process: Process, diagram: Diagram, lang: Lang) -> dict[str, tuple[float, float]]:
    """The title band of each lane (``cluster_lane_ROLE``, ``cluster_dept_DEPARTMENT``) and of the pool
    (``graph``): wide enough for the title in two lines, as high as bpmn-js's band."""
    titles = {f"cluster_lane_{lane.id}": _title(lane.label) for lane in diagram.lanes}
    titles.update({f"cluster_dept_{group.id}": _title(group.label) for group in diagram.groups})
    titles["graph"] = _title(_in(lang, process.title))
    return titles


def _in(lang: Lang, label: Text) -> str:
    """A label in the chosen language; ``both``: ``中文 / English`` (once when they are the same)."""
    if lang == "both":
        return clean(label.zh if label.zh == label.en else f"{label.zh} / {label.en}")
    return clean(label.zh if lang == "zh" else label.en)


def _title(label: str) -> tuple[float, float]:
    name = _one_line(label)
    width = 60.0
    while len(text_lines(name, TEXT_SIZE, width)) > 2:
        width += 5
    return width + 10, TITLE_BAND + 4


def _border_events(process: Process, escapes: Mapping[Edge, Escape]) -> dict[str, int]:
    """How many boundary events each step has: its time limit, its deadlines, the shared transitions leaving it."""
    counts: dict[str, int] = {}
    for state in process.states.values():
        limited = state.time_limit is not None or state.time_limit_from is not None
        counts[state.id] = int(limited) + len(state.deadlines)
    for escape in escapes.values():
        counts[escape.step] = counts.get(escape.step, 0) + 1
    return counts


@dataclass(frozen=True)
class Escape:
    """A shared transition as it leaves one of its steps: an interrupting message boundary event on the
    step's border, and the flow from it to the transition's destination."""

    transition: Transition
    step: str
    event: str
    """The boundary event's id, ``event-STEP-TRIGGER``."""


def _with_bpmn_nodes(process: Process, diagram: Diagram, lang: Lang) -> tuple[Diagram, dict[Edge, Escape]]:
    """The chart with what BPMN draws and a flowchart does not, so that Graphviz places it too: the start
    event above the start step; each shared transition (the chart's ``any of N steps`` note) as one edge
    from each of its steps that is a task to its destination, each the flow out of a boundary event
    (returned beside the diagram); and after a step with several ways out an exclusive gateway
    (``choice-``) that takes the way of the event fired (BPMN reads several flows out of a task as a fork)."""
    nodes = [n for n in diagram.nodes if n.kind != "any"]
    edges = [e for e in diagram.edges if not e.source.startswith(ANY)]
    start = next((n for n in nodes if n.kind == "start"), None)
    if start is not None:
        nodes.insert(0, Node(START_EVENT, "start", _words(lang, "开始", "Start"), start.lane, None, (), None, None))
        edges.insert(0, Edge(START_EVENT, start.id, "transition", (), frozenset()))
    escapes: dict[Edge, Escape] = {}
    kinds = {n.id: n.kind for n in nodes}
    for index, shared in enumerate(process.shared_transitions):
        drawn = next(e for e in diagram.edges if e.source == f"{ANY}{index}")
        for step in shared.sources:
            if kinds.get(step) not in TASK_KINDS:
                continue  # a case never rests in a decision: no event can reach it there
            move = frozenset([Step("transition", step, shared.trigger, shared.dest)])
            if _deadline_id(process, step, shared.trigger) is not None:
                # Fired by the step's deadline: the flow leaves from that timer, as a step's own would.
                edges.append(Edge(step, shared.dest, "deadline", drawn.labels, move, drawn.addition))
                continue
            # Unlabelled for the layout: the event carries the transition's name, not each of its flows.
            edge = Edge(step, shared.dest, "transition", (), move, drawn.addition)
            edges.append(edge)
            escapes[edge] = Escape(shared, step, f"event-{step}-{shared.trigger}")
    for node in diagram.nodes:
        if node.kind in ("decision", "any"):
            continue
        ways = [e for e in edges if e.source == node.id and e.kind != "deadline" and e not in escapes]
        if len(ways) < 2:
            continue
        choice = CHOICE + node.id
        nodes.append(Node(choice, "decision", "", node.lane, None, (), None, None))
        edges = [replace(e, source=choice) if e in ways else e for e in edges]
        edges.insert(edges.index(replace(ways[0], source=choice)), Edge(node.id, choice, "transition", (), frozenset()))
    return replace(diagram, nodes=tuple(nodes), edges=tuple(edges)), escapes


# --- the layout ---------------------------------------------------------------------------------


class _Layout:
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
            width = float(obj["width"]) * _POINTS_PER_INCH
            height = float(obj["height"]) * _POINTS_PER_INCH
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


def _border(box: Box, toward: tuple[float, float]) -> tuple[float, float]:
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


def _inside(box: Box, point: tuple[float, float]) -> bool:
    return box.x <= point[0] <= box.x + box.width and box.y <= point[1] <= box.y + box.height


def _bezier(
    p0: tuple[float, float], p1: tuple[float, float], p2: tuple[float, float], p3: tuple[float, float], t: float
) -> tuple[float, float]:
    u = 1 - t
    return (
        u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
        u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
    )


# --- the document -------------------------------------------------------------------------------


class _Writer:
    def __init__(
        self,
        process: Process,
        diagram: Diagram,
        escapes: Mapping[Edge, Escape],
        lang: Lang,
        positions: _Layout,
        rooms: Mapping[str, Room],
    ):
        self.process, self.diagram, self.escapes, self.lang, self.layout = process, diagram, escapes, lang, positions
        self.rooms = rooms
        self.shape_elements: dict[str, ET.Element] = {}
        self.taken: list[Box] = []
        """What a flow's name must keep clear of: every shape and name drawn, every lane's and the pool's title."""
        self.tasks: dict[str, Box] = {}
        self.named: list[str] = []
        """The events and gateways whose names are placed once the flows' routes are known."""
        self.routes: dict[Edge, tuple[list[tuple[float, float]], tuple[float, float] | None]] = {}
        self.escape_of = {(escape.step, escape.transition.trigger): edge for edge, escape in escapes.items()}
        for prefix, uri in _PREFIXES.items():
            ET.register_namespace(prefix, uri)
        self.root = ET.Element(
            _q("bpmn", "definitions"),
            {
                "id": f"definitions-{process.id}",
                "targetNamespace": f"https://procflow.dev/processes/{process.id}",
                "exporter": "procflow",
                "exporterVersion": str(process.version),
            },
        )
        self.collaboration = ET.SubElement(
            self.root, _q("bpmn", "collaboration"), {"id": f"collaboration-{process.id}"}
        )
        self.bpmn_process = ET.Element(
            _q("bpmn", "process"), {"id": process.id, "name": self.words(process.title), "isExecutable": "true"}
        )
        self.plane: ET.Element
        self.shapes: dict[str, Box] = {}
        self.flow_count = 0
        self.boundary: dict[tuple[str, str], str] = {}
        """Deadline boundary events by (step, trigger fired), where the transition they fire leaves from."""
        self.lane_of: dict[str, str | None] = {n.id: n.lane for n in diagram.nodes}

    def words(self, label: Text) -> str:
        return _in(self.lang, label)

    def phrase(self, zh: str, en: str) -> str:
        return self.words(Text(zh, en))

    def document(self) -> bytes:
        process = self.process
        participant = ET.SubElement(
            self.collaboration,
            _q("bpmn", "participant"),
            {"id": f"pool-{process.id}", "name": self.words(process.title), "processRef": process.id},
        )
        if process.description is not None:
            _documentation(participant, self.words(process.description))
        self.root.append(self.bpmn_process)
        self._messages()
        extensions = self._process_extensions()
        if len(extensions):
            self.bpmn_process.append(extensions)
        bpmn_diagram = ET.SubElement(self.root, _q("bpmndi", "BPMNDiagram"), {"id": f"diagram-{process.id}"})
        self.plane = ET.SubElement(
            bpmn_diagram,
            _q("bpmndi", "BPMNPlane"),
            {"id": f"plane-{process.id}", "bpmnElement": f"collaboration-{process.id}"},
        )
        self._shape(f"pool-{process.id}", self.layout.bounds, horizontal=False)
        self._lanes()
        self._nodes()
        self.taken.extend(self.layout.nodes[f"clock_{band.id}"] for band in self.diagram.clocks)
        self._flows()
        self._clocks()
        ET.indent(self.root, space="  ")
        return bytes(ET.tostring(self.root, encoding="utf-8", xml_declaration=True)) + b"\n"

    # --- lanes ---

    def _lanes(self) -> None:
        lanes = self.diagram.lanes
        if not lanes:
            return
        lane_set = ET.SubElement(self.bpmn_process, _q("bpmn", "laneSet"), {"id": "lanes"})
        members: dict[str, list[str]] = {}
        for element_id, layout_node in self._flow_node_ids():
            holder = self.lane_of.get(layout_node)
            if holder is not None:
                members.setdefault(holder, []).append(element_id)
        written_groups: set[str] = set()
        for lane in lanes:
            if lane.group is None:
                self._lane(lane_set, f"lane-{lane.id}", lane.label, members.get(lane.id, []), f"cluster_lane_{lane.id}")
                continue
            if lane.group in written_groups:
                continue
            written_groups.add(lane.group)
            group = next(g for g in self.diagram.groups if g.id == lane.group)
            inside = [x for x in lanes if x.group == group.id]
            every = [m for x in inside for m in members.get(x.id, [])]
            element = self._lane(lane_set, f"dept-{group.id}", group.label, every, f"cluster_dept_{group.id}")
            children = ET.SubElement(element, _q("bpmn", "childLaneSet"), {"id": f"lanes-{group.id}"})
            for child in inside:
                self._lane(
                    children, f"lane-{child.id}", child.label, members.get(child.id, []), f"cluster_lane_{child.id}"
                )

    def _lane(self, parent: ET.Element, lane_id: str, label: str, nodes: list[str], cluster: str) -> ET.Element:
        element = ET.SubElement(parent, _q("bpmn", "lane"), {"id": lane_id, "name": clean(label).replace("\n", " / ")})
        for node in nodes:
            ET.SubElement(element, _q("bpmn", "flowNodeRef")).text = node
        box = self.layout.clusters.get(cluster)
        if box is None:
            raise RenderError(f"the layout has no lane {cluster}")
        self._shape(lane_id, box, horizontal=False)
        return element

    def _flow_node_ids(self) -> list[tuple[str, str]]:
        """Every flow node as (BPMN id, the layout node whose lane it is in): boundary events are in their step's."""
        ids = []
        for node in self.diagram.nodes:
            ids.append((_node_id(node.id), node.id))
            state = self.process.states.get(node.id)
            if state is None:
                continue
            if state.time_limit is not None or state.time_limit_from is not None:
                ids.append((f"limit-{state.id}", node.id))
            for deadline in state.deadlines:
                ids.append((f"deadline-{state.id}-{deadline.fire}", node.id))
            ids.extend((escape.event, node.id) for escape in self.escapes.values() if escape.step == node.id)
        return ids

    # --- flow nodes ---

    def _nodes(self) -> None:
        for node in self.diagram.nodes:
            state = self.process.states.get(node.id)
            element = self._node(node, state)
            if state is not None:
                self._boundary_events(state, element.get("id", ""))

    def _node(self, node: Node, state: State | None) -> ET.Element:
        node_id = _node_id(node.id)
        name = clean(node.title).replace("\n", " / ")
        if node.id == START_EVENT:
            element = ET.SubElement(self.bpmn_process, _q("bpmn", "startEvent"), {"id": node_id, "name": name})
            self._shape(node_id, self._drawn(node.id))
            self.named.append(node.id)
        elif node.kind == "decision":
            element = ET.SubElement(self.bpmn_process, _q("bpmn", "exclusiveGateway"), {"id": node_id, "name": name})
            default = next((e for e in self.diagram.edges if e.source == node.id and e.kind == "default"), None)
            if default is not None:
                element.set("default", self._flow_id(default))
            self._shape(node_id, self._drawn(node.id), marker=True)
            self.named.append(node.id)
        elif node.kind == "final":
            element = ET.SubElement(self.bpmn_process, _q("bpmn", "endEvent"), {"id": node_id, "name": name})
            self._shape(node_id, self._drawn(node.id))
            self.named.append(node.id)
        else:
            tag = "callActivity" if state is not None and state.starts is not None else "userTask"
            if node.lane is None:
                tag = "task"
            element = ET.SubElement(self.bpmn_process, _q("bpmn", tag), {"id": node_id, "name": name})
            if state is not None and state.starts is not None:
                element.set("calledElement", state.starts.process)
            self._shape(node_id, self._drawn(node.id))
            self.tasks[node_id] = self._drawn(node.id)
        documentation = self._node_documentation(node, state)
        if documentation:
            element.insert(0, _documentation_element(documentation))
        if state is not None:
            extensions = self._step_extensions(state)
            if len(extensions):
                element.insert(1 if documentation else 0, extensions)
        for edge in self.diagram.edges:
            if edge.dest == node.id:
                ET.SubElement(element, _q("bpmn", "incoming")).text = self._flow_id(edge)
        for edge in self.diagram.edges:
            if edge.source == node.id and edge.kind != "deadline" and edge not in self.escapes:
                ET.SubElement(element, _q("bpmn", "outgoing")).text = self._flow_id(edge)
        return element

    def _node_documentation(self, node: Node, state: State | None) -> str:
        lines = []
        if state is not None and state.description is not None:
            lines.append(self.words(state.description))
        lines.extend(d for d in (node.starts, node.limit, node.time_limit) if d)
        lines.extend(node.records)
        lines.extend(part.line for part in node.parts)
        if state is not None:
            for transition in state.transitions:
                for signoff in transition.signoffs:
                    who = self.words(signoff.label or _role_label(self.process, signoff.role))
                    lines.append(
                        self.phrase("须签字", "sign-off")
                        + f": {who} ({transition.trigger}"
                        + (f"; {signoff.when}" if signoff.when else "")
                        + ")"
                    )
        if node.source:
            lines.append(self.phrase("来源", "source") + ": " + node.source)
        if node.addition:
            lines.append(node.addition)
        return clean("\n".join(line.replace("\n", " / ") for line in lines))

    def _step_extensions(self, state: State) -> ET.Element:
        extensions = ET.Element(_q("bpmn", "extensionElements"))
        for transition in state.transitions:
            for signoff in transition.signoffs:
                attrs = {"trigger": transition.trigger, "role": signoff.role}
                if signoff.label is not None:
                    attrs.update({"zh": clean(signoff.label.zh), "en": clean(signoff.label.en)})
                if signoff.when:
                    attrs["when"] = clean(signoff.when)
                if signoff.same_actor_as:
                    attrs["sameActorAs"] = " ".join(signoff.same_actor_as)
                if signoff.not_actor_of:
                    attrs["notActorOf"] = " ".join(signoff.not_actor_of)
                ET.SubElement(extensions, _q("procflow", "signoff"), attrs)
        for part in state.parts:
            attrs = {
                "id": part.id,
                "zh": clean(part.label.zh),
                "en": clean(part.label.en),
                "roles": " ".join(part.roles),
                "required": "true" if part.required else "false",
            }
            if part.required_when:
                attrs["requiredWhen"] = clean(part.required_when)
            if part.for_each:
                attrs["forEach"] = f"data.{part.for_each}"
            ET.SubElement(extensions, _q("procflow", "part"), attrs)
        return extensions

    def _boundary_events(self, state: State, attached: str) -> None:
        """The events on the step's border, spread along its bottom edge: its time limit, its deadlines,
        then the shared transitions that leave it."""
        if state.id not in self.layout.nodes:
            return
        box = self._drawn(state.id)
        events: list[str] = []
        limit: Duration | DataLimit | None = state.time_limit or state.time_limit_from
        if limit is not None:
            event_id = f"limit-{state.id}"
            name = self.phrase("时限", "time limit")
            element = self._boundary(event_id, attached, name, limit, interrupting=False)
            _documentation(
                element,
                self.phrase("到期标记为逾期,不离开步骤", "when it passes, the step is overdue; nothing leaves it"),
                first=True,
            )
            events.append(event_id)
        for deadline in state.deadlines:
            after: Duration | DataLimit | None = deadline.after or deadline.after_from
            event_id = f"deadline-{state.id}-{deadline.fire}"
            self.boundary[(state.id, deadline.fire)] = event_id
            name = self.phrase("期限", "deadline")
            element = self._boundary(event_id, attached, name, after, interrupting=True)
            _documentation(
                element,
                self.phrase(f"到期自动触发 {deadline.fire}", f"when it passes, the engine fires {deadline.fire}"),
                first=True,
            )
            events.append(event_id)
        for transition in state.transitions:
            edge = self.escape_of.get((state.id, transition.trigger))
            if edge is not None:
                events.append(self._escape(self.escapes[edge], attached, edge))
        # Spread along the bottom edge (the layout made the step wide enough), the time limit leftmost; alone,
        # a limit sits at the left and an event a flow leaves at the right, clear of the name in the middle.
        places = (
            [0.2 if limit is not None else 0.8]
            if len(events) == 1
            else [(index + 1) / (len(events) + 1) for index in range(len(events))]
        )
        # A timer's name is written under it, in the band the layout kept below the step (kept clear of the
        # step's ends); a shared transition's beside the flow it starts (see _flows).
        named = _border_names(self.process, state.id, self.escapes, self.lang)
        for event_id, place, title in zip(events, places, named, strict=True):
            cx = box.x + box.width * place
            if title:
                half = BOUNDARY_LABEL_WIDTH / 2
                cx = min(max(cx, box.x + half), box.x + box.width - half)
            box_of_event = Box(cx - EVENT_SIZE / 2, box.y + box.height - EVENT_SIZE / 2, EVENT_SIZE, EVENT_SIZE)
            label = None
            if title:
                height = text_box(title, LABEL_SIZE, BOUNDARY_LABEL_WIDTH)[1]
                top = box.y + box.height + EVENT_SIZE / 2 + LABEL_GAP
                label = Box(cx - BOUNDARY_LABEL_WIDTH / 2, top, BOUNDARY_LABEL_WIDTH, height)
            self._shape(event_id, box_of_event, label=label)

    def _escape(self, escape: Escape, attached: str, edge: Edge) -> str:
        """A shared transition leaving a step: an interrupting boundary event catching the transition's
        message (the event fired, from whichever of its steps the case is in), with the flow to where it leads."""
        transition = escape.transition
        element = ET.SubElement(
            self.bpmn_process,
            _q("bpmn", "boundaryEvent"),
            {
                "id": escape.event,
                "name": self.words(transition.label).replace("\n", " / "),
                "attachedToRef": attached,
                "cancelActivity": "true",
            },
        )
        steps = len(transition.sources)
        said = [
            self.phrase(
                f"{steps} 个步骤共有的转移 {transition.trigger}", f"{transition.trigger}, shared by {steps} steps"
            )
        ]
        if transition.cancels:
            said.append(self.phrase(CANCELS.zh, CANCELS.en))
        _documentation(element, "; ".join(said))
        extensions = ET.SubElement(element, _q("bpmn", "extensionElements"))
        attrs = {"trigger": transition.trigger, "roles": " ".join(transition.roles)}
        if transition.cancels:
            attrs["cancels"] = "true"
        ET.SubElement(extensions, _q("procflow", "shared"), {k: v for k, v in attrs.items() if v})
        ET.SubElement(element, _q("bpmn", "outgoing")).text = self._flow_id(edge)
        ET.SubElement(
            element,
            _q("bpmn", "messageEventDefinition"),
            {"id": f"{escape.event}-message", "messageRef": _message_id(transition.trigger)},
        )
        return escape.event

    def _messages(self) -> None:
        """One ``bpmn:message`` per shared transition that leaves a task, named by its label."""
        shared = {escape.transition.trigger: escape.transition for escape in self.escapes.values()}
        for transition in shared.values():
            ET.SubElement(
                self.root,
                _q("bpmn", "message"),
                {"id": _message_id(transition.trigger), "name": self.words(transition.label).replace("\n", " / ")},
            )

    def _boundary(
        self, event_id: str, attached: str, name: str, limit: Duration | DataLimit | None, *, interrupting: bool
    ) -> ET.Element:
        element = ET.SubElement(
            self.bpmn_process,
            _q("bpmn", "boundaryEvent"),
            {"id": event_id, "name": name, "attachedToRef": attached, "cancelActivity": str(interrupting).lower()},
        )
        timer_extension = _timer_extension(limit)
        if timer_extension is not None:
            extensions = ET.SubElement(element, _q("bpmn", "extensionElements"))
            extensions.append(timer_extension)
        for edge in self.diagram.edges:
            if edge.kind == "deadline" and self._deadline_source(edge) == event_id:
                ET.SubElement(element, _q("bpmn", "outgoing")).text = self._flow_id(edge)
        definition = ET.SubElement(element, _q("bpmn", "timerEventDefinition"), {"id": f"{event_id}-timer"})
        if isinstance(limit, Duration):
            when = ET.SubElement(definition, _q("bpmn", "timeDuration"), _formal())
            when.text = iso_duration(limit)
        elif isinstance(limit, DataLimit):
            tag = "timeDate" if limit.unit is None else "timeDuration"
            when = ET.SubElement(definition, _q("bpmn", tag), {**_formal(), "language": EXPRESSION_LANGUAGE})
            when.text = clean(limit.expression)
        return element

    def _deadline_source(self, edge: Edge) -> str:
        for step in sorted(edge.steps):
            event = self.boundary.get((step.source, step.via)) or _deadline_id(self.process, step.source, step.via)
            if event is not None:
                return event
        return _node_id(edge.source)

    # --- flows ---

    def _flow_id(self, edge: Edge) -> str:
        return f"flow-{self.diagram.edges.index(edge) + 1}"

    def _source(self, edge: Edge) -> str:
        """The flow node a flow leaves from: the step, its deadline's timer, or a shared transition's event."""
        escape = self.escapes.get(edge)
        if escape is not None:
            return escape.event
        if edge.kind == "deadline":
            return self._deadline_source(edge)
        return _node_id(edge.source)

    def _route_flows(self) -> None:
        """Every flow's route, before any name is placed, so that no name goes where a flow runs."""
        for edge in self.diagram.edges:
            source = self._source(edge)
            route, label = self.layout.take_edge(edge.source, edge.dest)
            ends = {source, _node_id(edge.dest), _node_id(edge.source)}
            self.routes[edge] = (self._around(self._attached(route, edge, source), ends), label)
        for node_id in self.named:
            element_id = _node_id(node_id)
            below = self._name_below(node_id)
            if below is None:
                continue
            # Below the shape as BPM tools put it; when a flow runs through it there, above it (the layout
            # keeps as much room there), else beside it, where that is clear and in the lane.
            shape = self.shapes[element_id]
            middle = shape.y + shape.height / 2 - below.height / 2
            candidates = [
                below,
                replace(below, y=shape.y - LABEL_GAP - below.height),
                replace(below, x=shape.x + shape.width + LABEL_GAP, y=middle),
                replace(below, x=shape.x - LABEL_GAP - below.width, y=middle),
            ]
            lane = self.lane_of.get(node_id)
            area = self.shapes.get(f"lane-{lane}") if lane is not None else None
            box = next(
                (
                    b
                    for i, b in enumerate(candidates)
                    if not self._crossed(b)
                    and (i < 2 or (not any(_overlap(b, t) for t in self.taken) and (area is None or _within(b, area))))
                ),
                below,
            )
            self._label(self.shape_elements[element_id], box)

    def _crossed(self, box: Box, own: Edge | None = None) -> bool:
        """Whether a flow (other than ``own``) runs through ``box``."""
        return any(
            _crosses(a, b, box)
            for edge, (route, _) in self.routes.items()
            if edge != own
            for a, b in zip(route, route[1:], strict=False)
        )

    def _flows(self) -> None:
        self._route_flows()
        for edge in self.diagram.edges:
            flow_id = self._flow_id(edge)
            escape = self.escapes.get(edge)
            source = self._source(edge)
            name = "; ".join(clean(label.text).replace("\n", " / ") for label in edge.labels)
            attrs = {"id": flow_id, "sourceRef": source, "targetRef": _node_id(edge.dest)}
            if name:
                attrs["name"] = name
            flow = ET.SubElement(self.bpmn_process, _q("bpmn", "sequenceFlow"), attrs)
            notes = [clean(label.note).replace("\n", "; ") for label in edge.labels if label.note]
            notes += [clean(label.addition) for label in edge.labels if label.addition]
            if any(self._cancels(step) for step in edge.steps):
                notes.append(self.phrase(CANCELS.zh, CANCELS.en))
            if escape is not None and escape.transition.addition is not None:
                notes.append(self.words(escape.transition.addition))
            if notes:
                _documentation(flow, "\n".join(notes))
            extensions = ET.SubElement(flow, _q("bpmn", "extensionElements"))
            for step in sorted(edge.steps):
                kind = "branch" if step.kind == "branch" else "transition"
                key = "branch" if step.kind == "branch" else "trigger"
                move = {"kind": kind, "from": step.source, key: step.via}
                if self._cancels(step):
                    move["cancels"] = "true"
                ET.SubElement(extensions, _q("procflow", "move"), move)
            guards = [label.guard for label in edge.labels if label.guard]
            if escape is not None and escape.transition.conditions:
                condition = ET.SubElement(
                    flow, _q("bpmn", "conditionExpression"), {**_formal(), "language": EXPRESSION_LANGUAGE}
                )
                conditions = escape.transition.conditions
                condition.text = clean(
                    conditions[0] if len(conditions) == 1 else " and ".join(f"({c})" for c in conditions)
                )
            elif edge.source.startswith(CHOICE):
                condition = ET.SubElement(
                    flow, _q("bpmn", "conditionExpression"), {**_formal(), "language": EXPRESSION_LANGUAGE}
                )
                condition.text = self._event_condition(edge)
            elif guards and edge.kind != "default":
                condition = ET.SubElement(
                    flow, _q("bpmn", "conditionExpression"), {**_formal(), "language": EXPRESSION_LANGUAGE}
                )
                condition.text = clean(guards[0] if len(guards) == 1 else " or ".join(f"({g})" for g in guards))
            route, label = self.routes[edge]
            self._edge(flow_id, route, label, name, edge)
            if escape is not None and label is not None:  # the event's name, beside the flow it starts
                box = self._free(_label_box(label, _event_name(escape.transition, self.lang)), edge)
                self._label(self.shape_elements[escape.event], box)

    def _cancels(self, step: Step) -> bool:
        state = self.process.states.get(step.source)
        transitions = state.transitions if state is not None and step.kind == "transition" else ()
        return any(t.trigger == step.via and t.cancels for t in transitions)

    def _attached(self, route: list[tuple[float, float]], edge: Edge, source: str) -> list[tuple[float, float]]:
        """The route with its ends on the shapes as drawn: an event or gateway is smaller than the node Graphviz
        placed, and a flow fired by a deadline leaves from its timer on the step's border."""
        if len(route) < 2:
            return route
        route = list(route)
        drawn = self._box_of(source)
        if source != _node_id(edge.source) and drawn is not None:
            cx, cy = drawn.center
            route[0] = (round(cx, 1), round(cy + EVENT_SIZE / 2, 1))
            task = self.layout.nodes.get(edge.source)
            while len(route) > 2 and task is not None and _inside(task, route[1]):
                del route[1]  # Graphviz left from the step's side: no going back across it
        elif drawn is not None and drawn != self.layout.nodes.get(edge.source):
            route[0] = _border(drawn, route[1])
        target = self._box_of(_node_id(edge.dest))
        if target is not None and target != self.layout.nodes.get(edge.dest):
            route[-1] = _border(target, route[-2])
        return route

    def _event_condition(self, edge: Edge) -> str:
        """Which event takes this way out of a step: ``trigger == 'approve'``, with the transition's guard."""
        triggers = sorted({step.via for step in edge.steps if step.kind == "transition"})
        said: list[tuple[str, str]] = []
        for step_id in sorted({step.source for step in edge.steps}):
            state = self.process.states.get(step_id)
            for transition in state.transitions if state is not None else ():
                if transition.trigger in triggers and transition.trigger not in [t for t, _ in said]:
                    guard = " and ".join(f"({c})" for c in transition.conditions)
                    said.append((transition.trigger, guard))
        if not said:
            said = [(t, "") for t in triggers]
        terms = [f"trigger == '{t}'" + (f" and {g}" if g else "") for t, g in said]
        return clean(terms[0] if len(terms) == 1 else " or ".join(f"({t})" for t in terms))

    def _edge(
        self,
        flow_id: str,
        route: list[tuple[float, float]],
        label: tuple[float, float] | None = None,
        name: str = "",
        flow: Edge | None = None,
    ) -> None:
        edge = ET.SubElement(self.plane, _q("bpmndi", "BPMNEdge"), {"id": f"{flow_id}-di", "bpmnElement": flow_id})
        for x, y in route:
            ET.SubElement(edge, _q("di", "waypoint"), {"x": _n(x), "y": _n(y)})
        if label is not None and name and flow is not None:
            self._label(edge, self._free(_label_box(label, name), flow))

    def _free(self, box: Box, flow: Edge) -> Box:
        """Where a flow's name goes: where the layout put it, unless that covers a shape or a name drawn before
        (dot places a label on a node now and then, as on flows between clusters) or another flow runs
        through it; then the first place beside the flow, from its middle outwards, that is clear; failing
        any, the first that covers nothing; failing that, where the layout put it."""
        route = self.routes[flow][0]
        candidates = [box]
        for fraction in (0.5, 0.35, 0.65, 0.2, 0.8, 0.1, 0.9):
            x, y = _along(route, fraction)
            gap = 6.0
            candidates += [
                Box(x + gap, y - box.height / 2, box.width, box.height),
                Box(x - gap - box.width, y - box.height / 2, box.width, box.height),
                Box(x - box.width / 2, y + gap, box.width, box.height),
                Box(x - box.width / 2, y - gap - box.height, box.width, box.height),
            ]
        clear = [c for c in candidates if not any(_overlap(c, taken) for taken in self.taken)]
        return next((c for c in clear if not self._crossed(c, flow)), clear[0] if clear else box)

    def _around(self, route: list[tuple[float, float]], ends: set[str]) -> list[tuple[float, float]]:
        """The route with a detour round each task (other than its ends) that a piece of it runs through:
        dot now and then draws a flow between clusters, or from a node back past the one above it, across a node."""
        route = list(route)
        obstacles = [box for task, box in self.tasks.items() if task not in ends]
        for _ in range(2 * len(obstacles)):
            hit = next(
                ((i, b) for i in range(len(route) - 1) for b in obstacles if _crosses(route[i], route[i + 1], b)),
                None,
            )
            if hit is None:
                break
            index, box = hit
            after = index + 1  # the first point past the box: the points inside it are left out
            while after < len(route) - 1 and _inside(box, route[after]):
                after += 1
            detour = _detour(route[index], route[after], box, obstacles)
            if detour is None:
                break
            route[index + 1 : after] = detour
        return route

    # --- clocks ---

    def _clocks(self) -> None:
        for band in self.diagram.clocks:
            annotation_id = f"clock-{band.id}"
            annotation = ET.SubElement(self.bpmn_process, _q("bpmn", "textAnnotation"), {"id": annotation_id})
            ET.SubElement(annotation, _q("bpmn", "text")).text = clean(band.title)
            self._shape(annotation_id, self.layout.nodes[f"clock_{band.id}"])
            for state_id in band.covers:
                association_id = f"clock-{band.id}-{state_id}"
                ET.SubElement(
                    self.bpmn_process,
                    _q("bpmn", "association"),
                    {"id": association_id, "sourceRef": annotation_id, "targetRef": _node_id(state_id)},
                )
                self.layout.take_edge(f"clock_{band.id}", state_id)  # routed around the chart: drawn straight
                note, step = self.layout.nodes[f"clock_{band.id}"], self._drawn(state_id)
                self._edge(association_id, [_border(note, step.center), _border(step, note.center)])

    def _process_extensions(self) -> ET.Element:
        extensions = ET.Element(_q("bpmn", "extensionElements"))
        for clock in self.process.clocks.values():
            element = ET.SubElement(
                extensions,
                _q("procflow", "clock"),
                {"id": clock.id, "zh": clean(clock.label.zh), "en": clean(clock.label.en)},
            )
            for word, point in (("starts", clock.starts), ("stops", clock.stops)):
                attrs = {k: " ".join(v) for k, v in (("enter", point.enter), ("leave", point.leave), ("on", point.on))}
                ET.SubElement(element, _q("procflow", word), {k: v for k, v in attrs.items() if v})
            if clock.pauses:
                ET.SubElement(element, _q("procflow", "pauses"), {"in": " ".join(clock.pauses)})
            for name, (duration, action) in clock.thresholds.items():
                attrs = {"name": name}
                if isinstance(duration, Duration):
                    attrs["duration"] = iso_duration(duration)
                    if duration.working:
                        attrs["working"] = "true"
                elif isinstance(duration, DataLimit):
                    attrs["expression"] = clean(duration.expression)
                    if duration.working:
                        attrs["working"] = "true"
                if action.overdue:
                    attrs["overdue"] = "true"
                if action.fire:
                    attrs["fire"] = " ".join(action.fire)
                if action.notify:
                    attrs["notify"] = " ".join(action.notify)
                ET.SubElement(element, _q("procflow", "threshold"), attrs)
        return extensions

    # --- DI ---

    def _box_of(self, element_id: str) -> Box | None:
        return self.shapes.get(element_id)

    def _drawn(self, node_id: str) -> Box:
        """The shape of a layout node where Graphviz placed the node: a task at the top of its room, an event or
        gateway (of BPMN's own size) in the middle."""
        return self.rooms[node_id].shape(self.layout.nodes[node_id])

    def _name_below(self, node_id: str) -> Box | None:
        """Where an event's or gateway's name is written: below it, in the room the layout kept."""
        room = self.rooms[node_id]
        if not room.label_height:
            return None
        shape = self._drawn(node_id)
        cx = shape.center[0]
        return Box(cx - room.label_width / 2, shape.y + shape.height + LABEL_GAP, room.label_width, room.label_height)

    def _shape(
        self,
        element_id: str,
        box: Box,
        *,
        horizontal: bool | None = None,
        label: Box | None = None,
        marker: bool = False,
    ) -> None:
        attrs = {"id": f"{element_id}-di", "bpmnElement": element_id}
        if horizontal is not None:
            attrs["isHorizontal"] = str(horizontal).lower()
        if marker:
            attrs["isMarkerVisible"] = "true"
        shape = ET.SubElement(self.plane, _q("bpmndi", "BPMNShape"), attrs)
        _bounds(shape, box)
        self.shapes[element_id] = box
        self.shape_elements[element_id] = shape
        self.taken.append(box if horizontal is None else Box(box.x, box.y, box.width, TITLE_BAND))
        if label is not None:
            self._label(shape, label)

    def _label(self, parent: ET.Element, box: Box) -> None:
        self.taken.append(box)
        _bounds(ET.SubElement(parent, _q("bpmndi", "BPMNLabel")), box)


def _within(inner: Box, outer: Box) -> bool:
    return (
        inner.x >= outer.x
        and inner.y >= outer.y
        and inner.x + inner.width <= outer.x + outer.width
        and inner.y + inner.height <= outer.y + outer.height
    )


def _overlap(a: Box, b: Box) -> bool:
    return min(a.x + a.width, b.x + b.width) > max(a.x, b.x) and min(a.y + a.height, b.y + b.height) > max(a.y, b.y)


def _along(route: list[tuple[float, float]], fraction: float) -> tuple[float, float]:
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


def _crosses(a: tuple[float, float], b: tuple[float, float], box: Box) -> bool:
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


def _detour(
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
        if any(_crosses(p, q, o) for p, q in zip(path, path[1:], strict=False) for o in obstacles):
            continue
        length = sum(math.hypot(q[0] - p[0], q[1] - p[1]) for p, q in zip(path, path[1:], strict=False))
        if best is None or length < best[0]:
            best = (length, [(round(near[0], 1), round(near[1], 1)), (round(far[0], 1), round(far[1], 1))])
    return best[1] if best is not None else None


def _label_box(centre: tuple[float, float], name: str) -> Box:
    """The label box of a flow's (or shared transition's event's) name, centred where the layout put it."""
    size = _flow_label_size(name)
    width, height = size if size is not None else (0.0, 0.0)
    return Box(centre[0] - width / 2, centre[1] - height / 2, width, height)


def _node_id(node: str) -> str:
    """The BPMN id of a layout node: a state keeps its id (letters, digits, ``_``); the others have a ``-``:
    ``start-event``, ``choice-STEP``."""
    if node == START_EVENT:
        return "start-event"
    if node.startswith(CHOICE):
        return "choice-" + node.removeprefix(CHOICE)
    return node


def _message_id(trigger: str) -> str:
    return f"message-{trigger}"


def _deadline_id(process: Process, state_id: str, trigger: str) -> str | None:
    state = process.states.get(state_id)
    if state is not None and any(d.fire == trigger for d in state.deadlines):
        return f"deadline-{state_id}-{trigger}"
    return None


def _bounds(parent: ET.Element, box: Box) -> None:
    ET.SubElement(
        parent,
        _q("dc", "Bounds"),
        {"x": _n(box.x), "y": _n(box.y), "width": _n(box.width), "height": _n(box.height)},
    )


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _formal() -> dict[str, str]:
    return {_q("xsi", "type"): "bpmn:tFormalExpression"}


def _documentation_element(text: str) -> ET.Element:
    element = ET.Element(_q("bpmn", "documentation"))
    element.text = text
    return element


def _documentation(parent: ET.Element, text: str, *, first: bool = True) -> None:
    """``bpmn:documentation`` comes first among an element's children (the XSD's order)."""
    if first:
        parent.insert(0, _documentation_element(clean(text)))
    else:
        parent.append(_documentation_element(clean(text)))


def _timer_extension(limit: Duration | DataLimit | None) -> ET.Element | None:
    """What a timer's ISO 8601 text cannot say: working time on the calendar, a time before a date."""
    if isinstance(limit, Duration) and limit.working:
        return ET.Element(_q("procflow", "timer"), {"working": "true", "written": clean(limit.text)})
    if isinstance(limit, DataLimit):
        attrs = {"expression": clean(limit.expression)}
        if limit.working:
            attrs["working"] = "true"
        if limit.unit is not None:
            attrs["unit"] = limit.unit
        if limit.before is not None:
            attrs["before"] = iso_duration(limit.before)
        return ET.Element(_q("procflow", "timer"), attrs)
    return None


_ISO_UNITS = {"minute": "PT{}M", "hour": "PT{}H", "day": "P{}D", "week": "P{}W"}


def iso_duration(duration: Duration) -> str:
    """A duration as ISO 8601 (``P3D``, ``PT4H``); one written with several parts is kept as written."""
    if duration.unit == "second":
        return duration.text if duration.text.upper().startswith("P") else f"PT{duration.amount}S"
    return _ISO_UNITS[duration.unit].format(duration.amount)


def _role_label(process: Process, role_id: str) -> Text:
    role = process.roles.get(role_id)
    return role.label if role is not None else Text(role_id, role_id)


def _words(lang: Lang, zh: str, en: str) -> str:
    return {"zh": zh, "en": en, "both": f"{zh} / {en}"}[lang]
