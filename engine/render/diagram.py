"""A process as a flowchart, before any drawing syntax: nodes, edges and swimlanes with their labels
in one language setting. ``dot.py`` and ``mermaid.py`` draw this; neither reads the model itself.

Lanes are roles. A role that belongs to a department sits in that department's group, so a
chart shows both who acts and which department answers for it (PROCEDURES.md names both); a role
without a department (the customer) is a lane of its own. States without a role (final states) sit
outside every lane.

Everything here is ordered as the definition file orders it, so the same YAML always gives the
same diagram.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, NamedTuple
from urllib.parse import quote

from engine.errors import RenderError
from engine.model import Branch, Clock, DataLimit, Duration, Limit, Part, Process, State, StateKind, Text, Transition

Lang = Literal["zh", "en", "both"]
LANGS: tuple[Lang, ...] = ("zh", "en", "both")

NodeKind = Literal["start", "task", "decision", "wait", "final", "any"]
"""A state's kind, or ``any``: the origin drawn for a transition shared by several states."""

EdgeKind = Literal["transition", "deadline", "branch", "default"]


class Step(NamedTuple):
    """One move an instance can make, as its history records it: a transition (``via`` is the
    trigger) or a decision's branch (``via`` is the branch's index, or ``default``)."""

    kind: Literal["transition", "branch"]
    source: str
    via: str
    dest: str


@dataclass(frozen=True)
class Lane:
    id: str
    """The role's id."""
    label: str
    group: str | None
    """The department's id, when the role belongs to one."""


@dataclass(frozen=True)
class Group:
    """A department: the lanes of its roles are drawn inside it."""

    id: str
    label: str


@dataclass(frozen=True)
class Node:
    id: str
    kind: NodeKind
    title: str
    lane: str | None
    time_limit: str | None
    """The step's time limit in words of the chosen language (``时限 3天 / limit 3 days``)."""
    records: tuple[str, ...]
    """The records the step produces, one label each."""
    source: str | None
    """The document section the step is taken from, with the document's title and file."""
    href: str | None
    """A link to that section of the source document, when a place for the documents was given."""
    addition: str | None = None
    """Why the step is there although no source document names it (``None``: it is sourced)."""
    starts: str | None = None
    """The procedure the step hands the work to, in words (``子流程 workshop_repair``), drawn as a
    sub-procedure box; ``None`` for an ordinary step."""
    limit: str | None = None
    """How often the step may be entered, in words (``≤3×, then → escalate``); ``None``: no limit."""
    parts: tuple[NodePart, ...] = ()
    """The work shared in this step, each part with who does it, drawn inside the step's box."""
    acted_by: str | None = None
    """The roles other than the lane's that move the work on from here, in words (``办理:主管 / acted
    on by: Supervisor``): a role that only fires transitions has no lane, so it is named at its steps."""


@dataclass(frozen=True)
class NodePart:
    """A part of a step as drawn: its label, the roles (lanes) that do it, and when it is needed."""

    id: str
    title: str
    roles: tuple[str, ...]
    condition: str | None
    """``必要时 / when …``, ``可选 / optional``, ``每项 / for each …``, or ``None`` for a part always required."""

    @property
    def line(self) -> str:
        """The part on one line: ``▸ 维修工程师意见 — 维修工程师 (当 … / when …)``."""
        who = ", ".join(r.replace("\n", " ") for r in self.roles)
        return f"▸ {self.title.replace(chr(10), ' / ')} — {who}" + (f" ({self.condition})" if self.condition else "")


@dataclass(frozen=True)
class EdgeLabel:
    """What one transition or branch says on its arrow."""

    text: str
    guard: str | None
    """The transition's conditions or the branch's condition, as written in the definition."""
    note: str | None
    """What else an auditor needs: the deadline that fires it, the sign-offs it needs, 否则 / otherwise."""
    tooltip: str
    addition: str | None = None
    """Why the transition (or the deadline that fires it) is there although no source names it."""


