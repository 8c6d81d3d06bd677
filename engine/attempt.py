"""One event being checked before anything changes: the ``Gate`` the compiled machine consults for each
candidate transition (the actor's roles, the parts still open, signatures, the payload's form, conditions,
loop limits, the data after ``set``, the records it writes), the decisions it passes on the way, and the
refusal of the candidate that got furthest."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from engine.actors import Actor, names
from engine.compiler import CompiledBranch, CompiledProcess, CompiledTransition, SchemaCheck
from engine.errors import (
    EventRefused,
    ExpressionEvaluationError,
    GuardFailed,
    InvalidData,
    InvalidPayload,
    LimitReached,
    MissingRecord,
    MissingSignature,
    PartsOpen,
    PermissionDenied,
    SubProcessRefused,
)
from engine.expressions import MAX_NUMBER, NOW, to_json
from engine.frozen import quick_maker
from engine.inputs import MAX_CHARACTERS, json_copy, kept_as_is
from engine.instances import BranchTaken, Instance, OpenDeadline, RecordWritten
from engine.limits import limit_times, times_taken, transition_limit_message
from engine.model import SignOff
from engine.records import Records, held
from engine.signoffs import signatures

# Made on every event: without a type call (``engine.frozen``).
_new_branch = quick_maker(BranchTaken)
_NO_SCOPE: dict[str, Any] = {}


class DecisionFailed(Exception):
    """A decision's condition could not be evaluated (``decide`` says it as ``GuardFailed``)."""


