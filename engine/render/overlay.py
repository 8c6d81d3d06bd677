"""What histories add to a chart: one instance's path, or a heat map of many.

An ``Overlay`` holds numbers and times, not drawing: which steps were reached and how often, which
moves were made in which order, where the instance is now and which of its time limits have passed,
how long instances stayed in each step. ``dot.py`` draws it in the chart's language.

A history is only drawn over the definition it ran on: its process id and content hash must match.
A case moved onto another revision (a migration entry) is drawn from its migration on: the entries
before it ran on the revision it left.
"""

from __future__ import annotations

import datetime
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from engine.errors import InstanceFormatError
from engine.files import read_bounded
from engine.instances import Entry, Instance, instance_from_json
from engine.model import Process, StateKind, Text
from engine.render.diagram import Step


@dataclass(frozen=True)
class NodeMark:
    visits: int = 0
    """How many times instances entered the step (a transition back into it counts again)."""
    current: bool = False
    overdue_since: datetime.datetime | None = None
    """The earliest open deadline or time limit of the current stay that has passed."""
    median_stay: datetime.timedelta | None = None
    """The median time instances spent in the step before leaving it (heat maps)."""
    stays: int = 0
    """How many finished stays ``median_stay`` is taken over."""


@dataclass(frozen=True)
class EdgeMark:
    count: int
    order: tuple[int, ...] = ()
    """The move's positions along one instance's path, counting from 1 (instance overlays)."""


@dataclass(frozen=True)
class Overlay:
    kind: Literal["instance", "heatmap"]
    caption: Text
    nodes: Mapping[str, NodeMark] = field(default_factory=lambda: MappingProxyType({}))
    steps: Mapping[Step, EdgeMark] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def max_count(self) -> int:
        return max((mark.count for mark in self.steps.values()), default=0)


MAX_HISTORY_BYTES = 20_000_000
"""The largest history file ``read_history`` reads (a JSON record of tens of thousands of events)."""