@dataclass(frozen=True)
class Edge:
    """One arrow. Transitions of the same kind between the same two steps (five ways to compensate
    a customer, all leading to the leader's approval) share an arrow and list their labels."""

    source: str
    dest: str
    kind: EdgeKind
    labels: tuple[EdgeLabel, ...]
    steps: frozenset[Step]
    """The moves of a history this edge stands for (several for a transition shared by many states)."""
    addition: bool = False
    """Its transitions are additions not in the source (sourced and added ones never share an arrow)."""

    @property
    def tooltip(self) -> str:
        return "; ".join(label.tooltip for label in self.labels)


@dataclass(frozen=True)
class ClockBand:
    """A clock (a promise across steps) drawn as a labelled note bracketing the steps it runs over."""

    id: str
    title: str
    """Its name and its points in words: ``返修 3天以内 · 上限 7天``."""
    covers: tuple[str, ...]
    """The steps it can be running (or paused) in, in file order."""
    paused: tuple[str, ...]
    """Of those, the steps where it does not run (the customer is waited for)."""
    tooltip: str
    """When it starts and stops, as the definition says."""


@dataclass(frozen=True)
class Diagram:
    id: str
    title: str
    subtitle: str
    groups: tuple[Group, ...]
    lanes: tuple[Lane, ...]
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    clocks: tuple[ClockBand, ...] = ()

    @property
    def has_additions(self) -> bool:
        """Whether the chart needs the legend entry for additions not in the source."""
        return any(n.addition is not None for n in self.nodes) or any(e.addition for e in self.edges)


ADDITION = Text("非来源文件所载", "not in the source document")
"""The legend's words for a step or arrow declared as an addition."""


def text(label: Text, lang: Lang) -> str:
    """A label in ``zh``, ``en`` or ``both`` (Chinese above English)."""
    if lang == "zh":
        return label.zh
    if lang == "en":
        return label.en
    return label.zh if label.zh == label.en else f"{label.zh}\n{label.en}"


def extract(process: Process, lang: Lang = "both", *, source_base: str | None = None) -> Diagram:
    """The flowchart of ``process``. With ``source_base`` (a folder or URL ending in ``/``), steps link
    to their source document at ``source_base + file``, scrolled to the section where a browser can."""
    if lang not in LANGS:
        raise RenderError(f"unknown language {lang!r}: choose one of {', '.join(LANGS)}")
    nodes = [_node(process, state, lang, source_base) for state in process.states.values()]
    edges = [edge for state in process.states.values() for edge in _state_edges(process, state, lang)]
    for index, shared in enumerate(process.shared_transitions):
        origin = f"_any_{index}"
        nodes.append(_any_node(process, origin, shared, lang))
        edges.append(_transition_edge(process, origin, shared, lang, sources=shared.sources))
    edges = _merged(edges)
    lanes, groups = _lanes(process, lang)
    return Diagram(
        id=process.id,
        title=text(process.title, lang),
        subtitle=f"{process.id} · v{process.version} · {process.content_hash[:12]}",
        groups=groups,
        lanes=lanes,
        nodes=tuple(nodes),
        edges=tuple(edges),
        clocks=tuple(_clock_band(process, clock, lang) for clock in process.clocks.values()),
    )


def _clock_band(process: Process, clock: Clock, lang: Lang) -> ClockBand:
    points = []
    for name, (duration, _) in clock.thresholds.items():
        if duration is not None:
            zh, en = {"warning": ("预警", "warning"), "limit": ("时限", "limit"), "ceiling": ("上限", "ceiling")}[name]
            if isinstance(duration, DataLimit):  # worked out when the clock starts
                points.append(_words(lang, f"{zh} {data_limit_zh(duration)}", f"{en} {duration.text}"))
            else:
                points.append(_words(lang, f"{zh} {duration_zh(duration)}", f"{en} {duration_en(duration)}"))
    covers = _clock_cover(process, clock)
    moments = []
    for word, point in (("starts", clock.starts), ("stops", clock.stops)):
        said = [f"enter {s}" for s in point.enter] + [f"leave {s}" for s in point.leave] + [f"on {t}" for t in point.on]
        moments.append(f"{word}: {', '.join(said)}")
    return ClockBand(
        id=clock.id,
        title=_words(lang, "时钟", "Clock") + ": " + text(clock.label, lang) + "\n" + " · ".join(points),
        covers=covers,
        paused=tuple(s for s in covers if s in clock.pauses),
        tooltip=f"{clock.id} · " + "; ".join(moments),
    )


