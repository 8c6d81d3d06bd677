"""Random walks through a definition, to show which states, transitions and branches real runs reach.

Each walk starts an instance and, until it reaches a final state, picks one of the transitions that
leave the current state (strongly favouring those not yet taken, so that deep and rare paths
are reached), someone holding its roles, and a payload sampled from its form, and fires it; now and then
it lets time pass so that deadlines fire. Payloads are drawn by ``engine.sampling`` from all their
forms allow, and checked before they are sent. Refused events are tried again with other choices: a
guard that needs particular values is reached when the sampler finds them (it favours the numbers and
texts the conditions compare with). A walk that can fire nothing is stuck, and the report says where
and why: the state, each trigger tried, and what refused it (a field no sampled value could fill, a
condition that never held, a role no one had). The same seed gives the same walks.
"""

from __future__ import annotations

import ast
import datetime
import random
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.compiler import CompiledTransition, SchemaCheck
from engine.errors import (
    EventRefused,
    ExpressionEvaluationError,
    GuardFailed,
    InvalidData,
    InvalidPayload,
    PermissionDenied,
)
from engine.expressions import NOW
from engine.instances import Instance
from engine.model import Process, StateKind, thaw_json
from engine.runtime import Actor, Runtime
from engine.sampling import Sampler

MAX_TRIES_PER_STEP = 40
SAMPLES_PER_TRY = 10
"""Payloads drawn (and checked) for one try before the try counts as refused."""
START = "(start)"
"""The trigger named in a stuck report when no walk could even start."""
WALK_STARTS_AT = datetime.datetime(2026, 1, 5, 9, 0, tzinfo=datetime.UTC)

TransitionKey = tuple[str, str, str]
"""``(source, trigger, dest)``."""
BranchKey = tuple[str, int | None]
"""``(decision, branch index)``; ``None`` is the default branch."""


@dataclass(frozen=True)
class Stuck:
    """Walks that stopped in ``state`` because ``trigger`` was refused every time, and why."""

    state: str
    trigger: str
    reason: str
    """What refused it, in words: the field that could not be filled, the condition that never held."""
    walks: int
    example: str
    """The refusal as the runtime said it, the last time (with the value that did not fit)."""


@dataclass(frozen=True)
class Coverage:
    walks: int
    finished: int
    """Walks that reached a final state within the step limit."""
    stuck: int
    """Walks that stopped in a state where nothing could be fired (not even after many tries)."""
    states: Counter[str]
    transitions: Counter[TransitionKey]
    branches: Counter[BranchKey]
    all_states: tuple[str, ...]
    all_transitions: tuple[TransitionKey, ...]
    all_branches: tuple[BranchKey, ...]
    stuck_at: tuple[Stuck, ...] = ()
    """Where and why walks got stuck, most walks first."""
    never_taken_because: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """``(state, trigger)`` never taken → why it was refused (the try that got furthest)."""

    @property
    def states_missed(self) -> tuple[str, ...]:
        return tuple(s for s in self.all_states if s not in self.states)

    @property
    def transitions_missed(self) -> tuple[TransitionKey, ...]:
        return tuple(t for t in self.all_transitions if t not in self.transitions)

    @property
    def branches_missed(self) -> tuple[BranchKey, ...]:
        return tuple(b for b in self.all_branches if b not in self.branches)

    @property
    def complete(self) -> bool:
        return not (self.states_missed or self.transitions_missed or self.branches_missed)


def simulate(runtime: Runtime, walks: int, seed: int, max_steps: int = 200) -> Coverage:
    process = runtime.process
    walker = _Walker(runtime, random.Random(seed))
    finished = stuck = 0
    for number in range(walks):
        walker.aim()
        instance = walker.start(f"walk-{number}")
        if instance is None:
            stuck += 1
            continue
        for _ in range(max_steps):
            if process.states[instance.state].is_final:
                finished += 1
                break
            if not walker.step(instance):
                stuck += 1
                break
    return Coverage(
        walks=walks,
        finished=finished,
        stuck=stuck,
        states=walker.states,
        transitions=walker.transitions,
        branches=walker.branches,
        all_states=tuple(process.states),
        all_transitions=_all_transitions(process),
        all_branches=_all_branches(process),
        stuck_at=walker.stuck_report(),
        never_taken_because=walker.never_taken_because(),
    )