def read_history(path: str | os.PathLike[str]) -> Instance:
    """The instance in a history file written by ``procflow run --history`` (``instance_to_json``).

    At most ``MAX_HISTORY_BYTES`` are read; a folder, a device or a FIFO is refused unread.
    """
    name = os.fspath(path)
    try:
        document = json.loads(read_bounded(path, MAX_HISTORY_BYTES))
    except OSError as exc:
        raise InstanceFormatError(f"{name}: cannot read the history: {exc.strerror or exc}") from exc
    except RecursionError as exc:
        raise InstanceFormatError(f"{name}: not a JSON history: it nests too deeply") from exc
    except json.JSONDecodeError as exc:
        raise InstanceFormatError(f"{name}: not a JSON history: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise InstanceFormatError(f"{name}: not a JSON history: it is not UTF-8 text") from exc
    except ValueError as exc:  # a number of more digits than Python converts
        raise InstanceFormatError(f"{name}: not a JSON history: it holds a number with too many digits") from exc
    try:
        return instance_from_json(document)
    except InstanceFormatError as exc:
        raise InstanceFormatError(f"{name}: {exc}") from exc


def instance_overlay(process: Process, instance: Instance, now: datetime.datetime | None = None) -> Overlay:
    """One instance's path over ``process``: the moves in order, where it is, what is overdue at
    ``now`` (by default the time of its last event)."""
    check_belongs(process, instance)
    moment = now or instance.history[-1].at
    if moment.tzinfo is None:
        raise InstanceFormatError(f"the time to mark overdue steps at must carry its UTC offset, got {moment}")
    order: defaultdict[Step, list[int]] = defaultdict(list)
    for position, step in enumerate(_moves(on_this_revision(instance)), start=1):
        order[step].append(position)
    visits = _visits([instance])
    overdue = [d.due for d in instance.overdue(moment) if d.state == instance.state]
    nodes = {state_id: NodeMark(visits=count) for state_id, count in visits.items()}
    nodes[instance.state] = NodeMark(
        visits=visits[instance.state], current=True, overdue_since=min(overdue) if overdue else None
    )
    state = process.states[instance.state]
    stamp = moment.isoformat(timespec="minutes")
    migrated = len(on_this_revision(instance)) < len(instance.history)
    caption = Text(
        f"实例 {instance.id} · 当前:{state.label.zh} · 截至 {stamp}" + (" · 自迁移起" if migrated else ""),
        f"instance {instance.id} · now in: {state.label.en} · as of {stamp}"
        + (" · since its migration" if migrated else ""),
    )
    steps = {step: EdgeMark(len(positions), tuple(positions)) for step, positions in order.items()}
    return Overlay("instance", caption, MappingProxyType(nodes), MappingProxyType(steps))


def heatmap_overlay(process: Process, instances: Iterable[Instance]) -> Overlay:
    """Many instances over ``process``: how often each move was made, how long instances stayed in
    each step (the median of finished stays), and which steps none of them reached."""
    histories = list(instances)
    if not histories:
        raise InstanceFormatError("a heat map needs at least one history")
    for instance in histories:
        check_belongs(process, instance)
    counts: Counter[Step] = Counter(step for instance in histories for step in _moves(on_this_revision(instance)))
    visits = _visits(histories)
    stays: defaultdict[str, list[datetime.timedelta]] = defaultdict(list)
    for instance in histories:
        for state_id, spent in _stays(process, on_this_revision(instance)):
            stays[state_id].append(spent)
    nodes = {
        state_id: NodeMark(
            visits=visits[state_id],
            median_stay=_median(stays[state_id]),
            stays=len(stays[state_id]),
        )
        for state_id in process.states
        if visits[state_id]
    }
    caption = Text(f"热力图:{len(histories)} 个实例", f"heat map of {len(histories)} instance(s)")
    steps = {step: EdgeMark(count) for step, count in sorted(counts.items())}
    return Overlay("heatmap", caption, MappingProxyType(nodes), MappingProxyType(steps))


def check_belongs(process: Process, instance: Instance) -> None:
    """Refuse a history recorded against another definition, or another version of this one."""
    if instance.process_id != process.id:
        raise InstanceFormatError(
            f"history `{instance.id}` belongs to process `{instance.process_id}`, not `{process.id}`: "
            f"draw it over the definition it ran on"
        )
    if instance.content_hash != process.content_hash:
        raise InstanceFormatError(
            f"history `{instance.id}` ran on version {instance.process_version} of `{process.id}` "
            f"(content hash {instance.content_hash[:12]}), but this definition is version {process.version} "
            f"(content hash {process.content_hash[:12]}): draw it over the definition it ran on"
        )
    history = on_this_revision(instance)
    named = {instance.state} | {e.dest for e in history} | {d.state for d in instance.deadlines}
    named |= {b.dest for e in history for b in e.branches}
    unknown = sorted(name for name in named if name not in process.states)
    if unknown:
        raise InstanceFormatError(
            f"history `{instance.id}` names states `{process.id}` does not have: {', '.join(unknown)}"
        )


def on_this_revision(instance: Instance) -> list[Entry]:
    """The entries made on the revision the instance runs on: all of them, or from its last migration on."""
    last = max((i for i, e in enumerate(instance.history) if e.migration is not None), default=0)
    return instance.history[last:]


def _moves(history: Iterable[Entry]) -> Iterable[Step]:
    for entry in history:
        if entry.source is not None and entry.trigger is not None:
            yield Step("transition", entry.source, entry.trigger, entry.dest)
        for taken in entry.branches:
            yield Step("branch", taken.decision, "default" if taken.branch is None else str(taken.branch), taken.dest)


def _visits(instances: Iterable[Instance]) -> Counter[str]:
    """How many times instances entered each step; a transition back into the same step (a reminder,
    an escalation) is a move on its loop, not a new entry."""
    visits: Counter[str] = Counter()
    for instance in instances:
        for entry in on_this_revision(instance):
            if entry.source != entry.dest:
                visits[entry.dest] += 1
            visits.update(taken.dest for taken in entry.branches)
    return visits


def _stays(process: Process, history: list[Entry]) -> Iterable[tuple[str, datetime.timedelta]]:
    """Each finished stay in a step that takes time: from entering it until leaving it for another
    step (a transition back into the same step, a reminder, does not end the stay)."""
    current, since = None, None
    for entry in history:
        if entry.state == current:
            continue
        if current is not None and since is not None and process.states[current].kind is not StateKind.DECISION:
            yield current, entry.at - since
        current, since = entry.state, entry.at


def _median(spans: list[datetime.timedelta]) -> datetime.timedelta | None:
    if not spans:
        return None
    ordered = sorted(spans)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