def _clock_cover(process: Process, clock: Clock) -> tuple[str, ...]:
    """The steps a clock can run over: from where it starts, along every exit, until it stops."""
    states = process.states
    begins = [s for s in clock.starts.enter if s in states]
    begins += [d for s in clock.starts.leave if s in states for d in states[s].exits()]
    begins += [t.dest for t in process.transitions if t.trigger in clock.starts.on]
    seen: set[str] = set()
    todo = list(begins)
    while todo:
        state_id = todo.pop()
        if state_id not in states or state_id in seen or state_id in clock.stops.enter or states[state_id].is_final:
            continue
        seen.add(state_id)
        if state_id in clock.stops.leave:
            continue
        state = states[state_id]
        todo.extend(t.dest for t in state.transitions if t.trigger not in clock.stops.on)
        todo.extend(b.dest for b in state.branches)
        if state.default is not None:
            todo.append(state.default.dest)
    return tuple(s for s in states if s in seen and states[s].kind is not StateKind.DECISION)


def _merged(edges: list[Edge]) -> list[Edge]:
    """One arrow per source, destination and kind, in the order of the first; labels in file order."""
    merged: dict[tuple[str, str, str, bool], Edge] = {}
    for edge in edges:
        key = (edge.source, edge.dest, edge.kind, edge.addition)
        if key in merged:
            first = merged[key]
            merged[key] = Edge(
                first.source,
                first.dest,
                first.kind,
                first.labels + edge.labels,
                first.steps | edge.steps,
                first.addition,
            )
        else:
            merged[key] = edge
    return list(merged.values())


def _lanes(process: Process, lang: Lang) -> tuple[tuple[Lane, ...], tuple[Group, ...]]:
    """The roles that hold a step, in the order their first step appears; departments likewise."""
    used = dict.fromkeys(s.role for s in process.states.values() if s.role is not None)
    lanes = []
    for role_id in used:
        role = process.roles.get(role_id)
        if role is None:  # a definition that failed its checks; draw the lane with its id
            lanes.append(Lane(role_id, role_id, None))
            continue
        group = role.department if role.department in process.departments else None
        lanes.append(Lane(role_id, text(role.label, lang), group))
    group_ids = dict.fromkeys(lane.group for lane in lanes if lane.group is not None)
    groups = tuple(Group(g, text(process.departments[g].label, lang)) for g in group_ids)
    return tuple(lanes), groups


def _node(process: Process, state: State, lang: Lang, source_base: str | None) -> Node:
    records = tuple(_record_label(process, record_id, lang) for record_id in state.records_written)
    limit = None
    if state.time_limit is not None:
        limit = _words(lang, f"时限 {duration_zh(state.time_limit)}", f"limit {duration_en(state.time_limit)}")
    elif state.time_limit_from is not None:
        from_data = state.time_limit_from
        limit = _words(lang, f"时限 {data_limit_zh(from_data)}", f"limit {data_limit_en(from_data)}")
    source, href = None, None
    if state.source is not None:
        document = process.sources.get(state.source.document)
        if document is not None:
            source = f"{state.source.section} — {text(document.title, lang)} ({document.file})".replace("\n", " / ")
            if source_base is not None:
                href = source_base + document.file + _text_fragment(state.source.section)
        else:
            source = state.source.section
    addition = _words(lang, state.addition.zh, state.addition.en) if state.addition is not None else None
    starts = None
    if state.starts is not None:
        starts = _words(lang, f"子流程:{state.starts.process}", f"sub-procedure: {state.starts.process}")
    entries = None
    if state.limit is not None:
        times, then = _times_shown(state.limit), state.limit.then
        entries = _words(
            lang,
            f"≤{times}× 至多进入 {state.limit.text} 次" + (f",其后 → {then}" if then else ""),
            f"≤{times}× entered at most {state.limit.text} times" + (f", then → {then}" if then else ""),
        )
    parts = tuple(_node_part(process, part, lang) for part in state.parts)
    acted_by = _acted_by(process, state.role, [t for t in state.transitions if not t.shared], lang)
    return Node(
        state.id,
        state.kind.value,
        text(state.label, lang),
        state.role,
        limit,
        records,
        source,
        href,
        addition,
        starts,
        entries,
        parts,
        acted_by,
    )


