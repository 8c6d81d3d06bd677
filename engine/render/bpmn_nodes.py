"""The chart as BPMN's flow graph: the start event, a ``choice-`` gateway after a step with several ways
out, each shared transition as an escape from each of its steps (a boundary event and its flow); the
BPMN id of each element, and the names written on them in the chosen language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from engine.model import Process, Text, Transition
from engine.render.diagram import Diagram, Edge, Lang, Node, Step
from engine.render.dot import clean

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


def one_line(text: str) -> str:
    """A name on one line, as BPMN tools show names: its lines (Chinese, then English) joined by `` / ``."""
    return clean(text).replace("\n", " / ")


def flow_label(process: Process, edge: Edge, escapes: Mapping[Edge, Escape], lang: Lang) -> str:
    """The text written beside a flow: its name, or for a shared transition's flow its event's name."""
    escape = escapes.get(edge)
    if escape is not None:
        return event_name(escape.transition, lang)
    return flow_name(edge)


def flow_name(edge: Edge) -> str:
    return "; ".join(one_line(label.text) for label in edge.labels)


def event_name(transition: Transition, lang: Lang) -> str:
    return one_line(label_in(lang, transition.label))


def label_in(lang: Lang, label: Text) -> str:
    """A label in the chosen language; ``both``: ``中文 / English`` (once when they are the same)."""
    if lang == "both":
        return clean(label.zh if label.zh == label.en else f"{label.zh} / {label.en}")
    return clean(label.zh if lang == "zh" else label.en)


@dataclass(frozen=True)
class Escape:
    """A shared transition as it leaves one of its steps: an interrupting message boundary event on the
    step's border, and the flow from it to the transition's destination."""

    transition: Transition
    step: str
    event: str
    """The boundary event's id, ``event-STEP-TRIGGER``."""


def with_bpmn_nodes(process: Process, diagram: Diagram, lang: Lang) -> tuple[Diagram, dict[Edge, Escape]]:
    """The chart with what BPMN draws and a flowchart does not, so that Graphviz places it too: the start
    event above the start step; each shared transition (the chart's ``any of N steps`` note) as one edge
    from each of its steps that is a task to its destination, each the flow out of a boundary event
    (returned beside the diagram); and after a step with several ways out an exclusive gateway
    (``choice-``) that takes the way of the event fired (BPMN reads several flows out of a task as a fork)."""
    nodes = [n for n in diagram.nodes if n.kind != "any"]
    edges = [e for e in diagram.edges if not e.source.startswith(ANY)]
    start = next((n for n in nodes if n.kind == "start"), None)
    if start is not None:
        nodes.insert(0, Node(START_EVENT, "start", phrase_in(lang, "开始", "Start"), start.lane, None, (), None, None))
        edges.insert(0, Edge(START_EVENT, start.id, "transition", (), frozenset()))
    escapes: dict[Edge, Escape] = {}
    kinds = {n.id: n.kind for n in nodes}
    for index, shared in enumerate(process.shared_transitions):
        drawn = next(e for e in diagram.edges if e.source == f"{ANY}{index}")
        for step in shared.sources:
            if kinds.get(step) not in TASK_KINDS:
                continue  # a case never rests in a decision: no event can reach it there
            move = frozenset([Step("transition", step, shared.trigger, shared.dest)])
            if deadline_id(process, step, shared.trigger) is not None:
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


def bpmn_id(node: str) -> str:
    """The BPMN id of a layout node: a state keeps its id (letters, digits, ``_``); the others have a ``-``:
    ``start-event``, ``choice-STEP``."""
    if node == START_EVENT:
        return "start-event"
    if node.startswith(CHOICE):
        return "choice-" + node.removeprefix(CHOICE)
    return node


def message_id(trigger: str) -> str:
    return f"message-{trigger}"


def deadline_id(process: Process, state_id: str, trigger: str) -> str | None:
    state = process.states.get(state_id)
    if state is not None and any(d.fire == trigger for d in state.deadlines):
        return f"deadline-{state_id}-{trigger}"
    return None


def role_label(process: Process, role_id: str) -> Text:
    role = process.roles.get(role_id)
    return role.label if role is not None else Text(role_id, role_id)


def phrase_in(lang: Lang, zh: str, en: str) -> str:
    return {"zh": zh, "en": en, "both": f"{zh} / {en}"}[lang]