class Attempt:
    """One event being checked: the ``Gate`` the compiled machine consults for each candidate."""

    __slots__ = (
        "compiled",
        "instance",
        "actor",
        "payload",
        "deadline",
        "data_check",
        "records",
        "data",
        "chosen",
        "branches",
        "written",
        "_held",
        "_refusal",
        "moment",
        "redirect",
        "automatic",
        "engine_fired",
        "parts_open",
        "given",
        "fitting",
    )

    compiled: CompiledProcess
    """The definition whose transitions' signatures and loop limits the checks ask about."""
    moment: datetime.datetime
    instance: Instance
    actor: Actor
    payload: dict[str, Any]
    deadline: OpenDeadline | None
    data_check: SchemaCheck | None
    records: Records
    data: dict[str, Any]
    chosen: CompiledTransition | None
    branches: list[BranchTaken]
    written: list[RecordWritten]
    _held: Mapping[str, RecordWritten] | None
    _refusal: tuple[int, type[EventRefused], str, tuple[str, ...]] | None
    redirect: str | None
    """The limit's ``then``, when the chosen transition has reached its limit."""
    automatic: bool
    """Fired by the engine when a child ended: no person's permission is asked."""
    engine_fired: frozenset[str]
    """Triggers of the current step that only the engine fires (its ``on_end`` continuations)."""
    parts_open: tuple[str, tuple[str, ...]] | None
    """Why the step may not be left yet, and the parts still open; ``None`` when it may."""
    given: list[SignOff]
    """The signatures the chosen transition takes from the actor now."""
    fitting: SchemaCheck | None
    """A payload check the payload is already known to pass (tested as it was copied)."""

    @staticmethod
    def begin(
        compiled: CompiledProcess,
        records: Records,
        engine_fired: frozenset[str],
        instance: Instance,
        actor: Actor,
        payload: dict[str, Any],
        deadline: OpenDeadline | None,
        moment: datetime.datetime,
        automatic: bool,
        fitting: SchemaCheck | None,
    ) -> Attempt:
        """A new attempt, its every slot set here (the class has no ``__init__``: a keyword call of one would
        cost three times this)."""
        attempt = Attempt()  # no __init__ of its own: object's, which the type call runs in C
        attempt.compiled = compiled
        attempt.moment = moment
        attempt.instance = instance
        attempt.actor = actor
        attempt.payload = payload
        attempt.deadline = deadline
        attempt.data_check = compiled.data_check
        attempt.records = records
        attempt.data = instance.data
        attempt.chosen = None
        attempt.branches = []
        attempt.written = []
        attempt._held = None
        attempt._refusal = None
        attempt.redirect = None
        attempt.automatic = automatic
        attempt.engine_fired = engine_fired
        attempt.parts_open = None
        attempt.given = []
        attempt.fitting = fitting
        return attempt

    @property
    def first_dest(self) -> str:
        """Where the chosen transition led: its ``dest``, or its limit's ``then``."""
        assert self.chosen is not None
        return self.redirect if self.redirect is not None else self.chosen.transition.dest

    def admit(self, candidate: CompiledTransition) -> bool:
        if self.engine_fired and candidate.trigger in self.engine_fired and not self.automatic:
            return self._refuse(
                0,
                SubProcessRefused,
                f"`{candidate.trigger}` leaves step `{candidate.source}` when the procedure it started ends; "
                "the engine fires it then, not a person",
            )
        if self.deadline is None and not self.automatic and candidate.roles.isdisjoint(self.actor.roles):
            problem = _permission_problem(candidate, self.actor)
            if problem is not None:
                return self._refuse(*problem)
        if (
            self.parts_open is not None
            and candidate.transition.dest != candidate.source
            and not candidate.transition.cancels
        ):
            return self._refuse(1, PartsOpen, *self.parts_open)
        given: list[SignOff] = []
        if self.deadline is None and not self.automatic and candidate.transition.signoffs:
            given, missing = signatures(
                self.compiled, candidate.transition, self.actor, self.instance, self.instance.data, self.moment
            )
            if missing:
                roles = tuple(dict.fromkeys(s.role for s, _ in missing))
                return self._refuse(
                    1,
                    MissingSignature,
                    f"`{candidate.trigger}` is missing the signature{'s' if len(missing) > 1 else ''} "
                    + ", ".join(f"`{r}`" for r in roles)
                    + ": "
                    + "; ".join(why for _, why in missing),
                    roles,
                )
        if candidate.payload is not None and candidate.payload is not self.fitting:
            problems = candidate.payload.problems(self.payload)
            if problems:
                return self._refuse(
                    2,
                    InvalidPayload,
                    f"the payload of `{candidate.trigger}` does not fit its form:\n  " + "\n  ".join(problems),
                    problems,
                )
        scope = (
            {"data": self.instance.data, "payload": self.payload, NOW: self.moment}
            if candidate.guards or candidate.assignments
            else _NO_SCOPE
        )
        for guard in candidate.guards:
            try:
                holds = bool(guard.evaluate(scope))
            except ExpressionEvaluationError as exc:
                return self._refuse(3, GuardFailed, f"the condition `{guard.text}` could not be evaluated: {exc}")
            if not holds:
                return self._refuse(
                    3, GuardFailed, f"the condition of `{candidate.trigger}` does not hold: `{guard.text}`"
                )
        limit = candidate.transition.limit
        redirect = None
        if limit is not None:
            try:
                what = f"`{candidate.source}.{candidate.trigger}`"
                times = limit_times(self.compiled, limit, self.instance.data, self.moment, what)
            except InvalidData as refusal:
                return self._refuse(3, InvalidData, str(refusal))
            if times_taken(self.instance, candidate) >= times:
                if limit.then is None:
                    return self._refuse(
                        3, LimitReached, transition_limit_message(candidate, limit, times), (str(times),)
                    )
                redirect = limit.then
        data = self.instance.data
        if candidate.assignments:
            data = dict(data)
            changed = []
            for name, expression, constant in candidate.assignments:
                try:
                    value = expression.evaluate(scope) if expression is not None else constant
                    if value is None and name in candidate.if_present:
                        continue  # `if_present: true`: the field keeps what it held
                    data[name] = computed_field(name, to_json(value)) if expression is not None else constant
                except ExpressionEvaluationError as exc:
                    return self._refuse(4, InvalidData, f"`set: {name}` could not be evaluated: {exc}")
                changed.append(name)
            if self.data_check is not None:
                problems = self.data_check.problems_after_set(data, changed)
                if problems:
                    return self._refuse(
                        4,
                        InvalidData,
                        f"after `{candidate.trigger}` the data would not fit the data schema:\n  "
                        + "\n  ".join(problems),
                        problems,
                    )
        transition = candidate.transition
        written: list[RecordWritten] = []
        if transition.requires or transition.produces:
            refused = self.records.write(transition, self.held(), {"payload": self.payload, "data": data}, written)
            if refused is not None:
                return self._refuse(5, *refused)
        self.data = data
        self.chosen = candidate
        self.written = written
        self.redirect = redirect
        self.given = given
        return True

    def held(self) -> Mapping[str, RecordWritten]:
        """The latest version of each record the instance holds before this event."""
        if self._held is None:
            self._held = held(self.instance)
        return self._held

    def take(self, branch: CompiledBranch) -> bool:
        if branch.condition is not None:
            try:
                holds = bool(branch.condition.evaluate({"data": self.data, NOW: self.moment}))
            except ExpressionEvaluationError as exc:
                where = f"decision `{branch.decision}`: the condition `{branch.condition.text}`"
                raise DecisionFailed(f"{where} could not be evaluated: {exc}") from None
            if not holds:
                return False
        self.branches.append(_new_branch(branch.decision, branch.index, branch.branch.dest))
        return True

    def refusal(self) -> EventRefused:
        if self._refusal is None:
            return GuardFailed("no transition admitted the event")
        _, kind, message, problems = self._refusal
        return refusal(kind, message, problems)

    def _refuse(self, stage: int, kind: type[EventRefused], message: str, problems: tuple[str, ...] = ()) -> bool:
        # Of several candidates for one trigger, report the one that got furthest.
        if self._refusal is None or stage > self._refusal[0]:
            self._refusal = (stage, kind, message, problems)
        return False