def _acted_by(process: Process, owner: str | None, transitions: list[Transition], lang: Lang) -> str | None:
    """The roles besides ``owner`` that fire ``transitions``, in file order, in words; ``None``: none."""
    others = dict.fromkeys(r for t in transitions for r in t.roles if r != owner)
    if not others:
        return None
    zh = "、".join(_role_text(process, r).zh for r in others)
    en = ", ".join(_role_text(process, r).en for r in others)
    return _words(lang, f"办理:{zh}", f"acted on by: {en}")


def _node_part(process: Process, part: Part, lang: Lang) -> NodePart:
    conditions = []
    if part.for_each is not None:
        conditions.append(_words(lang, f"每项 data.{part.for_each}", f"each of data.{part.for_each}"))
    if not part.required:
        conditions.append(_words(lang, "可选", "optional"))
    elif part.required_when is not None:
        conditions.append(_words(lang, f"当 {part.required_when}", f"when {part.required_when}"))
    roles = tuple(text(_role_text(process, r), lang).replace("\n", " ") for r in part.roles)
    return NodePart(part.id, text(part.label, lang), roles, "; ".join(conditions) or None)


def _any_node(process: Process, node_id: str, shared: Transition, lang: Lang) -> Node:
    """Ids start with a letter, so ``node_id`` (``_any_0``) cannot be a state's."""
    count = len(shared.sources)
    title = text(Text(f"任一步骤({count} 个)", f"any of {count} steps"), lang)
    acted_by = _acted_by(process, None, [shared], lang)
    return Node(node_id, "any", title, None, None, (), "from: " + ", ".join(shared.sources), None, acted_by=acted_by)


def _record_label(process: Process, record_id: str, lang: Lang) -> str:
    record = process.records.get(record_id)
    if record is None:
        return record_id
    return _words(lang, f"《{record.label.zh}》", record.label.en)


def _state_edges(process: Process, state: State, lang: Lang) -> list[Edge]:
    edges = [
        _transition_edge(process, state.id, t, lang, sources=(state.id,)) for t in state.transitions if not t.shared
    ]
    for index, branch in enumerate(state.branches):
        edges.append(_branch_edge(state, branch, str(index), lang))
    if state.default is not None:
        edges.append(_branch_edge(state, state.default, "default", lang))
    for transition in state.transitions:
        limited = _limit_edge(state.id, transition, lang) if not transition.shared else None
        if limited is not None:
            edges.append(limited)
        entering = _entry_limit_edge(process, state, transition, lang)
        if entering is not None:
            edges.append(entering)
    return edges


def _entry_limit_edge(process: Process, origin: State, transition: Transition, lang: Lang) -> Edge | None:
    """Where a transition into a step with an entry limit goes once the step has been entered that often
    (a start step is left only once, so it never gets there)."""
    target = process.states.get(transition.dest)
    limit = target.limit if target is not None else None
    if limit is None or limit.then is None or transition.dest == origin.id or origin.kind.value == "start":
        return None
    label = EdgeLabel(
        text=text(transition.label, lang),
        guard=None,
        note=_words(lang, f"第 {limit.times + 1} 次进入起", f"from entry {limit.times + 1}")
        if limit.times is not None
        else _words(lang, f"进入 {limit.text} 次后", f"after {limit.text} entries"),
        tooltip=f"{transition.trigger} · {transition.dest} limit {limit.text} → {limit.then}",
    )
    step = Step("transition", origin.id, transition.trigger, limit.then)
    return Edge(origin.id, limit.then, "transition", (label,), frozenset([step]))


