"""Lanes: each department a lane whose child lanes are its roles, a role without a department a lane of
its own, each holding the flow nodes in it (a boundary event in its step's).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from engine.errors import RenderError
from engine.render.bpmn_di import DocumentBase
from engine.render.bpmn_nodes import bpmn_id, one_line
from engine.render.bpmn_xml import qname


class LaneWriter(DocumentBase):
    """The process's ``bpmn:laneSet`` and each lane's shape."""

    def _lanes(self) -> None:
        lanes = self.diagram.lanes
        if not lanes:
            return
        lane_set = ET.SubElement(self.bpmn_process, qname("bpmn", "laneSet"), {"id": "lanes"})
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
            children = ET.SubElement(element, qname("bpmn", "childLaneSet"), {"id": f"lanes-{group.id}"})
            for child in inside:
                self._lane(
                    children, f"lane-{child.id}", child.label, members.get(child.id, []), f"cluster_lane_{child.id}"
                )

    def _lane(self, parent: ET.Element, lane_id: str, label: str, nodes: list[str], cluster: str) -> ET.Element:
        element = ET.SubElement(parent, qname("bpmn", "lane"), {"id": lane_id, "name": one_line(label)})
        for node in nodes:
            ET.SubElement(element, qname("bpmn", "flowNodeRef")).text = node
        box = self.layout.clusters.get(cluster)
        if box is None:
            raise RenderError(f"the layout has no lane {cluster}")
        self._shape(lane_id, box, horizontal=False)
        return element

    def _flow_node_ids(self) -> list[tuple[str, str]]:
        """Every flow node as (BPMN id, the layout node whose lane it is in): boundary events are in their step's."""
        ids = []
        for node in self.diagram.nodes:
            ids.append((bpmn_id(node.id), node.id))
            state = self.process.states.get(node.id)
            if state is None:
                continue
            if state.time_limit is not None or state.time_limit_from is not None:
                ids.append((f"limit-{state.id}", node.id))
            for deadline in state.deadlines:
                ids.append((f"deadline-{state.id}-{deadline.fire}", node.id))
            ids.extend((escape.event, node.id) for escape in self.escapes.values() if escape.step == node.id)
        return ids