def _all_transitions(process: Process) -> tuple[TransitionKey, ...]:
    keys = [(s.id, t.trigger, t.dest) for s in process.states.values() for t in s.transitions]
    return tuple(dict.fromkeys(keys))


def _all_branches(process: Process) -> tuple[BranchKey, ...]:
    keys: list[BranchKey] = []
    for state in process.states.values():
        if state.kind is StateKind.DECISION:
            keys.extend((state.id, i) for i, _ in enumerate(state.branches))
            if state.default is not None:
                keys.append((state.id, None))
    return tuple(keys)


class _Walker:
    """Walks one process, counting what it covers, and steering towards what it has not."""

    def __init__(self, runtime: Runtime, rng: random.Random):
        self.runtime = runtime
        self.process = runtime.process
        self.rng = rng
        self.sampler = Sampler(thaw_json(self.process.document), rng, _compared_with(runtime))
        self.states: Counter[str] = Counter()
        self.transitions: Counter[TransitionKey] = Counter()
        self.branches: Counter[BranchKey] = Counter()
        self.promising: set[str] = set(self.process.states)
        self.all_transitions = _all_transitions(self.process)
        self.all_branches = _all_branches(self.process)
        self.stuck: Counter[tuple[str, str, str]] = Counter()
        self.examples: dict[tuple[str, str, str], str] = {}
        self.refused: dict[tuple[str, str], tuple[int, str]] = {}

    def aim(self) -> None:
        """Find the states from which something not yet covered can still be reached.

        Without this, an early exit offered at every step ("the customer leaves") makes each deeper
        step half as likely as the one before, and deep paths are almost never walked.
        """
        frontier = {key[0] for key in self.all_transitions if key not in self.transitions}
        frontier |= {d for d, i in self.all_branches if (d, i) not in self.branches}
        frontier |= {s for s in self.process.states if s not in self.states}
        leads_to: dict[str, set[str]] = {s: set() for s in self.process.states}
        for state in self.process.states.values():
            for dest in state.exits():
                leads_to.setdefault(dest, set()).add(state.id)
        promising, queue = set(frontier), list(frontier)
        while queue:
            for earlier in leads_to.get(queue.pop(), ()):
                if earlier not in promising:
                    promising.add(earlier)
                    queue.append(earlier)
        self.promising = promising

    def start(self, instance_id: str) -> Instance | None:
        start = self.process.start
        assert start is not None
        transitions = self.runtime.compiled.transitions[start.id]
        roles = sorted({r for t in transitions for r in t.roles} | {start.role or "starter"})
        schema = thaw_json(self.process.data_schema)
        reason = example = "no one holding its roles could start it"
        for _ in range(MAX_TRIES_PER_STEP):
            role = self.rng.choice(roles)
            actor = Actor(f"{role}-{self.rng.randint(1, 2)}", [role])
            data = {} if schema is None else self.fitting(schema, self.runtime.compiled.data_check, "data", 0.0)
            if isinstance(data, _Unfilled):
                reason, example = data.reason, data.example
                continue
            try:
                instance = self.runtime.start(actor, data, at=WALK_STARTS_AT, instance_id=instance_id)
            except EventRefused as exc:
                reason, example = _said(exc)
                continue
            self.states[instance.state] += 1
            return instance
        self._stuck(start.id, START, reason, example)
        return None

    def step(self, instance: Instance) -> bool:
        """Fire one event (or let a deadline pass) and count it; ``False`` when nothing could be fired."""
        before = len(instance.history)
        moved = self.move(instance)
        for entry in instance.history[before:]:
            self.states[entry.dest] += 1
            for taken in entry.branches:
                self.states[taken.dest] += 1
                self.branches[(taken.decision, taken.branch)] += 1
            if entry.source is not None and entry.trigger is not None and entry.part is None:
                self.transitions[(entry.source, entry.trigger, entry.dest)] += 1
        return moved

    def move(self, instance: Instance) -> bool:
        now = instance.history[-1].at + datetime.timedelta(minutes=self.rng.randint(1, 600))
        timed = [d for d in instance.deadlines if d.fire is not None]
        if timed and self.rng.random() < 0.25:
            if self.runtime.advance(instance, max(now, min(d.due for d in timed))).fired:
                return True
        if self.do_a_part(instance, now):
            return True
        candidates = self.runtime.compiled.transitions[instance.state]
        if not candidates:
            self._stuck(instance.state, "", "no transition leaves it and no deadline fired", "")
            return False
        weights = [self.weight(c) for c in candidates]
        refused: dict[str, tuple[int, str, str]] = {}
        for _ in range(MAX_TRIES_PER_STEP):
            index = self.rng.choices(range(len(candidates)), weights)[0]
            candidate = candidates[index]
            payload = self.payload(candidate, instance)
            if isinstance(payload, _Unfilled):
                self._refused(refused, instance.state, candidate.trigger, _FILLING, payload.reason, payload.example)
                weights[index] /= 2
                continue
            try:
                self.runtime.fire(instance, candidate.trigger, self.actor_for(candidate), payload, at=now)
                return True
            except EventRefused as exc:
                reason, example = _said(exc)
                self._refused(refused, instance.state, candidate.trigger, _STAGES.get(type(exc), 0), reason, example)
                weights[index] /= 2  # a guard that rarely holds must not crowd out the other ways on
        for trigger, (_, reason, example) in refused.items():
            self._stuck(instance.state, trigger, reason, example)
        return False

    def do_a_part(self, instance: Instance, now: datetime.datetime) -> bool:
        """Do one required part still open in the step (its people do their share before anyone decides)."""
        for status in self.runtime.parts(instance, now):
            if status.done is not None or not status.required:
                continue
            part = status.part
            compiled = self.runtime.compiled.parts[instance.state][part.id]
            schema = thaw_json(part.payload_schema)
            payload = {} if schema is None else self.fitting(schema, compiled.payload, "payload", 0.5)
            if isinstance(payload, _Unfilled):
                self._stuck(instance.state, part.id, payload.reason, payload.example)
                return False
            if status.item is not None:
                payload["item"] = status.item
            role = self.rng.choice(sorted(part.roles))
            try:
                self.runtime.fire(instance, part.id, Actor(f"{role}-{self.rng.randint(1, 2)}", [role]), payload, at=now)
            except EventRefused as exc:
                reason, example = _said(exc)
                self._stuck(instance.state, part.id, reason, example)
                return False
            return True
        return False

    def _refused(
        self, step: dict[str, tuple[int, str, str]], state: str, trigger: str, stage: int, reason: str, example: str
    ) -> None:
        """Note a refusal, keeping per trigger the one that got furthest (a condition that held but
        left data the schema refuses says more than an earlier try whose condition did not hold)."""
        if stage >= step.get(trigger, (-1, "", ""))[0]:
            step[trigger] = (stage, reason, example)
        if stage >= self.refused.get((state, trigger), (-1, ""))[0]:
            self.refused[(state, trigger)] = (stage, reason)

    def _stuck(self, state: str, trigger: str, reason: str, example: str) -> None:
        self.stuck[(state, trigger, reason)] += 1
        self.examples[(state, trigger, reason)] = example

    def never_taken_because(self) -> dict[tuple[str, str], str]:
        taken = {(source, trigger) for source, trigger, _ in self.transitions}
        return {key: reason for key, (_, reason) in sorted(self.refused.items()) if key not in taken}

    def stuck_report(self) -> tuple[Stuck, ...]:
        ordered = sorted(self.stuck.items(), key=lambda item: (-item[1], item[0]))
        return tuple(Stuck(s, t, r, count, self.examples[(s, t, r)]) for (s, t, r), count in ordered)

    def weight(self, candidate: CompiledTransition) -> float:
        if (candidate.source, candidate.trigger, candidate.transition.dest) not in self.transitions:
            return 1.0
        return 1.0 if candidate.transition.dest in self.promising else 0.05

    def actor_for(self, candidate: CompiledTransition) -> Actor:
        roles = {self.rng.choice(sorted(candidate.roles))} | {s.role for s in candidate.transition.signoffs}
        # Two people per set of roles, so that "not the one who did step X" can be satisfied.
        return Actor(f"{'+'.join(sorted(roles))}-{self.rng.randint(1, 2)}", roles)

    def payload(self, candidate: CompiledTransition, instance: Instance) -> dict[str, Any] | _Unfilled:
        """A payload that fits the form, and if one can be found, meets the trigger's conditions too."""
        schema = thaw_json(candidate.transition.payload_schema)
        if schema is None:
            return {}
        fitting: dict[str, Any] | _Unfilled = _Unfilled("", "")
        for _ in range(SAMPLES_PER_TRY):
            fitting = self.fitting(schema, candidate.payload, "payload", 0.5)
            if isinstance(fitting, _Unfilled) or _holds(candidate, instance.data, fitting, instance.history[-1].at):
                break
        return fitting

    def fitting(self, schema: Any, check: SchemaCheck | None, root: str, optional: float) -> dict[str, Any] | _Unfilled:
        """A sampled object the check accepts, or why none was found."""
        problems: tuple[str, ...] = ()
        for _ in range(SAMPLES_PER_TRY):
            value = self.sampler.value(schema, optional)
            if not isinstance(value, dict):
                problems = (f"{root}: the form's schema does not describe an object",)
                continue
            problems = () if check is None else check.problems(value)
            if not problems:
                return value
        field = problems[0].split(":", 1)[0] if problems else root
        return _Unfilled(
            f"no sampled value for `{field}` fitted its schema ({SAMPLES_PER_TRY} tries); "
            "give the field `examples:` that fit",
            problems[0] if problems else "",
        )