def _limit_edge(origin: str, transition: Transition, lang: Lang) -> Edge | None:
    """Where a limited transition leads once its limit is reached (its ``then``), if anywhere."""
    limit = transition.limit
    if limit is None or limit.then is None:
        return None
    if limit.times is not None:
        words = _words(lang, f"第 {limit.times + 1} 次起", f"from attempt {limit.times + 1}")
    else:
        words = _words(lang, f"{limit.text} 次后", f"after {limit.text} attempts")
    label = EdgeLabel(
        text=text(transition.label, lang),
        guard=None,
        note=words,
        tooltip=f"{transition.trigger} · limit {limit.text} → {limit.then}",
    )
    step = Step("transition", origin, transition.trigger, limit.then)
    return Edge(origin, limit.then, "transition", (label,), frozenset([step]))


def _transition_edge(
    process: Process, origin: str, transition: Transition, lang: Lang, *, sources: tuple[str, ...]
) -> Edge:
    notes = []
    deadline = _deadline_firing(process, sources, transition.trigger)
    if isinstance(deadline, DataLimit):
        notes.append(_words(lang, f"{data_limit_zh(deadline)} 自动触发", f"fires {data_limit_en(deadline)}"))
    elif deadline is not None:
        notes.append(_words(lang, f"超过 {duration_zh(deadline)} 自动触发", f"fires after {duration_en(deadline)}"))
    for signoff in transition.signoffs:
        who = signoff.label or _role_text(process, signoff.role)
        zh, en = f"须签字:{who.zh}", f"signed: {who.en}"
        if signoff.same_actor_as:
            states = ", ".join(signoff.same_actor_as)
            zh, en = f"{zh}(须为 {states} 的执行人)", f"{en} (by the actor of {states})"
        if signoff.when:
            zh, en = f"{zh}(仅当 {signoff.when})", f"{en} (only when {signoff.when})"
        notes.append(_words(lang, zh, en))
    starts = process.states[origin].starts if origin in process.states else None
    ended = [final for final, trigger in starts.on_end if trigger == transition.trigger] if starts else []
    if ended:
        notes.append(
            _words(lang, f"子流程结束于 {', '.join(ended)}", f"when the sub-procedure ends: {', '.join(ended)}")
        )
    if transition.limit is not None:
        times = _times_shown(transition.limit)
        notes.append(_words(lang, f"≤{times}× 至多 {transition.limit.text} 次", f"≤{times}×"))
    added = _addition(process, sources, transition)
    if added is not None:
        notes.append(_words(lang, ADDITION.zh, ADDITION.en))
    notes.extend(_record_notes(process, origin, transition, lang))
    roles = ", ".join(transition.roles)
    label = EdgeLabel(
        text=text(transition.label, lang),
        guard=" and ".join(f"({c})" if len(transition.conditions) > 1 else c for c in transition.conditions) or None,
        note="\n".join(notes) or None,
        tooltip=f"{transition.trigger} · {_words(lang, '角色', 'roles')}: {roles}" if roles else transition.trigger,
        addition=_words(lang, added.zh, added.en) if added is not None else None,
    )
    return Edge(
        source=origin,
        dest=transition.dest,
        kind="deadline" if deadline is not None else "transition",
        labels=(label,),
        steps=frozenset(Step("transition", s, transition.trigger, transition.dest) for s in sources),
        addition=added is not None,
    )


def _addition(process: Process, sources: tuple[str, ...], transition: Transition) -> Text | None:
    """Why the transition is not in the source: its own ``addition``, or that of the deadline firing it."""
    if transition.addition is not None:
        return transition.addition
    for state_id in sources:
        state = process.states.get(state_id)
        for deadline in state.deadlines if state else ():
            if deadline.fire == transition.trigger and deadline.addition is not None:
                return deadline.addition
    return None


def _record_notes(process: Process, origin: str, transition: Transition, lang: Lang) -> list[str]:
    """The records an arrow writes when its step's other exits do not (the step's box lists the
    records its exits write), and the records it needs first."""
    state = process.states.get(origin)
    siblings = [t for t in state.transitions if t is not transition] if state is not None else []
    notes = []
    for binding in transition.produces:
        if any(all(b.record != binding.record for b in t.produces) for t in siblings):
            zh, en = _record_names(process, binding.record)
            notes.append(
                _words(lang, f"修订{zh}", f"amends {en}")
                if binding.amend
                else _words(lang, f"填写{zh}", f"writes {en}")
            )
    for record_id in transition.requires:
        zh, en = _record_names(process, record_id)
        notes.append(_words(lang, f"须已有{zh}", f"needs {en}"))
    return notes


