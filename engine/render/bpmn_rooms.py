"""The room each part of one process's BPMN diagram needs, as bpmn-js draws it: a task wide enough for
its name and the events on its border, an event's or gateway's name below it, a clock's annotation,
each flow's name and each lane's title (measured with ``bpmn_layout``'s text widths).
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.model import Process
from engine.render.bpmn_layout import LABEL_SIZE, TEXT_SIZE, Box, Room, text_box, text_lines
from engine.render.bpmn_nodes import START_EVENT, Escape, label_in, one_line, phrase_in
from engine.render.diagram import Diagram, Edge, Lang, Node
from engine.render.dot import clean

EVENT_SIZE = 36.0
GATEWAY_SIZE = 50.0
TASK_WIDTH = 100.0
TASK_HEIGHT = 60.0
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


def _drawn_kind(node: Node) -> str:
    """What the layout node is drawn as: ``event`` (start or end), ``gateway`` or ``task``."""
    if node.id == START_EVENT or node.kind == "final":
        return "event"
    return "gateway" if node.kind == "decision" else "task"


def rooms_of(process: Process, diagram: Diagram, escapes: Mapping[Edge, Escape], lang: Lang) -> dict[str, Room]:
    """The room each layout node takes as a viewer draws it: a task wide enough for its name in a few
    lines and for the events on its border, with a band below for their lower halves and the timers'
    names; an event or gateway with its name below it (as much room above, so it stays centred); a
    clock's annotation the size of its text."""
    rooms: dict[str, Room] = {}
    for node in diagram.nodes:
        name = one_line(node.title)
        kind = _drawn_kind(node)
        if kind == "task":
            rooms[node.id] = _task_room(name, border_names(process, node.id, escapes, lang))
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


def border_names(process: Process, step: str, escapes: Mapping[Edge, Escape], lang: Lang) -> list[str | None]:
    """The events on a step's border in the order they are placed, each with the name written under it
    (None: a shared transition's event, whose name goes beside the flow it starts)."""
    state = process.states.get(step)
    if state is None:
        return []
    names: list[str | None] = []
    if state.time_limit is not None or state.time_limit_from is not None:
        names.append(phrase_in(lang, "时限", "time limit"))
    names.extend(phrase_in(lang, "期限", "deadline") for _ in state.deadlines)
    names.extend(None for escape in escapes.values() if escape.step == step)
    return names


def flow_label_size(name: str) -> tuple[float, float] | None:
    if not name:
        return None
    width, height = text_box(name, LABEL_SIZE, FLOW_LABEL_WIDTH)
    return width + 4, height + 4


def titles_of(process: Process, diagram: Diagram, lang: Lang) -> dict[str, tuple[float, float]]:
    """The title band of each lane (``cluster_lane_ROLE``, ``cluster_dept_DEPARTMENT``) and of the pool
    (``graph``): wide enough for the title in two lines, as high as bpmn-js's band."""
    titles = {f"cluster_lane_{lane.id}": _title(lane.label) for lane in diagram.lanes}
    titles.update({f"cluster_dept_{group.id}": _title(group.label) for group in diagram.groups})
    titles["graph"] = _title(label_in(lang, process.title))
    return titles


def _title(label: str) -> tuple[float, float]:
    name = one_line(label)
    width = 60.0
    while len(text_lines(name, TEXT_SIZE, width)) > 2:
        width += 5
    return width + 10, TITLE_BAND + 4


def label_box(centre: tuple[float, float], name: str) -> Box:
    """The label box of a flow's (or shared transition's event's) name, centred where the layout put it."""
    size = flow_label_size(name)
    width, height = size if size is not None else (0.0, 0.0)
    return Box(centre[0] - width / 2, centre[1] - height / 2, width, height)