def decide(compiled: CompiledProcess, decision: str, attempt: Attempt) -> str:
    """Where a decision leads on the attempt's data: its first branch that holds, or its default."""
    try:
        dest = compiled.decide(decision, attempt)
    except DecisionFailed as failure:
        raise GuardFailed(str(failure)) from None
    if dest is None:
        raise GuardFailed(f"decision `{decision}` has no branch that holds and no default")
    return dest


def through_decisions(compiled: CompiledProcess, dest: str, attempt: Attempt, trigger: str) -> str:
    """The step an event comes to rest in from ``dest``, through any decisions (each recorded as a branch)."""
    decisions = compiled.branches
    for _ in range(len(decisions) + 1):
        if dest not in decisions:
            return dest
        dest = decide(compiled, dest, attempt)
    raise GuardFailed(f"the decisions after `{trigger}` go round in a circle without reaching a step")


def check_data(compiled: CompiledProcess, data: Mapping[str, Any], said: str) -> None:
    """``InvalidData`` when ``data`` does not fit the process's data schema, the problems ``said`` to be so."""
    if compiled.data_check is not None:
        problems = compiled.data_check.problems(data)
        if problems:
            raise InvalidData(f"{said}:\n  " + "\n  ".join(problems), problems=problems)


def refusal(kind: type[EventRefused], message: str, problems: tuple[str, ...]) -> EventRefused:
    """The refusal of a kind, with what it carries."""
    if kind is InvalidPayload or kind is InvalidData:
        return kind(message, problems=problems)
    if kind is MissingRecord:
        return MissingRecord(message, missing=problems)
    if kind is MissingSignature:
        return MissingSignature(message, missing=problems)
    if kind is PartsOpen:
        return PartsOpen(message, open=problems)
    if kind is LimitReached:
        return LimitReached(message, times=int(problems[0]), limit=message.split("`")[1])
    return kind(message)


def computed_field(name: str, value: Any) -> Any:
    """A value a ``set`` (or a child's ``data``) computed, checked where it will sit: one level down in the data."""
    kind = type(value)
    if kind is bool or value is None or (kind is int and -MAX_NUMBER <= value <= MAX_NUMBER):
        return value  # what the walk would give, without it: a scalar within the limits is kept as it is
    if kind is str and len(name) + len(value) <= MAX_CHARACTERS and kept_as_is(value) and kept_as_is(name):
        return value  # so is text within the limit on characters, the field's name counted
    return json_copy({name: value}, "data", ExpressionEvaluationError)[name]


def _permission_problem(candidate: CompiledTransition, actor: Actor) -> tuple[int, type[EventRefused], str] | None:
    if candidate.roles.isdisjoint(actor.roles):
        return (
            0,
            PermissionDenied,
            f"`{actor.id}` (roles: {names(actor.roles)}) may not fire `{candidate.trigger}` "
            f"in state `{candidate.source}`: it needs one of the roles {names(candidate.roles)}",
        )
    return None
