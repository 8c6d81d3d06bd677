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

Each part is worked out in a module of its own: ``bpmn_nodes`` (the flow graph, ids and names),
``bpmn_rooms`` (the room each shape and name needs), ``bpmn_geometry`` (dot's positions, boxes and
routes), ``bpmn_xml`` (namespaces and small elements); the document is written by ``bpmn_di`` (what
the writers share, the shapes drawn), ``bpmn_lanes``, ``bpmn_flow_nodes`` and ``bpmn_flows``, put
together here with the clocks.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from engine.model import DataLimit, Duration, Process
from engine.render.bpmn_flow_nodes import FlowNodeWriter
from engine.render.bpmn_flows import FlowWriter
from engine.render.bpmn_geometry import DotLayout, border_point
from engine.render.bpmn_lanes import LaneWriter
from engine.render.bpmn_layout import layout_dot
from engine.render.bpmn_nodes import bpmn_id, flow_label, with_bpmn_nodes
from engine.render.bpmn_rooms import flow_label_size, rooms_of, titles_of
from engine.render.bpmn_xml import (
    BPMN_NS,
    BPMNDI_NS,
    DC_NS,
    DI_NS,
    EXPRESSION_LANGUAGE,
    PROCFLOW_NS,
    XSI_NS,
    add_documentation,
    iso_duration,
    qname,
)
from engine.render.diagram import Lang, extract
from engine.render.dot import clean
from engine.render.graphviz_run import DEFAULT_TIMEOUT, layout

__all__ = [  # what ``engine.render.bpmn`` has always offered, wherever each now lives
    "BPMNDI_NS",
    "BPMN_NS",
    "DC_NS",
    "DI_NS",
    "EXPRESSION_LANGUAGE",
    "PROCFLOW_NS",
    "XSI_NS",
    "iso_duration",
    "to_bpmn",
]


def to_bpmn(process: Process, lang: Lang = "both", *, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """The process as BPMN 2.0 XML (UTF-8), laid out by Graphviz's ``dot`` within ``timeout`` seconds.

    Raises ``RenderError`` when ``dot`` is missing or fails, ``LayoutTimeout`` past the bound."""
    drawn, escapes = with_bpmn_nodes(process, extract(process, lang), lang)
    rooms = rooms_of(process, drawn, escapes, lang)
    flow_labels = [flow_label_size(flow_label(process, edge, escapes, lang)) for edge in drawn.edges]
    dot_text = layout_dot(drawn, rooms, flow_labels, titles_of(process, drawn, lang))
    positions = DotLayout(json.loads(layout(dot_text, "json", timeout=timeout)))
    return _Writer(process, drawn, escapes, lang, positions, rooms).document()


class _Writer(LaneWriter, FlowNodeWriter, FlowWriter):
    """The whole document: the pool, its lanes, flow nodes and flows, the clocks and their annotations."""

    def document(self) -> bytes:
        process = self.process
        participant = ET.SubElement(
            self.collaboration,
            qname("bpmn", "participant"),
            {"id": f"pool-{process.id}", "name": self.words(process.title), "processRef": process.id},
        )
        if process.description is not None:
            add_documentation(participant, self.words(process.description))
        self.root.append(self.bpmn_process)
        self._messages()
        extensions = self._process_extensions()
        if len(extensions):
            self.bpmn_process.append(extensions)
        bpmn_diagram = ET.SubElement(self.root, qname("bpmndi", "BPMNDiagram"), {"id": f"diagram-{process.id}"})
        self.plane = ET.SubElement(
            bpmn_diagram,
            qname("bpmndi", "BPMNPlane"),
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

    def _clocks(self) -> None:
        for band in self.diagram.clocks:
            annotation_id = f"clock-{band.id}"
            annotation = ET.SubElement(self.bpmn_process, qname("bpmn", "textAnnotation"), {"id": annotation_id})
            ET.SubElement(annotation, qname("bpmn", "text")).text = clean(band.title)
            self._shape(annotation_id, self.layout.nodes[f"clock_{band.id}"])
            for state_id in band.covers:
                association_id = f"clock-{band.id}-{state_id}"
                ET.SubElement(
                    self.bpmn_process,
                    qname("bpmn", "association"),
                    {"id": association_id, "sourceRef": annotation_id, "targetRef": bpmn_id(state_id)},
                )
                self.layout.take_edge(f"clock_{band.id}", state_id)  # routed around the chart: drawn straight
                note, step = self.layout.nodes[f"clock_{band.id}"], self._drawn(state_id)
                self._edge(association_id, [border_point(note, step.center), border_point(step, note.center)])

    def _process_extensions(self) -> ET.Element:
        extensions = ET.Element(qname("bpmn", "extensionElements"))
        for clock in self.process.clocks.values():
            element = ET.SubElement(
                extensions,
                qname("procflow", "clock"),
                {"id": clock.id, "zh": clean(clock.label.zh), "en": clean(clock.label.en)},
            )
            for word, point in (("starts", clock.starts), ("stops", clock.stops)):
                attrs = {k: " ".join(v) for k, v in (("enter", point.enter), ("leave", point.leave), ("on", point.on))}
                ET.SubElement(element, qname("procflow", word), {k: v for k, v in attrs.items() if v})
            if clock.pauses:
                ET.SubElement(element, qname("procflow", "pauses"), {"in": " ".join(clock.pauses)})
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
                ET.SubElement(element, qname("procflow", "threshold"), attrs)
        return extensions
