"""What the current step offers, worked out for an instance: a ``Choice`` for each transition and part
(its form, whether it is ready, what its limit leaves), the step's ``StepWork`` with who may sign and
who holds it, what one actor may do there, and the ``CaseWork`` a store keeps for the worklist."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from operator import itemgetter
from typing import Any

from engine import clocks as clock_rules
from engine.actors import Actor
from engine.compiler import CompiledPart, CompiledProcess, CompiledTransition
from engine.errors import ExpressionEvaluationError
from engine.expressions import NOW
from engine.frozen import quick_maker
from engine.history_facts import clocks_of
from engine.instances import Instance
from engine.limits import limit_left
from engine.model import FrozenJson, Process, SignOff, Text, Transition
from engine.parts import by_part, open_parts
from engine.pointers import resolve
from engine.records import lacks_records
from engine.signoffs import SIGN, signers
from engine.stays import claimant
from engine.work import SUPERVISOR_ROLE, CaseWork, ClockShown, MoveWork, Offer, PartWork, StepWork, offered


@dataclass(frozen=True)
class Choice:
    """A trigger an actor may fire now: what a form or a button needs."""

    trigger: str
    label: Text
    dest: str
    payload_schema: Mapping[str, Any] | None
    """The JSON Schema of the form to fill in, or ``None`` when the trigger takes no input. Shared by
    the choices of one transition: read it, do not change it."""
    conditions: tuple[str, ...]
    signoffs: tuple[SignOff, ...]
    """Signatures the actor gives by firing it."""
    ready: bool | None
    """Whether its conditions hold on the current data: ``None`` when one reads the payload; ``False``
    also when it requires (or amends) a record the instance does not hold yet, leaves a step whose
    required parts are open, or its limit is reached and it would be refused."""
    remaining: int | None = None
    """How many more times it may be taken before its ``limit``; ``None`` when it has none."""
    then: str | None = None
    """Where it leads once ``remaining`` is 0 (the limit's ``then``); ``None``: it is refused then."""
    part: str | None = None
    """When the trigger does a part of the step (it stays there): the part's id."""
    items: tuple[str, ...] = ()
    """For a part done per item of a list: the keys of the items still open (send one as ``item``)."""

    @cached_property
    def offer(self) -> Offer:
        """The choice as the worklist keeps it; made once for a choice ``StepOffers`` shares."""
        return Offer(self.trigger, self.label.zh, self.label.en, self.dest, self.payload_schema, self.part, self.items)


class Forms:
    """What a definition's steps offer that is the same for every case there, worked out once and shared
    by every ``Choice`` made of it (read-only, as ``Choice.payload_schema`` says): each transition's
    payload schema as a plain, standalone JSON Schema, and each step's ``StepOffers``. One serves one
    compiled definition (a ``Runtime``'s)."""

    def __init__(self, document: FrozenJson):
        self._document = document
        self._made: dict[int, Mapping[str, Any]] = {}
        self._steps: dict[str, StepOffers] = {}

    def of(self, transition: Transition) -> Mapping[str, Any] | None:
        if transition.payload_schema is None:
            return None
        key = id(transition)
        form = self._made.get(key)
        if form is None:
            form = self._made[key] = _standalone(transition.payload_schema, self._document)
        return form

    def step(self, compiled: CompiledProcess, engine_fired: frozenset[str], state: str) -> StepOffers:
        """The step's ``StepOffers``; ``engine_fired``: its triggers only the engine fires."""
        found = self._steps.get(state)
        if found is None:
            found = self._steps[state] = StepOffers(compiled, self, engine_fired, state)
        return found


@dataclass(frozen=True, slots=True)
class MoveOffer:
    """A transition of a step as every case there sees it."""

    candidate: CompiledTransition
    engine: bool
    """Fired by the engine only."""
    limited: bool
    """Whether a loop limit may bind it (its own, or that of the step it enters): its choice then says
    what is left, worked out per case."""
    leaves: bool
    choices: Mapping[bool | None, Choice]
    """Its choice for each ``ready``, when no limit binds it (``remaining`` and ``then`` ``None``)."""
    works: Mapping[bool | None, MoveWork[Choice]]
    """Its work for each ``ready`` when no limit binds it and it needs no more signatures."""
    signs: Choice | None
    """The choice of giving its signatures ahead of someone else firing it, when it takes any
    (``choices_for`` narrows its signoffs to the signer's)."""


class StepOffers:
    """What a step offers whatever the case: its transitions (``MoveOffer``) in the definition's order,
    the form of each of its parts, and whether the procedure has supervisors. ``step_work`` adds what
    depends on the case: which parts are open, readiness, limits, signers and claims."""

    __slots__ = ("_document", "_parts", "moves", "parts", "supervised", "unready")

    def __init__(self, compiled: CompiledProcess, forms: Forms, engine_fired: frozenset[str], state: str):
        process = compiled.process
        self._document = process.document
        self.parts = bool(compiled.parts.get(state))
        self._parts: dict[str, tuple[Mapping[str, Any] | None, Choice | None]] = {}
        self.supervised = SUPERVISOR_ROLE in process.roles
        moves = []
        for candidate in compiled.transitions[state]:
            transition = candidate.transition
            dest_limit = process.states[transition.dest].limit if transition.dest != state else None
            form = forms.of(transition)
            engine = candidate.trigger in engine_fired
            choices = {
                ready: Choice(
                    candidate.trigger,
                    transition.label,
                    transition.dest,
                    form,
                    transition.conditions,
                    transition.signoffs,
                    ready,
                )
                for ready in (None, True, False)
            }
            signs = (
                Choice(SIGN + candidate.trigger, transition.label, state, None, (), transition.signoffs, True)
                if transition.signoffs
                else None
            )
            moves.append(
                MoveOffer(
                    candidate,
                    engine,
                    transition.limit is not None or dest_limit is not None,
                    transition.dest != state,
                    choices,
                    {
                        ready: MoveWork(
                            candidate.trigger, candidate.roles, engine, choice, (), signs, transition.cancels
                        )
                        for ready, choice in choices.items()
                    },
                    signs,
                )
            )
        self.moves = tuple(moves)
        self.unready: StepWork[Choice] = StepWork(
            state, (), tuple(m.works[None] for m in self.moves), None, self.supervised
        )
        """The step's work without readiness when no part is open, nobody holds it, no limit binds and
        no signature is still needed: the same for every such case, so worked out (and mapped) once."""

    def part_choice(self, compiled: CompiledPart, keys: tuple[str | None, ...]) -> Choice:
        """The choice of doing a part with ``keys`` its open items (``(None,)`` for one not done per item)."""
        part = compiled.part
        made = self._parts.get(part.id)
        if made is None:
            schema = _standalone(part.payload_schema, self._document) if part.payload_schema is not None else None
            whole = None if part.for_each is not None else _part_choice(compiled, schema, keys)
            made = self._parts[part.id] = (schema, whole)
        schema, whole = made
        return whole if whole is not None else _part_choice(compiled, schema, keys)


def step_work(
    compiled: CompiledProcess,
    forms: Forms,
    engine_fired: frozenset[str],
    instance: Instance,
    now: datetime.datetime,
    readiness: bool,
) -> StepWork[Choice]:
    """What can be done in the instance's current step at ``now``, whoever asks (``Runtime.work``): the
    step's ``StepOffers`` with what depends on the case; the triggers ``engine_fired`` are the step's
    that only the engine fires."""
    step = forms.step(compiled, engine_fired, instance.state)
    parts = (
        tuple(
            PartWork(part.part.id, part.roles, step.part_choice(part, keys))
            for part, keys in by_part(open_parts(compiled, instance, now, quiet=True))
        )
        if step.parts
        else ()
    )
    parts_open = readiness and step.parts and bool(open_parts(compiled, instance, now, quiet=True, required_only=True))
    moves = []
    shared = not readiness and not parts
    for move in step.moves:
        candidate = move.candidate
        transition = candidate.transition
        who_signs = signers(compiled, transition, instance, instance.data, now) if transition.signoffs else ()
        if move.limited:
            choice = _limited_choice(compiled, move, instance, now, readiness, parts_open)
        else:
            ready = (
                None
                if not readiness
                else False
                if lacks_records(candidate, instance) or (move.leaves and parts_open and not transition.cancels)
                else _ready(candidate, instance.data, now)
            )
            if not who_signs:
                moves.append(move.works[ready])
                continue
            choice = move.choices[ready]
        shared = False
        moves.append(
            MoveWork(candidate.trigger, candidate.roles, move.engine, choice, who_signs, move.signs, transition.cancels)
        )
    claimed_by = claimant(instance)
    if shared and claimed_by is None:
        return step.unready
    return StepWork(instance.state, parts, tuple(moves), claimed_by, step.supervised)


def _limited_choice(
    compiled: CompiledProcess,
    move: MoveOffer,
    instance: Instance,
    now: datetime.datetime,
    readiness: bool,
    parts_open: bool,
) -> Choice:
    """The choice of a transition a loop limit may bind: with what it leaves, and refused once none is."""
    candidate = move.candidate
    transition = candidate.transition
    bound = limit_left(compiled, instance, candidate, now)
    limit, remaining = (bound.limit, bound.left) if bound is not None else (None, None)
    unknown = bound is not None and bound.times is None  # its times from the data give no number
    refused_by_limit = unknown or (remaining == 0 and limit is not None and limit.then is None)
    unlimited = move.choices[None]
    return Choice(
        trigger=unlimited.trigger,
        label=unlimited.label,
        dest=unlimited.dest,
        payload_schema=unlimited.payload_schema,
        conditions=unlimited.conditions,
        signoffs=unlimited.signoffs,
        ready=None
        if not readiness
        else False
        if refused_by_limit
        or lacks_records(candidate, instance)
        or (move.leaves and parts_open and not transition.cancels)  # a cancellation is not held up by parts
        else _ready(candidate, instance.data, now),
        remaining=remaining,
        then=None if limit is None else limit.then,
    )


def choices_for(work: StepWork[Choice], actor: Actor) -> tuple[Choice, ...]:
    """The choices of a step's work ``actor`` may take, each once, in definition order (``engine.work.offered``);
    a signing choice carries only the signatures they can give."""
    return tuple(
        dataclasses.replace(choice, signoffs=tuple(choice.signoffs[s.index] for s in who_signs))
        if kind == "sign"
        else choice
        for kind, choice, who_signs in offered(work, actor.id, actor.roles)
    )


def case_work(process: Process, instance: Instance, work: StepWork[Choice]) -> CaseWork:
    """The work of the instance's step as a store keeps it for the worklist: each choice as an ``Offer``,
    with the step's label, the earliest due time and each clock's status and points ahead."""
    step = process.states[instance.state]
    deadlines = instance.deadlines
    return _new_case_work(
        instance.id,
        process.id,
        step.label.zh,
        step.label.en,
        min([d.due for d in deadlines]) if deadlines else None,
        _clocks_shown(process, instance) if process.clocks else (),
        work.map(_offer_of),
    )


def _clocks_shown(process: Process, instance: Instance) -> tuple[ClockShown, ...]:
    ahead: dict[str, list[tuple[str, datetime.datetime]]] = {}
    for deadline in instance.deadlines:
        if deadline.clock is not None and deadline.fire is not None and deadline.threshold is not None:
            ahead.setdefault(deadline.clock, []).append((deadline.threshold, deadline.due))
    now_of = clock_rules.statuses(clocks_of(instance).current(process))  # read only: no copies
    shown = []
    for clock in process.clocks.values():
        points = ahead.get(clock.id)
        shown.append(
            _new_clock_shown(
                clock.id,
                clock.label.zh,
                clock.label.en,
                now_of[clock.id],
                tuple(sorted(points, key=_DUE)) if points else (),
            )
        )
    return tuple(shown)


_DUE = itemgetter(1)
_new_case_work = quick_maker(CaseWork)  # made on every event, with its clocks: without a type call
_new_clock_shown = quick_maker(ClockShown)


def _part_choice(compiled: CompiledPart, schema: Mapping[str, Any] | None, keys: tuple[str | None, ...]) -> Choice:
    """The choice of doing a part, its form ``schema`` (standalone) with, for a part done per item, the
    item to send among the open ``keys``."""
    part = compiled.part
    if part.for_each is not None:
        schema = dict(schema or {"type": "object"})
        schema["properties"] = {**schema.get("properties", {}), "item": {"enum": list(keys)}}
        schema["required"] = [*schema.get("required", []), "item"]
    open_keys = tuple(i for i in keys if i is not None)
    return Choice(part.id, part.label, compiled.state, schema, (), (), True, part=part.id, items=open_keys)


def _offer_of(choice: Choice) -> Offer:
    return choice.offer


def _ready(candidate: CompiledTransition, data: Mapping[str, Any], now: datetime.datetime) -> bool | None:
    if any(path[0] == "payload" for guard in candidate.guards for path in guard.paths):
        return None
    try:
        return all(bool(guard.evaluate({"data": data, NOW: now})) for guard in candidate.guards)
    except ExpressionEvaluationError:
        return False


def _standalone(schema: FrozenJson, document: FrozenJson, seen: frozenset[str] = frozenset()) -> Any:
    """A plain copy of a fragment with its ``$ref``s into the definition (``#/records/x/fields``) written
    out, so that a form built from it needs nothing else. A reference back into itself stays a ``$ref``."""
    if isinstance(schema, tuple):
        return [_standalone(item, document, seen) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
        return {key: _standalone(value, document, seen) for key, value in schema.items()}
    target = resolve(document, ref)  # the checks at load have proven that the reference resolves
    written_out = _standalone(target, document, seen | {ref})
    siblings = {key: _standalone(value, document, seen) for key, value in schema.items() if key != "$ref"}
    if not siblings:
        return written_out
    return {**siblings, "allOf": [*siblings.get("allOf", []), written_out]}
