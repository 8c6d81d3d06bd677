"""The BPMN document being written, what its parts share: the root, the process and the diagram plane;
the shapes drawn (BPMN DI) and what a name must keep clear of; the ids flows are written under.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from engine.model import Process, Text
from engine.render.bpmn_geometry import DotLayout
from engine.render.bpmn_layout import Box, Room
from engine.render.bpmn_nodes import Escape, bpmn_id, deadline_id, label_in
from engine.render.bpmn_rooms import LABEL_GAP, TITLE_BAND
from engine.render.bpmn_xml import PREFIXES, add_bounds, qname
from engine.render.diagram import Diagram, Edge, Lang


class DocumentBase:
    """The document under way; ``LaneWriter``, ``FlowNodeWriter`` and ``FlowWriter`` each write a part."""

    def __init__(
        self,
        process: Process,
        diagram: Diagram,
        escapes: Mapping[Edge, Escape],
        lang: Lang,
        positions: DotLayout,
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
        for prefix, uri in PREFIXES.items():
            ET.register_namespace(prefix, uri)
        self.root = ET.Element(
            qname("bpmn", "definitions"),
            {
                "id": f"definitions-{process.id}",
                "targetNamespace": f"https://procflow.dev/processes/{process.id}",
                "exporter": "procflow",
                "exporterVersion": str(process.version),
            },
        )
        self.collaboration = ET.SubElement(
            self.root, qname("bpmn", "collaboration"), {"id": f"collaboration-{process.id}"}
        )
        self.bpmn_process = ET.Element(
            qname("bpmn", "process"), {"id": process.id, "name": self.words(process.title), "isExecutable": "true"}
        )
        self.plane: ET.Element
        self.shapes: dict[str, Box] = {}
        self.boundary: dict[tuple[str, str], str] = {}
        """Deadline boundary events by (step, trigger fired), where the transition they fire leaves from."""
        self.lane_of: dict[str, str | None] = {n.id: n.lane for n in diagram.nodes}

    def words(self, label: Text) -> str:
        return label_in(self.lang, label)

    def phrase(self, zh: str, en: str) -> str:
        return self.words(Text(zh, en))

    def _deadline_source(self, edge: Edge) -> str:
        for step in sorted(edge.steps):
            event = self.boundary.get((step.source, step.via)) or deadline_id(self.process, step.source, step.via)
            if event is not None:
                return event
        return bpmn_id(edge.source)

    def _flow_id(self, edge: Edge) -> str:
        return f"flow-{self.diagram.edges.index(edge) + 1}"

    def _source(self, edge: Edge) -> str:
        """The flow node a flow leaves from: the step, its deadline's timer, or a shared transition's event."""
        escape = self.escapes.get(edge)
        if escape is not None:
            return escape.event
        if edge.kind == "deadline":
            return self._deadline_source(edge)
        return bpmn_id(edge.source)

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
        shape = ET.SubElement(self.plane, qname("bpmndi", "BPMNShape"), attrs)
        add_bounds(shape, box)
        self.shapes[element_id] = box
        self.shape_elements[element_id] = shape
        self.taken.append(box if horizontal is None else Box(box.x, box.y, box.width, TITLE_BAND))
        if label is not None:
            self._label(shape, label)

    def _label(self, parent: ET.Element, box: Box) -> None:
        self.taken.append(box)
        add_bounds(ET.SubElement(parent, qname("bpmndi", "BPMNLabel")), box)