def _record_names(process: Process, record_id: str) -> tuple[str, str]:
    record = process.records.get(record_id)
    return (f"《{record.label.zh}》", record.label.en) if record is not None else (record_id, record_id)


def _branch_edge(decision: State, branch: Branch, via: str, lang: Lang) -> Edge:
    is_default = branch.condition is None
    label = EdgeLabel(
        text=text(branch.label, lang),
        guard=branch.condition,
        note=_words(lang, "否则", "otherwise") if is_default else None,
        tooltip=f"{decision.id}: {'default' if is_default else f'branch {int(via) + 1}'}",
    )
    return Edge(
        source=decision.id,
        dest=branch.dest,
        kind="default" if is_default else "branch",
        labels=(label,),
        steps=frozenset({Step("branch", decision.id, via, branch.dest)}),
    )


def _deadline_firing(process: Process, sources: tuple[str, ...], trigger: str) -> Duration | DataLimit | None:
    """When a deadline of the state fires this trigger: the transition is the engine's, not a person's."""
    for state_id in sources:
        state = process.states.get(state_id)
        for deadline in state.deadlines if state else ():
            if deadline.fire == trigger and deadline.after is not None:
                return deadline.after
            if deadline.fire == trigger and deadline.after_from is not None:
                return deadline.after_from
    return None


def _role_text(process: Process, role_id: str) -> Text:
    role = process.roles.get(role_id)
    return role.label if role else Text(role_id, role_id)


def _words(lang: Lang, zh: str, en: str) -> str:
    """A short phrase in the chosen language; in ``both``, on one line (details, not titles)."""
    return {"zh": zh, "en": en, "both": f"{zh} / {en}"}[lang]


_ZH_UNITS = {"second": "秒", "minute": "分钟", "hour": "小时", "day": "天", "week": "周"}


def duration_zh(duration: Duration) -> str:
    if duration.amount == 0:
        return "立即"
    if duration.unit == "second":  # an ISO 8601 duration of several parts: keep it as written
        return duration.text
    if duration.working:
        return f"{duration.amount} 个工作{'日' if duration.unit == 'day' else '小时'}"
    return f"{duration.amount}{_ZH_UNITS[duration.unit]}"


def duration_en(duration: Duration) -> str:
    if duration.amount == 0:
        return "at once"
    if duration.unit == "second":
        return duration.text
    plural = "" if duration.amount == 1 else "s"
    working = "working " if duration.working else ""
    return f"{duration.amount} {working}{duration.unit}{plural}"


def _times_shown(limit: Limit) -> str:
    """A loop limit's count in a label: ``3``, or ``(data.max_reworks)`` when the data gives it."""
    return limit.text if limit.times_from is None else f"({limit.times_from})"


def data_limit_zh(limit: DataLimit) -> str:
    """A time limit taken from the data, in Chinese: ``data.requested_date 前 5天``."""
    if limit.unit is None:
        return f"{limit.expression} 前 {duration_zh(limit.before)}" if limit.before else f"至 {limit.expression}"
    unit = f"个工作{'日' if limit.unit == 'day' else '小时'}" if limit.working else _ZH_UNITS[limit.unit]
    return f"({limit.expression}) {unit}"


def data_limit_en(limit: DataLimit) -> str:
    """A time limit taken from the data, in English: ``5 days before data.requested_date``."""
    if limit.unit is None:
        return f"{duration_en(limit.before)} before {limit.expression}" if limit.before else f"at {limit.expression}"
    return f"after ({limit.expression}) {'working ' if limit.working else ''}{limit.unit}s"


_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]{2,}")


def _text_fragment(section: str) -> str:
    """A text fragment (``#:~:text=``) that scrolls a browser to the section's heading words: its
    longest run of Chinese, since the sections cite numbers in a style the documents don't share."""
    runs = _CJK_RUN.findall(section)
    words = max(runs, key=len) if runs else section.strip()
    return f"#:~:text={quote(words, safe='')}" if words else ""