def _holds(
    candidate: CompiledTransition, data: Mapping[str, Any], payload: Mapping[str, Any], now: datetime.datetime
) -> bool:
    scope = {"data": data, "payload": payload, NOW: now}
    try:
        return all(bool(guard.evaluate(scope)) for guard in candidate.guards)
    except ExpressionEvaluationError:
        return False


# How far a refused try got: a later stage says more about why a transition is never taken.
_FILLING = 2
_STAGES: dict[type[EventRefused], int] = {PermissionDenied: 1, InvalidPayload: 2, GuardFailed: 3, InvalidData: 4}


@dataclass(frozen=True)
class _Unfilled:
    reason: str
    example: str


def _said(exc: EventRefused) -> tuple[str, str]:
    """A refusal as a reason that names the field but not the value (so that walks refused alike
    count together), and as the runtime said it, with the value."""
    said = str(exc).split("\n", 1)[0].rstrip(":")
    problems: tuple[str, ...] = getattr(exc, "problems", ())
    if not problems:
        return said, said
    return f"{said}: `{problems[0].split(':', 1)[0]}`", f"{said}: {problems[0]}"


def _compared_with(runtime: Runtime) -> list[object]:
    """The numbers and texts the definition's conditions compare with, for the sampler to try."""
    texts = [
        guard.text for candidates in runtime.compiled.transitions.values() for c in candidates for guard in c.guards
    ]
    texts += [b.condition.text for branches in runtime.compiled.branches.values() for b in branches if b.condition]
    return [value for text in texts for value in _constants(text)]


def _constants(text: str) -> Iterator[object]:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:  # checked at load; kept safe for a condition the loader let through
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            node = node.operand
            sign = -1
        else:
            sign = 1
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
            if isinstance(node.value, (int, float)):
                yield sign * node.value
            elif isinstance(node.value, str):
                yield node.value
