"""A process as BPMN 2.0 XML, drawn (BPMN DI) from the same Graphviz layout as the chart.

What maps to what (the README repeats it for the people who open the file in a BPM tool):

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
rectangles and edge routes come from ``dot -Tjson`` on the chart's own DOT text (``dot.to_dot``)
with the start event, the ``choice-`` gateways and one edge per step of each shared transition in
place of its note, so the diagram opens laid out as the chart is.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from engine.errors import RenderError
from engine.model import DataLimit, Duration, Process, State, Text, Transition
from engine.render.diagram import Diagram, Edge, Lang, Node, Step, extract
from engine.render.dot import clean, to_dot
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
_POINTS_PER_INCH = 72.0


def _q(prefix: str, name: str) -> str:
    return f"{{{_PREFIXES[prefix]}}}{name}"


def to_bpmn(process: Process, lang: Lang = "both", *, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """The process as BPMN 2.0 XML (UTF-8), laid out by Graphviz's ``dot`` within ``timeout`` seconds.

    Raises ``RenderError`` when ``dot`` is missing or fails, ``LayoutTimeout`` past the bound."""
    drawn, escapes = _with_bpmn_nodes(process, extract(process, lang), lang)
    widths = {
        step: (count + 1) * (EVENT_SIZE + BOUNDARY_GAP) for step, count in _border_events(process, escapes).items()
    }
    dot_text = _sized_for_bpmn(
        to_dot(drawn, lang, label_nodes=False), {step: width for step, width in widths.items() if width > TASK_WIDTH}
    )
    positions = _Layout(json.loads(layout(dot_text, "json", timeout=timeout)))
    return _Writer(process, drawn, escapes, lang, positions).document()


def _sized_for_bpmn(dot_text: str, widths: Mapping[str, float]) -> str:
    """The chart's DOT text with every node at least BPMN's usual task size (Graphviz reads ``width`` and
    ``height`` as minimums), so a task's name and its marker fit, and events have room for their names;
    a step in ``widths`` at least that wide, so the events on its border sit side by side."""
    default = "\n  node ["
    at = dot_text.index(default)
    end = dot_text.index("\n", at + 1)
    minimum = f'\n  node [width="{TASK_WIDTH / _POINTS_PER_INCH:.3f}", height="{TASK_HEIGHT / _POINTS_PER_INCH:.3f}"];'
    wider = "".join(f'  "{step}" [width="{width / _POINTS_PER_INCH:.3f}"];\n' for step, width in widths.items())
    close = dot_text.rindex("}")
    text = dot_text[:close] + wider + dot_text[close:]
    return text[:end] + minimum + text[end:]


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


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2


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
        points = controls[:1]
        for i in range(0, len(controls) - 3, 3):
            p0, p1, p2, p3 = controls[i : i + 4]
            points.append(_bezier(p0, p1, p2, p3, 0.5))
            points.append(p3)
        if end is not None:
            points.append(end)
        return [(round(x, 1), round(y, 1)) for x, y in points]

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
        self, process: Process, diagram: Diagram, escapes: Mapping[Edge, Escape], lang: Lang, positions: _Layout
    ):
        self.process, self.diagram, self.escapes, self.lang, self.layout = process, diagram, escapes, lang, positions
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
        if self.lang == "zh":
            return clean(label.zh)
        if self.lang == "en":
            return clean(label.en)
        return clean(label.zh if label.zh == label.en else f"{label.zh} / {label.en}")

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
            self._shape(node_id, self._sized(node.id, EVENT_SIZE, EVENT_SIZE), label=True)
        elif node.kind == "decision":
            element = ET.SubElement(self.bpmn_process, _q("bpmn", "exclusiveGateway"), {"id": node_id, "name": name})
            default = next((e for e in self.diagram.edges if e.source == node.id and e.kind == "default"), None)
            if default is not None:
                element.set("default", self._flow_id(default))
            box = self._sized(node.id, GATEWAY_SIZE, GATEWAY_SIZE)
            self._shape(node_id, box, label=bool(name), marker=True)
        elif node.kind == "final":
            element = ET.SubElement(self.bpmn_process, _q("bpmn", "endEvent"), {"id": node_id, "name": name})
            self._shape(node_id, self._sized(node.id, EVENT_SIZE, EVENT_SIZE), label=True)
        else:
            tag = "callActivity" if state is not None and state.starts is not None else "userTask"
            if node.lane is None:
                tag = "task"
            element = ET.SubElement(self.bpmn_process, _q("bpmn", tag), {"id": node_id, "name": name})
            if state is not None and state.starts is not None:
                element.set("calledElement", state.starts.process)
            self._shape(node_id, self.layout.nodes[node.id])
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
        box = self.layout.nodes.get(state.id)
        if box is None:
            return
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
        named = {escape.event for escape in self.escapes.values()}  # a timer's name is its kind: no label
        for event_id, place in zip(events, places, strict=True):
            x = box.x + box.width * place - EVENT_SIZE / 2
            box_of_event = Box(x, box.y + box.height - EVENT_SIZE / 2, EVENT_SIZE, EVENT_SIZE)
            self._shape(event_id, box_of_event, label=event_id in named)

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

    def _flows(self) -> None:
        for edge in self.diagram.edges:
            flow_id = self._flow_id(edge)
            escape = self.escapes.get(edge)
            if escape is not None:
                source = escape.event
            elif edge.kind == "deadline":
                source = self._deadline_source(edge)
            else:
                source = _node_id(edge.source)
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
            route, label = self.layout.take_edge(edge.source, edge.dest)
            self._edge(flow_id, self._attached(route, edge, source), label, name)

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
    ) -> None:
        edge = ET.SubElement(self.plane, _q("bpmndi", "BPMNEdge"), {"id": f"{flow_id}-di", "bpmnElement": flow_id})
        for x, y in route:
            ET.SubElement(edge, _q("di", "waypoint"), {"x": _n(x), "y": _n(y)})
        if label is not None and name:
            width = min(max(len(name) * 6.5, 30.0), 180.0)
            height = 14.0 * (1 + int(len(name) * 6.5 // 180))
            self._label(edge, Box(label[0] - width / 2, label[1] - height / 2, width, height))

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
                note, step = self.layout.nodes[f"clock_{band.id}"], self.layout.nodes[state_id]
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

    def _sized(self, node_id: str, width: float, height: float) -> Box:
        """A shape of BPMN's own size (an event, a gateway) where Graphviz put the node's centre."""
        cx, cy = self.layout.nodes[node_id].center
        return Box(cx - width / 2, cy - height / 2, width, height)

    def _shape(
        self, element_id: str, box: Box, *, horizontal: bool | None = None, label: bool = False, marker: bool = False
    ) -> None:
        attrs = {"id": f"{element_id}-di", "bpmnElement": element_id}
        if horizontal is not None:
            attrs["isHorizontal"] = str(horizontal).lower()
        if marker:
            attrs["isMarkerVisible"] = "true"
        shape = ET.SubElement(self.plane, _q("bpmndi", "BPMNShape"), attrs)
        _bounds(shape, box)
        self.shapes[element_id] = box
        if label:  # the name below the event or gateway, as BPM tools place it
            self._label(shape, Box(box.x - LABEL_SPREAD, box.y + box.height + 4, box.width + 2 * LABEL_SPREAD, 28))

    def _label(self, parent: ET.Element, box: Box) -> None:
        _bounds(ET.SubElement(parent, _q("bpmndi", "BPMNLabel")), box)


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
