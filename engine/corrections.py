"""Changes an administrator makes outside the transitions: a case moved by hand into another step (a
``correction``, with its reason), and a case adopted from another revision of its process (a
``migration``); each checked completely, then recorded and replayed like any event."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from engine import clocks as clock_rules
from engine.actors import Actor, names, role_names
from engine.attempt import check_data
from engine.compiler import CompiledProcess
from engine.deadlines import RUNNING_AGAIN, deadlines_of, in_order
from engine.errors import InvalidData, MigrationRefused, MoveRefused, PermissionDenied
from engine.history_facts import clocks_of
from engine.inputs import check_note, json_object
from engine.instances import ClockMark, Entry, Instance, Migration
from engine.model import Process, StateKind
from engine.notifying import due
from engine.schema_errors import did_you_mean
from engine.stays import stay, waiting_child
from engine.subprocesses import check_cancellable

MAX_REASON_LENGTH = 2_000
"""The longest reason a move by hand may give: a sentence or a paragraph, not a document."""


def move(
    compiled: CompiledProcess, instance: Instance, to: str, actor: Actor, reason: str, moment: datetime.datetime
) -> Entry:
    """An administrator's correction: the case put in step ``to`` (``Runtime.move`` says what is refused)."""
    process = compiled.process
    _check_administrator(process, actor, "move a case by hand", f"move a case of `{process.id}` by hand", "it")
    if isinstance(reason, str) and not reason.strip():
        raise MoveRefused("a move by hand needs a reason: say why the case is put in another step")
    check_note(reason, "the reason", MAX_REASON_LENGTH, MoveRefused)
    target = process.states.get(to)
    if target is None:
        hint = did_you_mean(to, list(process.states))
        raise MoveRefused(f"`{to}` is not a step of `{process.id}`{hint}")
    if target.kind is StateKind.DECISION:
        raise MoveRefused(f"`{to}` is a decision, which a case never rests in; move it to one of the steps after it")
    if to == instance.state:
        raise MoveRefused(f"instance `{instance.id}` is already in `{to}`")
    if target.starts is not None:
        raise MoveRefused(
            f"`{to}` starts another procedure (`{target.starts.process}`), which a move by hand does not; "
            "move the case to the step before it and fire the event that enters it"
        )
    check_cancellable(process, instance, None)
    deadlines = deadlines_of(compiled, to, moment, instance.data)  # may refuse: the calendar
    marks: tuple[ClockMark, ...] = ()
    if process.clocks:
        runs = clocks_of(instance).runs(process)
        marks = clock_rules.marks_for_event(process, runs, moment, None, instance.state, (), to)
        kept = tuple(d for d in instance.deadlines if d.clock is not None)
        changed = {m.clock for m in marks if m.event in RUNNING_AGAIN}
        deadlines = in_order(deadlines + clock_rules.clock_deadlines(process, runs, to, moment, kept, changed))
    entry = Entry(
        at=moment,
        actor=actor.id,
        roles=role_names(actor.roles),
        trigger=None,
        source=instance.state,
        dest=to,
        payload={},
        notifications=due(compiled.on_enter[to], {"data": instance.data}, moment),
        clocks=marks,
        correction=reason,
    )
    instance.entered_at, instance.deadlines, instance.state = moment, deadlines, to
    instance.history.append(entry)
    return entry


def adopt(
    compiled: CompiledProcess,
    instance: Instance,
    migration: Migration,
    to: str,
    values: Mapping[str, Any],
    actor: Actor,
    moment: datetime.datetime,
) -> Entry:
    """A case of another revision moved onto this one in step ``to`` (``Runtime.adopt`` says what is refused)."""
    process = compiled.process
    if (instance.process_id, instance.content_hash) != (process.id, migration.source.content_hash):
        raise MigrationRefused(
            f"instance `{instance.id}` runs on `{instance.process_id}` ({instance.content_hash[:12]}), "
            f"not on the revision {migration.source.revision} of `{process.id}` the migration moves from"
        )
    if migration.target.content_hash != process.content_hash:
        raise MigrationRefused(
            f"the migration moves to revision {migration.target.revision} "
            f"({migration.target.content_hash[:12]}), not to this one ({process.content_hash[:12]})"
        )
    _check_administrator(process, actor, "migrate cases", f"migrate cases of `{process.id}`", "the new revision")
    target = process.states.get(to)
    if target is None:
        raise MigrationRefused(
            f"step `{to}` is not in the new revision{did_you_mean(to, list(process.states))}; "
            f"map `{instance.state}` to one of its steps under `steps:`"
        )
    if target.kind is StateKind.DECISION:
        raise MigrationRefused(f"`{to}` is a decision, which a case never rests in; map it to a step after it")
    if target.is_final:
        raise MigrationRefused(
            f"`{to}` is a final step: a migration moves a case on, it does not end it (cancel it instead)"
        )
    stays = to == instance.state
    waiting = waiting_child(instance)
    if waiting is not None and not (stays and target.starts is not None):
        raise MigrationRefused(
            f"step `{instance.state}` waits for instance `{waiting}` it started; "
            "migrate the case once that one has ended"
        )
    if target.starts is not None and not stays:
        raise MigrationRefused(
            f"`{to}` starts another procedure (`{target.starts.process}`), which a migration does not; "
            "map the case to the step before it"
        )
    data = json_object({**instance.data, **values}, "data", InvalidData)
    check_data(compiled, data, "the data does not fit the data schema of the new revision")
    if stays:
        parts = compiled.parts.get(to, {})
        lost = sorted({e.part for e in stay(instance) if e.part is not None and e.part not in parts})
        if lost:
            raise MigrationRefused(
                f"the parts done in `{to}` ({names(lost)}) are not parts of `{to}` in the new revision"
            )
    entered = instance.entered_at if stays else moment
    deadlines = deadlines_of(compiled, to, entered, data)  # may refuse: the calendar, a limit from the data
    marks: tuple[ClockMark, ...] = ()
    if process.clocks:
        runs = clocks_of(instance).runs(process)
        if not stays:
            marks = clock_rules.marks_for_event(process, runs, moment, None, instance.state, (), to)
        timed = clock_rules.clock_deadlines(process, runs, to, moment, (), tuple(process.clocks))
        deadlines = in_order(deadlines + timed)
    entry = Entry(
        at=moment,
        actor=actor.id,
        roles=role_names(actor.roles),
        trigger=None,
        source=instance.state,
        dest=to,
        payload=dict(values),
        notifications=() if stays else due(compiled.on_enter[to], {"data": data}, moment),
        clocks=marks,
        migration=migration,
    )
    instance.process_version, instance.content_hash = process.version, process.content_hash
    instance.state, instance.data, instance.entered_at, instance.deadlines = to, dict(data), entered, deadlines
    instance.history.append(entry)
    return entry


def _check_administrator(process: Process, actor: Actor, doing: str, doing_here: str, naming: str) -> None:
    """``PermissionDenied`` unless ``actor`` holds one of the process's ``administrators`` roles, saying what
    they may not be ``doing`` (``doing_here`` when the definition, as ``naming`` says it, names none)."""
    administrators = frozenset(process.administrators)
    if not actor.roles & administrators:
        who = f"`{actor.id}` (roles: {names(actor.roles)})"
        if not administrators:
            raise PermissionDenied(
                f"{who} may not {doing_here}: {naming} names no administrators "
                "(add `administrators: [role]` to the definition)"
            )
        raise PermissionDenied(f"{who} may not {doing}: that needs one of {names(administrators)}")
