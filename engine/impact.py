"""What a change to a procedure does to its open cases: given the old and the new definition and the
cases running on the old one, which of them the change touches, and how (``IMPACT_KINDS``):

* ``removed-step`` — the case is in a step the new definition does not have;
* ``renamed-step`` — the case is in a step the new definition renamed (``engine.changes`` detects it);
* ``new-required-field`` — a form of the case's step (a transition out of it) requires a field it did not;
* ``data-misfit`` — the case's data does not fit the new data schema;
* ``clock-limit`` — a clock running in the case has another warning, limit or ceiling (or is gone);
* ``parts`` — the parts of the case's step differ (added, removed, required or per item otherwise).

Read only: nothing here changes a case or a store (``Workflows.impact`` reads the cases).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from engine.changes import Change
from engine.clocks import runs_of
from engine.compiler import CompiledProcess
from engine.instances import Instance
from engine.model import Clock, DataLimit, Duration, Part, Process, Transition, thaw_json

ImpactKind = Literal["removed-step", "renamed-step", "new-required-field", "data-misfit", "clock-limit", "parts"]
IMPACT_KINDS: tuple[ImpactKind, ...] = (
    "removed-step",
    "renamed-step",
    "new-required-field",
    "data-misfit",
    "clock-limit",
    "parts",
)
_HEADINGS: Mapping[ImpactKind, str] = {
    "removed-step": "in a removed step",
    "renamed-step": "in a renamed step",
    "new-required-field": "at a step whose form gained a required field",
    "data-misfit": "whose data no longer fits the data schema",
    "clock-limit": "whose running clocks change limit",
    "parts": "whose step's parts change",
}


@dataclass(frozen=True)
class Touched:
    """One way the change touches one case."""

    kind: ImpactKind
    instance_id: str
    state: str
    detail: str
    """What, in words: ``form of `approve`: new required field `amount```."""


@dataclass(frozen=True)
class Impact:
    """The open cases of the old definition a change touches."""

    checked: int
    """How many open cases were looked at."""
    touched: tuple[Touched, ...]

    def of(self, kind: ImpactKind) -> tuple[Touched, ...]:
        return tuple(t for t in self.touched if t.kind == kind)

    def ids(self, kind: ImpactKind) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.instance_id for t in self.of(kind)))

    @property
    def cases(self) -> tuple[str, ...]:
        """Every case touched at all, once each."""
        return tuple(dict.fromkeys(t.instance_id for t in self.touched))

    def lines(self) -> list[str]:
        lines = [f"{len(self.cases)} of {self.checked} open cases touched"]
        for kind in IMPACT_KINDS:
            found = self.of(kind)
            if found:
                lines.append(f"{_HEADINGS[kind]}: {len(self.ids(kind))}")
                lines.extend(f"  {t.instance_id} ({t.state}): {t.detail}" for t in found)
        return lines

    def as_json(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "touched": len(self.cases),
            "groups": {
                kind: {
                    "count": len(self.ids(kind)),
                    "ids": list(self.ids(kind)),
                    "cases": [{"id": t.instance_id, "state": t.state, "detail": t.detail} for t in self.of(kind)],
                }
                for kind in IMPACT_KINDS
            },
        }


def impact(old: Process, new: Process, changes: Iterable[Change], cases: Iterable[Instance]) -> Impact:
    """How ``changes`` (``diff_processes(old, new)``) touch each open case of ``old`` in ``cases``."""
    renamed = {c.old_id: c.id for c in changes if c.kind == "renamed" and c.element == "step" and c.old_id}
    data_check = CompiledProcess(new).data_check
    checked, touched = 0, list[Touched]()
    for case in cases:
        if case.content_hash != old.content_hash or old.states[case.state].is_final:
            continue
        checked += 1
        touched += _touches(old, new, renamed, data_check, case)
    return Impact(checked, tuple(touched))


def _touches(old: Process, new: Process, renamed: Mapping[str, str], data_check: Any, case: Instance) -> list[Touched]:
    found: list[Touched] = []

    def touch(kind: ImpactKind, detail: str) -> None:
        found.append(Touched(kind, case.id, case.state, detail))

    state = renamed.get(case.state, case.state)
    if case.state in renamed:
        touch("renamed-step", f"`{case.state}` is now `{state}`")
    elif state not in new.states:
        touch("removed-step", f"step `{case.state}` is removed")
    if state in new.states:
        for trigger, fields in _new_required(old.states[case.state].transitions, new.states[state].transitions):
            touch(
                "new-required-field", f"form of `{trigger}`: new required field {', '.join(f'`{f}`' for f in fields)}"
            )
        before, after = _parts(old.states[case.state].parts), _parts(new.states[state].parts)
        if before != after:
            touch("parts", _parts_words(before, after))
    if data_check is not None:
        problems = data_check.problems(case.data)
        if problems:
            touch("data-misfit", "; ".join(problems))
    for clock_id, run in runs_of(old, case.history).items():
        if not run.running:
            continue
        clock = new.clocks.get(clock_id)
        if clock is None:
            touch("clock-limit", f"clock `{clock_id}` is running and is removed")
        elif _points(clock) != _points(old.clocks[clock_id]):
            touch("clock-limit", f"clock `{clock_id}`: {_points_words(old.clocks[clock_id])} → {_points_words(clock)}")
    return found


def _required(schema: Any) -> frozenset[str]:
    plain = thaw_json(schema) if schema is not None else {}
    required = plain.get("required", []) if isinstance(plain, dict) else []
    return frozenset(r for r in required if isinstance(r, str))


def _new_required(old: Iterable[Transition], new: Iterable[Transition]) -> list[tuple[str, list[str]]]:
    before = {t.trigger: _required(t.payload_schema) for t in old}
    found = []
    for transition in new:
        added = sorted(_required(transition.payload_schema) - before.get(transition.trigger, frozenset()))
        if added:
            found.append((transition.trigger, added))
    return found


def _parts(parts: Iterable[Part]) -> dict[str, tuple[Any, ...]]:
    return {p.id: (p.required, p.required_when, p.for_each, p.roles) for p in parts}


def _parts_words(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    words = [f"part `{p}` added" for p in after if p not in before]
    words += [f"part `{p}` removed" for p in before if p not in after]
    words += [f"part `{p}` changed" for p in after if p in before and before[p] != after[p]]
    return ", ".join(words)


def _point(limit: Duration | DataLimit | None) -> Any:
    if isinstance(limit, Duration):
        return ("duration", limit.amount, limit.unit, limit.working)
    if isinstance(limit, DataLimit):
        return ("data", limit.expression, limit.unit, limit.working)
    return None


def _points(clock: Clock) -> dict[str, Any]:
    return {name: _point(limit) for name, (limit, _) in clock.thresholds.items()}


def _points_words(clock: Clock) -> str:
    shown = []
    for name, (limit, _) in clock.thresholds.items():
        text = limit.text if isinstance(limit, Duration) else limit.expression if isinstance(limit, DataLimit) else "?"
        shown.append(f"{name} {text}")
    return ", ".join(shown)
