"""Sequence flows: each with its name, procflow's moves and its condition, routed on the shapes as drawn
(round a task dot ran it through), and the names of flows, events and gateways placed clear of what
is drawn.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from engine.render.bpmn_di import DocumentBase
from engine.render.bpmn_geometry import (
    border_point,
    box_within,
    boxes_overlap,
    crosses,
    detour_round,
    point_along,
    point_in,
)
from engine.render.bpmn_layout import Box
from engine.render.bpmn_nodes import CANCELS, CHOICE, bpmn_id, event_name, flow_name
from engine.render.bpmn_rooms import EVENT_SIZE, LABEL_GAP, label_box
from engine.render.bpmn_xml import EXPRESSION_LANGUAGE, add_documentation, formal_expression, format_number, qname
from engine.render.diagram import Edge, Step
from engine.render.dot import clean


class FlowWriter(DocumentBase):
    """Every flow, its route and its name, and the names placed once the routes are known."""

    def _route_flows(self) -> None:
        """Every flow's route, before any name is placed, so that no name goes where a flow runs."""
        for edge in self.diagram.edges:
            source = self._source(edge)
            route, label = self.layout.take_edge(edge.source, edge.dest)
            ends = {source, bpmn_id(edge.dest), bpmn_id(edge.source)}
            self.routes[edge] = (self._around(self._attached(route, edge, source), ends), label)
        for node_id in self.named:
            element_id = bpmn_id(node_id)
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
                    and (
                        i < 2
                        or (not any(boxes_overlap(b, t) for t in self.taken) and (area is None or box_within(b, area)))
                    )
                ),
                below,
            )
            self._label(self.shape_elements[element_id], box)

    def _crossed(self, box: Box, own: Edge | None = None) -> bool:
        """Whether a flow (other than ``own``) runs through ``box``."""
        return any(
            crosses(a, b, box)
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
            name = flow_name(edge)
            attrs = {"id": flow_id, "sourceRef": source, "targetRef": bpmn_id(edge.dest)}
            if name:
                attrs["name"] = name
            flow = ET.SubElement(self.bpmn_process, qname("bpmn", "sequenceFlow"), attrs)
            notes = [clean(label.note).replace("\n", "; ") for label in edge.labels if label.note]
            notes += [clean(label.addition) for label in edge.labels if label.addition]
            if any(self._cancels(step) for step in edge.steps):
                notes.append(self.phrase(CANCELS.zh, CANCELS.en))
            if escape is not None and escape.transition.addition is not None:
                notes.append(self.words(escape.transition.addition))
            if notes:
                add_documentation(flow, "\n".join(notes))
            extensions = ET.SubElement(flow, qname("bpmn", "extensionElements"))
            for step in sorted(edge.steps):
                kind = "branch" if step.kind == "branch" else "transition"
                key = "branch" if step.kind == "branch" else "trigger"
                move = {"kind": kind, "from": step.source, key: step.via}
                if self._cancels(step):
                    move["cancels"] = "true"
                ET.SubElement(extensions, qname("procflow", "move"), move)
            guards = [label.guard for label in edge.labels if label.guard]
            if escape is not None and escape.transition.conditions:
                condition = ET.SubElement(
                    flow, qname("bpmn", "conditionExpression"), {**formal_expression(), "language": EXPRESSION_LANGUAGE}
                )
                conditions = escape.transition.conditions
                condition.text = clean(
                    conditions[0] if len(conditions) == 1 else " and ".join(f"({c})" for c in conditions)
                )
            elif edge.source.startswith(CHOICE):
                condition = ET.SubElement(
                    flow, qname("bpmn", "conditionExpression"), {**formal_expression(), "language": EXPRESSION_LANGUAGE}
                )
                condition.text = self._event_condition(edge)
            elif guards and edge.kind != "default":
                condition = ET.SubElement(
                    flow, qname("bpmn", "conditionExpression"), {**formal_expression(), "language": EXPRESSION_LANGUAGE}
                )
                condition.text = clean(guards[0] if len(guards) == 1 else " or ".join(f"({g})" for g in guards))
            route, label = self.routes[edge]
            self._edge(flow_id, route, label, name, edge)
            if escape is not None and label is not None:  # the event's name, beside the flow it starts
                box = self._free(label_box(label, event_name(escape.transition, self.lang)), edge)
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
        if source != bpmn_id(edge.source) and drawn is not None:
            cx, cy = drawn.center
            route[0] = (round(cx, 1), round(cy + EVENT_SIZE / 2, 1))
            task = self.layout.nodes.get(edge.source)
            while len(route) > 2 and task is not None and point_in(task, route[1]):
                del route[1]  # Graphviz left from the step's side: no going back across it
        elif drawn is not None and drawn != self.layout.nodes.get(edge.source):
            route[0] = border_point(drawn, route[1])
        target = self._box_of(bpmn_id(edge.dest))
        if target is not None and target != self.layout.nodes.get(edge.dest):
            route[-1] = border_point(target, route[-2])
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
        edge = ET.SubElement(self.plane, qname("bpmndi", "BPMNEdge"), {"id": f"{flow_id}-di", "bpmnElement": flow_id})
        for x, y in route:
            ET.SubElement(edge, qname("di", "waypoint"), {"x": format_number(x), "y": format_number(y)})
        if label is not None and name and flow is not None:
            self._label(edge, self._free(label_box(label, name), flow))

    def _free(self, box: Box, flow: Edge) -> Box:
        """Where a flow's name goes: where the layout put it, unless that covers a shape or a name drawn before
        (dot places a label on a node now and then, as on flows between clusters) or another flow runs
        through it; then the first place beside the flow, from its middle outwards, that is clear; failing
        any, the first that covers nothing; failing that, where the layout put it."""
        route = self.routes[flow][0]
        candidates = [box]
        for fraction in (0.5, 0.35, 0.65, 0.2, 0.8, 0.1, 0.9):
            x, y = point_along(route, fraction)
            gap = 6.0
            candidates += [
                Box(x + gap, y - box.height / 2, box.width, box.height),
                Box(x - gap - box.width, y - box.height / 2, box.width, box.height),
                Box(x - box.width / 2, y + gap, box.width, box.height),
                Box(x - box.width / 2, y - gap - box.height, box.width, box.height),
            ]
        clear = [c for c in candidates if not any(boxes_overlap(c, taken) for taken in self.taken)]
        return next((c for c in clear if not self._crossed(c, flow)), clear[0] if clear else box)

    def _around(self, route: list[tuple[float, float]], ends: set[str]) -> list[tuple[float, float]]:
        """The route with a detour round each task (other than its ends) that a piece of it runs through:
        dot now and then draws a flow between clusters, or from a node back past the one above it, across a node."""
        route = list(route)
        obstacles = [box for task, box in self.tasks.items() if task not in ends]
        for _ in range(2 * len(obstacles)):
            hit = next(
                ((i, b) for i in range(len(route) - 1) for b in obstacles if crosses(route[i], route[i + 1], b)),
                None,
            )
            if hit is None:
                break
            index, box = hit
            after = index + 1  # the first point past the box: the points inside it are left out
            while after < len(route) - 1 and point_in(box, route[after]):
                after += 1
            detour = detour_round(route[index], route[after], box, obstacles)
            if detour is None:
                break
            route[index + 1 : after] = detour
        return route
