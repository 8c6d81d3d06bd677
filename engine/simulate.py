"""Random walks through a definition, to show which states, transitions and branches real runs reach.

Each walk starts an instance and, until it reaches a final state, picks one of the transitions that
leave the current state (strongly favouring those not yet taken, so that deep and rare paths
are reached), someone holding its roles, and a payload sampled from its form, and fires it; now and then
it lets time pass so that deadlines fire. Refused events are simply tried again with other choices:
a guard that needs particular values is reached when the sampler finds them. The same seed gives the
same walks.
"""

from __future__ import annotations

import datetime
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.compiler import CompiledTransition
from engine.errors import EventRefused
from engine.instances import Instance
from engine.model import Process, StateKind, thaw_json
from engine.runtime import Actor, Runtime

MAX_TRIES_PER_STEP = 40
WALK_STARTS_AT = datetime.datetime(2026, 1, 5, 9, 0, tzinfo=datetime.UTC)

TransitionKey = tuple[str, str, str]
"""``(source, trigger, dest)``."""
BranchKey = tuple[str, int | None]
"""``(decision, branch index)``; ``None`` is the default branch."""


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
        self.sampler = _Sampler(thaw_json(self.process.document), rng)
        self.states: Counter[str] = Counter()
        self.transitions: Counter[TransitionKey] = Counter()
        self.branches: Counter[BranchKey] = Counter()
        self.promising: set[str] = set(self.process.states)
        self.all_transitions = _all_transitions(self.process)
        self.all_branches = _all_branches(self.process)

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
        for _ in range(MAX_TRIES_PER_STEP):
            role = self.rng.choice(roles)
            actor = Actor(f"{role}-{self.rng.randint(1, 2)}", [role])
            data = {} if schema is None else self.sampler.required_only(schema)
            try:
                instance = self.runtime.start(actor, data, at=WALK_STARTS_AT, instance_id=instance_id)
            except EventRefused:
                continue
            self.states[instance.state] += 1
            return instance
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
            if entry.source is not None and entry.trigger is not None:
                self.transitions[(entry.source, entry.trigger, entry.dest)] += 1
        return moved

    def move(self, instance: Instance) -> bool:
        now = instance.history[-1].at + datetime.timedelta(minutes=self.rng.randint(1, 600))
        timed = [d for d in instance.deadlines if d.fire is not None]
        if timed and self.rng.random() < 0.25:
            if self.runtime.advance(instance, max(now, min(d.due for d in timed))).fired:
                return True
        candidates = self.runtime.compiled.transitions[instance.state]
        weights = [self.weight(c) for c in candidates]
        for _ in range(MAX_TRIES_PER_STEP):
            index = self.rng.choices(range(len(candidates)), weights)[0]
            candidate = candidates[index]
            try:
                self.runtime.fire(
                    instance, candidate.trigger, self.actor_for(candidate), self.payload(candidate), at=now
                )
                return True
            except EventRefused:
                weights[index] /= 2  # a guard that rarely holds must not crowd out the other ways on
        return False

    def weight(self, candidate: CompiledTransition) -> float:
        if (candidate.source, candidate.trigger, candidate.transition.dest) not in self.transitions:
            return 1.0
        return 1.0 if candidate.transition.dest in self.promising else 0.05

    def actor_for(self, candidate: CompiledTransition) -> Actor:
        roles = {self.rng.choice(sorted(candidate.roles))} | {s.role for s in candidate.transition.signoffs}
        # Two people per set of roles, so that "not the one who did step X" can be satisfied.
        return Actor(f"{'+'.join(sorted(roles))}-{self.rng.randint(1, 2)}", roles)

    def payload(self, candidate: CompiledTransition) -> Mapping[str, Any]:
        schema = thaw_json(candidate.transition.payload_schema)
        value = self.sampler.value(schema) if schema is not None else {}
        return value if isinstance(value, dict) else {}


class _Sampler:
    """Values that fit the JSON Schema fragments definitions use, chosen at random."""

    def __init__(self, document: Mapping[str, Any], rng: random.Random):
        self.document = document
        self.rng = rng

    def required_only(self, schema: Any) -> Any:
        return self.value(schema, optional=0.0)

    def value(self, schema: Any, depth: int = 0, optional: float = 0.5) -> Any:
        if not isinstance(schema, Mapping) or depth > 12:
            return None if schema is False else "text"
        if isinstance(schema.get("$ref"), str):
            return self.value(self.resolve(schema["$ref"]), depth + 1, optional)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self.rng.choice(schema["enum"])
        for alternatives in ("anyOf", "oneOf"):
            if alternatives in schema:
                return self.value(self.rng.choice(schema[alternatives]), depth + 1, optional)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = self.rng.choice(kind)
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        if kind == "object":
            properties = schema.get("properties", {})
            required = set(schema.get("required", ()))
            return {
                name: self.value(properties.get(name, {}), depth + 1, optional)
                for name in dict.fromkeys([*properties, *required])
                if name in required or self.rng.random() < optional
            }
        if kind == "array":
            low = schema.get("minItems", 0)
            count = min(low + self.rng.randint(0, 2), schema.get("maxItems", low + 2))
            return [self.value(schema.get("items", {}), depth + 1, optional) for _ in range(count)]
        if kind in ("integer", "number"):
            return self.number(schema, kind == "integer")
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        return self.text(schema)

    def number(self, schema: Mapping[str, Any], integer: bool) -> int | float:
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + (1 if "exclusiveMinimum" in schema else 0))
        high = schema.get("maximum", schema.get("exclusiveMaximum", low + 1001) - 1)
        # Half the time near the minimum: guards compare with small thresholds more often than large.
        top = min(int(high), int(low) + 3) if self.rng.random() < 0.5 else int(high)
        value = self.rng.randint(int(low), max(int(low), top))
        return value if integer else float(value)

    def text(self, schema: Mapping[str, Any]) -> str:
        form = schema.get("format")
        if form == "date":
            return (datetime.date(2026, 1, 5) + datetime.timedelta(days=self.rng.randint(0, 300))).isoformat()
        if form == "date-time":
            return (WALK_STARTS_AT + datetime.timedelta(hours=self.rng.randint(0, 5000))).isoformat()
        text = f"text {self.rng.randint(0, 999)}"
        return text.ljust(schema.get("minLength", 0), "x")[: schema.get("maxLength", len(text) + 64)]

    def resolve(self, ref: str) -> Any:
        target: Any = self.document
        if not ref.startswith("#/"):
            return {}
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        return target
