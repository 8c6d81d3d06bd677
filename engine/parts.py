"""Parts of a step: pieces of work done in it, each once per stay (or once per item of a list), by their
own event, without leaving the step; which are open, which are required now, and the refusal to leave
the step while a required one is open."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.actors import Actor, names, role_names
from engine.attempt import refusal
from engine.compiler import CompiledPart, CompiledProcess
from engine.errors import ExpressionEvaluationError, GuardFailed, InvalidPayload, PartAlreadyDone, PermissionDenied
from engine.expressions import NOW
from engine.inputs import json_object
from engine.instances import Entry, Instance, RecordWritten
from engine.model import Part
from engine.records import Records, held
from engine.stays import stay


@dataclass(frozen=True)
class PartStatus:
    """A part of the current step: for which item, whether it is required now, and who did it."""

    part: Part
    item: str | None
    required: bool
    done: Entry | None
    """The event that did it in this stay (who, with which roles, when, with what), or ``None``: open."""


OpenParts = list[tuple[CompiledPart, str | None]]
"""Parts not done yet in the current stay, each with its item (``None`` for a part not done per item)."""


def part_statuses(compiled: CompiledProcess, instance: Instance, moment: datetime.datetime) -> tuple[PartStatus, ...]:
    """Every part of the current step (one per item for a part done per item), whether it is
    required now, and the event that did it in this stay, if one has."""
    done = {(e.part, e.item): e for e in stay(instance) if e.part is not None}
    return tuple(
        PartStatus(part.part, item, required(part, instance.data, moment, True), done.get((pid, item)))
        for pid, part in compiled.parts.get(instance.state, {}).items()
        for item in items(part.part, instance.data)
    )


def open_parts(
    compiled: CompiledProcess,
    instance: Instance,
    moment: datetime.datetime,
    *,
    quiet: bool = False,
    required_only: bool = False,
) -> OpenParts:
    """The parts of the current stay not done yet (only the required ones with ``required_only``).
    A ``required_when`` that cannot be evaluated is refused with ``GuardFailed``, or, ``quiet``,
    counts the part as required."""
    parts = compiled.parts.get(instance.state)
    if not parts:
        return []
    done = {(e.part, e.item) for e in stay(instance) if e.part is not None}
    found = []
    for part in parts.values():
        if required_only and not required(part, instance.data, moment, quiet):
            continue
        for item in items(part.part, instance.data):
            if (part.part.id, item) not in done:
                found.append((part, item))
    return found


def parts_open_refusal(
    compiled: CompiledProcess, instance: Instance, still_open: OpenParts
) -> tuple[str, tuple[str, ...]] | None:
    """Why the step may not be left while ``still_open`` (its required parts) are, and which they are;
    ``None`` when none is."""
    if not still_open:
        return None
    state = compiled.process.states[instance.state]
    shown = []
    for compiled_part, keys in by_part(still_open):
        part = compiled_part.part
        which = f" for {', '.join(f'`{i}`' for i in keys if i is not None)}" if part.for_each else ""
        shown.append(f"`{part.id}` ({part.label.zh}, {part.label.en}){which}, by {names(part.roles)}")
    open_names = tuple(p.part.id if item is None else f"{p.part.id}[{item}]" for p, item in still_open)
    return (
        f"step `{state.id}` ({state.label.zh}) cannot be left yet: its required parts are still open: "
        + "; ".join(shown)
        + ". Each is done with its own event (the part's id as the trigger)",
        open_names,
    )


def do_part(
    records: Records,
    instance: Instance,
    compiled: CompiledPart,
    actor: Actor,
    payload: Mapping[str, Any] | None,
    moment: datetime.datetime,
    key: str | None,
) -> Entry:
    """The event that does a part of the current step: checked, then recorded; the case stays in its step,
    with its data and deadlines."""
    part = compiled.part
    name = f"part `{part.id}` ({part.label.zh}, {part.label.en}) of step `{instance.state}`"
    if compiled.roles.isdisjoint(actor.roles):
        raise PermissionDenied(
            f"`{actor.id}` (roles: {names(actor.roles)}) may not do {name}: "
            f"it needs one of the roles {names(compiled.roles)}"
        )
    form = json_object(payload or {}, "payload", InvalidPayload)
    item: str | None = None
    if part.for_each is not None:
        keys = [k for k in items(part, instance.data) if k is not None]
        given = form.pop("item", None)
        item = item_key(given)
        if item is None or item not in keys:
            listed = ", ".join(f"`{k}`" for k in keys) or "none (the list is empty)"
            problem = f"payload.item: name the item of `data.{part.for_each}` this part is done for: {listed}"
            raise InvalidPayload(f"{name} is done once per item: {problem}", problems=(problem,))
    for entry in stay(instance):
        if entry.part == part.id and entry.item == item:
            which = f" for `{item}`" if item is not None else ""
            raise PartAlreadyDone(
                f"{name} was already done{which} by `{entry.actor}` at {entry.at.isoformat()}; "
                "a part is done once in each stay in its step"
            )
    if compiled.payload is not None:
        problems = compiled.payload.problems(form)
        if problems:
            raise InvalidPayload(
                f"the payload of {name} does not fit its form:\n  " + "\n  ".join(problems), problems=problems
            )
    written: list[RecordWritten] = []
    if part.produces:
        refused = records.write(compiled.writes, held(instance), {"payload": form, "data": instance.data}, written)
        if refused is not None:
            raise refusal(*refused)
    entry = Entry(
        at=moment,
        actor=actor.id,
        roles=role_names(actor.roles),
        trigger=part.id,
        source=instance.state,
        dest=instance.state,
        payload=(form | {"item": item}) if item is not None else form,
        key=key,
        records=tuple(written),
        part=part.id,
        item=item,
    )
    instance.history.append(entry)  # a part stays in the step: its state, data and deadlines hold
    return entry


def items(part: Part, data: Mapping[str, Any]) -> list[str | None]:
    """The keys of a part's instances: ``[None]`` for a single part; for a part per item, each item's."""
    if part.for_each is None:
        return [None]
    listed = data.get(part.for_each)
    if not isinstance(listed, list):
        return []
    keys: list[str | None] = []
    for index, item in enumerate(listed):
        named = item.get(part.key) if part.key is not None and isinstance(item, Mapping) else None
        keys.append(item_key(named) or (item if isinstance(item, str) else str(index)))
    return list(dict.fromkeys(keys))


def item_key(value: Any) -> str | None:
    """An item's key as text: a string as it is, a whole number written out; ``None`` for anything else."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def required(part: CompiledPart, data: Mapping[str, Any], moment: datetime.datetime, quiet: bool) -> bool:
    """Whether a part must be done before the step is left, on ``data`` at ``moment``; a ``required_when``
    that cannot be evaluated is ``GuardFailed``, or, ``quiet``, counts as required."""
    if not part.part.required:
        return False
    if part.required_when is None:
        return True
    try:
        return bool(part.required_when.evaluate({"data": data, NOW: moment}))
    except ExpressionEvaluationError as exc:
        if quiet:
            return True
        raise GuardFailed(
            f"whether part `{part.part.id}` is required (`{part.required_when.text}`) could not be evaluated: {exc}"
        ) from None


def by_part(found: Iterable[tuple[CompiledPart, str | None]]) -> list[tuple[CompiledPart, tuple[str | None, ...]]]:
    """The open parts, each once with its open items, in the order found."""
    grouped: dict[str, tuple[CompiledPart, list[str | None]]] = {}
    for part, item in found:
        grouped.setdefault(part.part.id, (part, []))[1].append(item)
    return [(part, tuple(keys)) for part, keys in grouped.values()]
