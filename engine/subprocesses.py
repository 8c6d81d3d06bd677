"""Sub-procedures: a step that starts another procedure (``starts``), the child it asks for, the child it
waits for, the data it hands back, and the continuation the engine fires when the child ends."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.actors import Actor
from engine.attempt import computed_field
from engine.compiler import CompiledProcess
from engine.errors import EventRefused, ExpressionEvaluationError, SubProcessRefused
from engine.expressions import NOW, to_json
from engine.instances import Instance, Link
from engine.model import Process, SubProcess
from engine.stays import waiting_child


@dataclass(frozen=True)
class ChildStart:
    """What a step that starts another procedure asks for (``starts``): handed to the ``spawn`` hook,
    which starts the child and returns its instance id, or raises ``EventRefused``."""

    process: str
    data: Mapping[str, Any]
    """The child's initial data, from the step's ``starts.data`` on the parent's data after the event."""
    actor: str
    """The actor of the parent's event; the child is started by them."""
    role: str | None
    """The child's role to start it with (``as``); ``None``: the role of the child's start step."""
    parent: Link
    """The parent instance, its process, and the step that waits for the child."""
    at: datetime.datetime


Spawn = Callable[[ChildStart], str]
"""Starts the child a step asks for and returns its id (``Workflows`` keeps it with the parent)."""


def engine_fired(starts: SubProcess | None) -> frozenset[str]:
    """The triggers of a step that only the engine fires: its ``on_end`` continuations."""
    return frozenset() if starts is None else frozenset(trigger for _, trigger in starts.on_end)


def waiting_for(process: Process, instance: Instance) -> str | None:
    """The id of the child instance the current step waits for, if it is a step that starts one."""
    if process.states[instance.state].starts is None:
        return None
    return waiting_child(instance)


def check_cancellable(process: Process, instance: Instance, trigger: str | None) -> None:
    """A step waiting for a procedure it started is not left by a cancellation (``trigger``) or a move
    by hand (``None``): the child would run on with nobody waiting for it."""
    child = waiting_for(process, instance)
    if child is not None:
        what = f"`{trigger}` cancels the case" if trigger is not None else "a move by hand"
        raise SubProcessRefused(
            f"{what}, but step `{instance.state}` waits for instance `{child}` it started; end or cancel that one first"
        )


def returns_of(process: Process, state: str, child_data: Mapping[str, Any]) -> dict[str, Any]:
    """The continuation's payload: the child's data fields the step's ``returns`` names."""
    starts = process.states[state].starts
    if starts is None:
        return {}
    return {name: child_data[field] for name, field in starts.returns if field in child_data}


def continuation(process: Process, instance: Instance, child: Link) -> str:
    """The trigger the waiting step's ``on_end`` names for the state ``child`` ended in;
    ``SubProcessRefused`` when it names none."""
    starts = process.states[instance.state].starts
    assert starts is not None  # only a step that starts a child waits for one
    trigger = starts.trigger_for(child.state)
    if trigger is None:
        raise SubProcessRefused(
            f"instance `{instance.id}`: step `{instance.state}` has no `on_end` for `{child.state}`, where "
            f"its child `{child.instance}` ({child.process}) ended; it names: "
            + ", ".join(f"`{f}`" for f, _ in starts.on_end)
        )
    return trigger


def start_child(
    compiled: CompiledProcess,
    instance: Instance,
    step: str,
    starts: SubProcess,
    actor: Actor,
    data: Mapping[str, Any],
    moment: datetime.datetime,
    spawn: Spawn | None,
) -> Link:
    """Ask ``spawn`` to start the child procedure the step names; refuse the event if it cannot."""
    if spawn is None:
        raise SubProcessRefused(
            f"step `{step}` starts the procedure `{starts.process}`, and this runtime knows only "
            f"`{compiled.process.id}`: run the instance in a store (`Workflows`), which starts the child"
        )
    child_data: dict[str, Any] = {}
    for name, expression in compiled.child_data[step]:
        try:
            child_data[name] = computed_field(name, to_json(expression.evaluate({"data": data, NOW: moment})))
        except ExpressionEvaluationError as exc:
            raise SubProcessRefused(
                f"step `{step}`: the data `{name}` for `{starts.process}` could not be evaluated: {exc}"
            ) from None
    parent = Link(instance.id, compiled.process.id, step)
    request = ChildStart(starts.process, child_data, actor.id, starts.role, parent, moment)
    try:
        child_id = spawn(request)
    except EventRefused as refusal:
        raise SubProcessRefused(
            f"step `{step}` cannot start `{starts.process}`: {refusal}", refusal=refusal
        ) from refusal
    return Link(child_id, starts.process, step)
