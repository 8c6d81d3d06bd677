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

A step that starts another procedure (``starts``) is walked through as the engine runs it: entering
the step starts the child, which is walked to one of its ends, and the child's end fires the step's
continuation (its ``on_end`` trigger, with the child's ``returns`` as payload). The children's
definitions are those given to ``simulate`` by id; a child not given is not walked: the walk takes one
of the ends the step's ``on_end`` declares, with the continuation's payload sampled from its form, and
the report says that the child was not available.
"""

from __future__ import annotations

import ast
import datetime
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
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
    SubProcessRefused,
)
from engine.expressions import NOW
from engine.instances import Instance, Link
from engine.model import Process, StateKind, SubProcess, thaw_json
from engine.runtime import Actor, ChildStart, Runtime
from engine.sampling import Sampler

MAX_TRIES_PER_STEP = 40
SAMPLES_PER_TRY = 10
"""Payloads drawn (and checked) for one try before the try counts as refused."""
START = "(start)"
"""The trigger named in a stuck report when no walk could even start."""
WALK_STARTS_AT = datetime.datetime(2026, 1, 5, 9, 0, tzinfo=datetime.UTC)
MAX_NESTING = 8
"""Sub-procedures started inside sub-procedures are walked this deep at most (a procedure that starts
itself would otherwise never end); the step that would go deeper is refused, as a child that cannot start."""
LET_THE_CHILD_RUN = 0.8
"""How often a walk waiting for a child lets it run rather than try the step's other ways out (a shared
`cancel`), which the engine allows too: the parent moving on leaves the child alone."""

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
class SubProcessWalks:
    """What the walks did at a step that starts another procedure."""

    step: str
    process: str
    available: bool
    """Whether the child's definition was given: the walks ran it to one of its ends. When it was not,
    they took the ends the step's ``on_end`` declares, with the continuation's payload sampled from its form."""
    ends: Mapping[str, int]
    """For each final state of the child that ``on_end`` names, how often the child ended (or, not
    available, was taken to end) there and the continuation fired."""
    started: int
    """How often the step started the child (an event whose child could not start was refused)."""


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
    sub_procedures: tuple[SubProcessWalks, ...] = ()
    """Each step that starts another procedure, in the order of the states."""
    children: Mapping[str, Coverage] = field(default_factory=dict)
    """The coverage of each child procedure the walks ran, by id (its ``walks``: how often it was
    started, by any step of any procedure walked)."""

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


def simulate(
    runtime: Runtime,
    walks: int,
    seed: int,
    max_steps: int = 200,
    definitions: Mapping[str, Runtime] | None = None,
) -> Coverage:
    """``walks`` random walks of ``runtime``'s procedure, each of at most ``max_steps`` events (a
    child's events count towards its own walk). ``definitions``: the procedures its steps may start,
    by id (a child procedure's own children among them)."""
    family = _Family(dict(definitions or {}), max_steps, random.Random(seed))
    walker = _Walker(runtime, family)
    for number in range(walks):
        walker.aim()
        instance = walker.start(f"walk-{number}")
        if instance is not None:
            walker.walk(instance)
    children = {process_id: child.coverage() for process_id, child in sorted(family.walkers.items())}
    return walker.coverage(children)


@dataclass
class _Family:
    """What the walker of a procedure and the walkers of the children it starts share."""

    definitions: dict[str, Runtime]
    max_steps: int
    rng: random.Random
    walkers: dict[str, _Walker] = field(default_factory=dict)
    """One walker per child procedure, so that its steering and counts carry over from run to run."""
    nesting: int = 0
    """How many children are being walked inside one another just now."""

    def walker(self, process_id: str) -> _Walker | None:
        runtime = self.definitions.get(process_id)
        if runtime is None:
            return None
        if process_id not in self.walkers:
            self.walkers[process_id] = _Walker(runtime, self)
        return self.walkers[process_id]


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

    def __init__(self, runtime: Runtime, family: _Family):
        self.runtime = runtime
        self.process = runtime.process
        self.family = family
        self.rng = family.rng
        self.sampler = Sampler(thaw_json(self.process.document), self.rng, _compared_with(runtime))
        self.states: Counter[str] = Counter()
        self.transitions: Counter[TransitionKey] = Counter()
        self.branches: Counter[BranchKey] = Counter()
        self.promising: set[str] = set(self.process.states)
        self.all_transitions = _all_transitions(self.process)
        self.all_branches = _all_branches(self.process)
        self.stuck: Counter[tuple[str, str, str]] = Counter()
        self.examples: dict[tuple[str, str, str], str] = {}
        self.refused: dict[tuple[str, str], tuple[int, str]] = {}
        self.walks = self.finished = self.stuck_walks = 0
        self.children: dict[str, Instance | None] = {}
        """The children started and not yet ended, by id; ``None``: its definition is not available."""
        self.spawned: Counter[str] = Counter()
        self.ends: dict[str, Counter[str]] = {s.id: Counter() for s in self.process.states.values() if s.starts}

    def walk(self, instance: Instance) -> str | None:
        """Walk an instance on until it ends, gets stuck, or has taken ``max_steps`` events: ``None``
        when it ended, else what stopped it, in words."""
        for _ in range(self.family.max_steps):
            if self.process.states[instance.state].is_final:
                break
            if not self.step(instance):
                self.stuck_walks += 1
                return "got stuck"
        if not self.process.states[instance.state].is_final:
            return f"did not end within {self.family.max_steps} events"
        self.finished += 1
        return None

    def coverage(self, children: Mapping[str, Coverage] | None = None) -> Coverage:
        process = self.process
        return Coverage(
            walks=self.walks,
            finished=self.finished,
            stuck=self.stuck_walks,
            states=self.states,
            transitions=self.transitions,
            branches=self.branches,
            all_states=tuple(process.states),
            all_transitions=self.all_transitions,
            all_branches=self.all_branches,
            stuck_at=self.stuck_report(),
            never_taken_because=self.never_taken_because(),
            sub_procedures=tuple(
                SubProcessWalks(
                    step,
                    starts.process,
                    starts.process in self.family.definitions,
                    {final: self.ends[step][final] for final, _ in starts.on_end},
                    self.spawned[step],
                )
                for step, starts in _starting_steps(process)
            ),
            children=dict(children or {}),
        )

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
        """A new walk's instance, started by someone holding a role that may, with sampled data."""
        self.walks += 1
        self.children.clear()
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
        self.stuck_walks += 1
        return None

    def started(self, child: Instance) -> None:
        """A child instance a parent's step started, to be walked as one of this procedure's walks."""
        self.aim()
        self.walks += 1
        self.states[child.state] += 1

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
            if self.runtime.advance(instance, max(now, min(d.due for d in timed)), spawn=self.spawn).fired:
                return True
        if self.do_a_part(instance, now):
            return True
        candidates: Sequence[CompiledTransition] = self.runtime.compiled.transitions[instance.state]
        starts = self.process.states[instance.state].starts
        waiting = self.runtime.waiting_for(instance)
        if starts is not None and waiting is not None:
            continuations = {trigger for _, trigger in starts.on_end}  # only the engine fires these
            candidates = [c for c in candidates if c.trigger not in continuations]
            if not candidates or self.rng.random() < LET_THE_CHILD_RUN:
                if self.child_ends(instance, starts, waiting, now):
                    return True
        if not candidates:
            if waiting is None:
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
                actor = self.actor_for(candidate)
                self.runtime.fire(instance, candidate.trigger, actor, payload, at=now, spawn=self.spawn)
                return True
            except EventRefused as exc:
                reason, example = _said(exc)
                self._refused(refused, instance.state, candidate.trigger, _STAGES.get(type(exc), 0), reason, example)
                weights[index] /= 2  # a guard that rarely holds must not crowd out the other ways on
        for trigger, (_, reason, example) in refused.items():
            self._stuck(instance.state, trigger, reason, example)
        return False

    def spawn(self, request: ChildStart) -> str:
        """Start the child a step asks for, as ``Workflows`` does (by the parent's actor, holding the
        role ``as`` names or the child's start step's), and keep it to walk; a child whose definition
        is not available is only named."""
        step = request.parent.state
        child_id = f"{request.parent.instance}/{step}-{self.spawned[step] + 1}"
        walker = self.family.walker(request.process)
        if walker is None:
            self.spawned[step] += 1
            self.children[child_id] = None
            return child_id
        if self.family.nesting >= MAX_NESTING:
            raise SubProcessRefused(f"sub-procedures nest more than {MAX_NESTING} deep here; the walk stops")
        start = walker.process.start
        role = request.role if request.role is not None else start.role if start is not None else None
        actor = Actor(request.actor, () if role is None else (role,))
        child = walker.runtime.start(actor, request.data, at=request.at, instance_id=child_id, parent=request.parent)
        walker.started(child)
        self.spawned[step] += 1
        self.children[child_id] = child
        return child_id

    def child_ends(self, instance: Instance, starts: SubProcess, child_id: str, now: datetime.datetime) -> bool:
        """Let the child the step waits for end, then fire the step's continuation as the engine does."""
        if child_id not in self.children:  # started before this walker knew it (cannot happen in a walk)
            return False
        step = instance.state
        child = self.children[child_id]
        if child is None:
            ended = self.declared_end(instance, starts, child_id)
            if ended is None:
                return False
            link, payload, at = *ended, now
        else:
            walker = self.family.walker(starts.process)
            assert walker is not None  # it started the child
            self.family.nesting += 1
            try:
                stopped = walker.walk(child)
            finally:
                self.family.nesting -= 1
            if stopped is not None:
                why = f"its sub-procedure `{starts.process}` {stopped} in `{child.state}` (see its coverage)"
                self._stuck(step, f"({starts.process})", why, "")
                return False
            link = Link(child.id, child.process_id, child.state)
            payload = self.runtime.returns_of(step, child.data)
            at = max(child.history[-1].at, instance.history[-1].at)
        try:
            self.runtime.child_ended(instance, link, payload, at=at, spawn=self.spawn)
        except EventRefused as exc:
            reason, example = _said(exc)
            self._stuck(step, starts.trigger_for(link.state) or "", reason, example)
            return False
        del self.children[child_id]
        self.ends[step][link.state] += 1
        return True

    def declared_end(self, instance: Instance, starts: SubProcess, child_id: str) -> tuple[Link, dict[str, Any]] | None:
        """For a child whose definition is not available: one of the ends ``on_end`` declares (favouring
        a continuation not yet taken), with the continuation's payload sampled from its form."""
        by_trigger = {c.trigger: c for c in self.runtime.compiled.transitions[instance.state]}
        ends = [(final, by_trigger[trigger]) for final, trigger in starts.on_end if trigger in by_trigger]
        weights = [self.weight(candidate) for _, candidate in ends]
        unfilled: dict[str, _Unfilled] = {}
        for _ in range(MAX_TRIES_PER_STEP if ends else 0):
            index = self.rng.choices(range(len(ends)), weights)[0]
            final, candidate = ends[index]
            payload = self.payload(candidate, instance)
            if not isinstance(payload, _Unfilled):
                return Link(child_id, starts.process, final), payload
            unfilled[candidate.trigger] = payload
            weights[index] /= 2
        for trigger, why in unfilled.items():
            self._stuck(instance.state, trigger, why.reason, why.example)
        return None

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


def _starting_steps(process: Process) -> Iterator[tuple[str, SubProcess]]:
    for state in process.states.values():
        if state.starts is not None:
            yield state.id, state.starts
