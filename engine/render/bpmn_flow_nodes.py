"""Flow nodes: the start event, tasks, gateways and end events with their documentation and procflow's
data, and the boundary events on a step's border (its time limit, its deadlines, the shared transitions
that leave it) with the messages these catch.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from engine.model import DataLimit, Duration, State
from engine.render.bpmn_di import DocumentBase
from engine.render.bpmn_layout import LABEL_SIZE, Box, text_box
from engine.render.bpmn_nodes import CANCELS, START_EVENT, Escape, bpmn_id, message_id, one_line, role_label
from engine.render.bpmn_rooms import BOUNDARY_LABEL_WIDTH, EVENT_SIZE, LABEL_GAP, border_names
from engine.render.bpmn_xml import (
    EXPRESSION_LANGUAGE,
    add_documentation,
    documentation_element,
    formal_expression,
    iso_duration,
    procflow_timer,
    qname,
)
from engine.render.diagram import Edge, Node
from engine.render.dot import clean


class FlowNodeWriter(DocumentBase):
    """Each flow node, its boundary events and their shapes."""

    def _nodes(self) -> None:
        for node in self.diagram.nodes:
            state = self.process.states.get(node.id)
            element = self._node(node, state)
            if state is not None:
                self._boundary_events(state, element.get("id", ""))

    def _node(self, node: Node, state: State | None) -> ET.Element:
        node_id = bpmn_id(node.id)
        name = one_line(node.title)
        if node.id == START_EVENT:
            element = ET.SubElement(self.bpmn_process, qname("bpmn", "startEvent"), {"id": node_id, "name": name})
            self._shape(node_id, self._drawn(node.id))
            self.named.append(node.id)
        elif node.kind == "decision":
            element = ET.SubElement(self.bpmn_process, qname("bpmn", "exclusiveGateway"), {"id": node_id, "name": name})
            default = next((e for e in self.diagram.edges if e.source == node.id and e.kind == "default"), None)
            if default is not None:
                element.set("default", self._flow_id(default))
            self._shape(node_id, self._drawn(node.id), marker=True)
            self.named.append(node.id)
        elif node.kind == "final":
            element = ET.SubElement(self.bpmn_process, qname("bpmn", "endEvent"), {"id": node_id, "name": name})
            self._shape(node_id, self._drawn(node.id))
            self.named.append(node.id)
        else:
            tag = "callActivity" if state is not None and state.starts is not None else "userTask"
            if node.lane is None:
                tag = "task"
            element = ET.SubElement(self.bpmn_process, qname("bpmn", tag), {"id": node_id, "name": name})
            if state is not None and state.starts is not None:
                element.set("calledElement", state.starts.process)
            self._shape(node_id, self._drawn(node.id))
            self.tasks[node_id] = self._drawn(node.id)
        documentation = self._node_documentation(node, state)
        if documentation:
            element.insert(0, documentation_element(documentation))
        if state is not None:
            extensions = self._step_extensions(state)
            if len(extensions):
                element.insert(1 if documentation else 0, extensions)
        for edge in self.diagram.edges:
            if edge.dest == node.id:
                ET.SubElement(element, qname("bpmn", "incoming")).text = self._flow_id(edge)
        for edge in self.diagram.edges:
            if edge.source == node.id and edge.kind != "deadline" and edge not in self.escapes:
                ET.SubElement(element, qname("bpmn", "outgoing")).text = self._flow_id(edge)
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
                    who = self.words(signoff.label or role_label(self.process, signoff.role))
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
        extensions = ET.Element(qname("bpmn", "extensionElements"))
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
                ET.SubElement(extensions, qname("procflow", "signoff"), attrs)
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
            ET.SubElement(extensions, qname("procflow", "part"), attrs)
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
            add_documentation(
                element,
                self.phrase("到期标记为逾期,不离开步骤", "when it passes, the step is overdue; nothing leaves it"),
            )
            events.append(event_id)
        for deadline in state.deadlines:
            after: Duration | DataLimit | None = deadline.after or deadline.after_from
            event_id = f"deadline-{state.id}-{deadline.fire}"
            self.boundary[(state.id, deadline.fire)] = event_id
            name = self.phrase("期限", "deadline")
            element = self._boundary(event_id, attached, name, after, interrupting=True)
            add_documentation(
                element,
                self.phrase(f"到期自动触发 {deadline.fire}", f"when it passes, the engine fires {deadline.fire}"),
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
        named = border_names(self.process, state.id, self.escapes, self.lang)
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
            qname("bpmn", "boundaryEvent"),
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
        add_documentation(element, "; ".join(said))
        extensions = ET.SubElement(element, qname("bpmn", "extensionElements"))
        attrs = {"trigger": transition.trigger, "roles": " ".join(transition.roles)}
        if transition.cancels:
            attrs["cancels"] = "true"
        ET.SubElement(extensions, qname("procflow", "shared"), {k: v for k, v in attrs.items() if v})
        ET.SubElement(element, qname("bpmn", "outgoing")).text = self._flow_id(edge)
        ET.SubElement(
            element,
            qname("bpmn", "messageEventDefinition"),
            {"id": f"{escape.event}-message", "messageRef": message_id(transition.trigger)},
        )
        return escape.event

    def _messages(self) -> None:
        """One ``bpmn:message`` per shared transition that leaves a task, named by its label."""
        shared = {escape.transition.trigger: escape.transition for escape in self.escapes.values()}
        for transition in shared.values():
            ET.SubElement(
                self.root,
                qname("bpmn", "message"),
                {"id": message_id(transition.trigger), "name": self.words(transition.label).replace("\n", " / ")},
            )

    def _boundary(
        self, event_id: str, attached: str, name: str, limit: Duration | DataLimit | None, *, interrupting: bool
    ) -> ET.Element:
        element = ET.SubElement(
            self.bpmn_process,
            qname("bpmn", "boundaryEvent"),
            {"id": event_id, "name": name, "attachedToRef": attached, "cancelActivity": str(interrupting).lower()},
        )
        timer_extension = procflow_timer(limit)
        if timer_extension is not None:
            extensions = ET.SubElement(element, qname("bpmn", "extensionElements"))
            extensions.append(timer_extension)
        for edge in self.diagram.edges:
            if edge.kind == "deadline" and self._deadline_source(edge) == event_id:
                ET.SubElement(element, qname("bpmn", "outgoing")).text = self._flow_id(edge)
        definition = ET.SubElement(element, qname("bpmn", "timerEventDefinition"), {"id": f"{event_id}-timer"})
        if isinstance(limit, Duration):
            when = ET.SubElement(definition, qname("bpmn", "timeDuration"), formal_expression())
            when.text = iso_duration(limit)
        elif isinstance(limit, DataLimit):
            tag = "timeDate" if limit.unit is None else "timeDuration"
            when = ET.SubElement(
                definition, qname("bpmn", tag), {**formal_expression(), "language": EXPRESSION_LANGUAGE}
            )
            when.text = clean(limit.expression)
        return element
