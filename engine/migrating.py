"""Applying a migration plan (``engine.migration``) to the cases in a store: ``Workflows.migrate``.

Before anything is written the plan is checked against the two revisions it names, and every selected
case is moved on a private copy by the new revision's runtime (``Runtime.adopt``: the step exists and a
case may rest there, the data fits, time limits, deadlines and clocks are worked out afresh, the parts
done fit the new step). A dry run stops there and reports, per case, what would happen or why it is
refused. Otherwise each case that passed is read again, checked again and written on its own, in one
transaction conditional on the version it was read at (the store's ``save``, as an event is): a worker
that fires an event meanwhile makes the write stale, and the case is read and checked once more. So a
case is either on its old revision or moved, never half-moved, and a migration killed midway leaves
each case one or the other. Running the plan again skips (and reports) the cases it has moved
already; a case refused or lost to the race is reported and left as it was.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from engine.errors import (
    DefinitionError,
    EventRefused,
    ExpressionEvaluationError,
    NotFound,
    PermissionDenied,
    PlanError,
    Problem,
    Severity,
    StaleVersion,
)
from engine.instances import Instance, Migration, RevisionMark
from engine.migration import MigrationPlan, RevisionSpec, check_plan
from engine.model import Process
from engine.processes import load_process
from engine.runtime import Actor, Runtime
from engine.stores import InstanceSummary, ProcessRef, Store

Outcome = Literal["moved", "would move", "already moved", "refused", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("moved", "would move", "already moved", "refused", "failed")


@dataclass(frozen=True)
class CaseMigration:
    """What the migration did, or would do, to one case."""

    instance_id: str
    outcome: Outcome
    source: str
    """The step the case was in, on the old revision."""
    target: str
    """The step it goes (or would have gone) to, on the new revision."""
    values: Mapping[str, Any]
    """The data the plan sets for it (empty when they could not be worked out)."""
    detail: str
    """Why it was refused or failed; for a case moved, its new time limits and deadlines."""


@dataclass(frozen=True)
class MigrationReport:
    """What ``Workflows.migrate`` did, case by case."""

    plan: str
    process: str
    source: ProcessRef
    target: ProcessRef
    dry_run: bool
    cases: tuple[CaseMigration, ...]
    warnings: tuple[Problem, ...] = ()

    def count(self, outcome: Outcome) -> int:
        return sum(1 for case in self.cases if case.outcome == outcome)

    @property
    def ok(self) -> bool:
        """No selected case was refused or failed."""
        return not self.count("refused") and not self.count("failed")

    def lines(self) -> list[str]:
        head = "dry run: " if self.dry_run else ""
        counts = ", ".join(f"{self.count(o)} {o}" for o in OUTCOMES if self.count(o))
        lines = [
            f"{head}`{self.process}` revision {self.source.revision} → {self.target.revision}: "
            f"{counts or 'no case selected'}"
        ]
        lines += [str(w) for w in self.warnings]
        for case in self.cases:
            lines.append(f"  {case.instance_id}: {case.outcome}: {case.source} → {case.target}")
            if case.values:
                lines.append("    set " + ", ".join(f"{k} = {v!r}" for k, v in case.values.items()))
            if case.detail:
                lines.append(f"    {case.detail}")
        return lines

    def as_json(self) -> dict[str, Any]:
        return {
            "format": 1,
            "plan": self.plan,
            "process": self.process,
            "from": _ref_json(self.source),
            "to": _ref_json(self.target),
            "dry_run": self.dry_run,
            "summary": {o: self.count(o) for o in OUTCOMES},
            "warnings": [w.as_json() for w in self.warnings],
            "cases": [
                {
                    "id": c.instance_id,
                    "outcome": c.outcome,
                    "from": c.source,
                    "to": c.target,
                    "set": dict(c.values),
                    "detail": c.detail,
                }
                for c in self.cases
            ],
        }


def _ref_json(ref: ProcessRef) -> dict[str, Any]:
    return {"revision": ref.revision, "version": ref.version, "content_hash": ref.content_hash}


RuntimeOf = Callable[[str, str], Runtime]


def resolve(plan: MigrationPlan, store: Store) -> tuple[ProcessRef, ProcessRef]:
    """The stored revisions the plan's ``from`` and ``to`` name; ``PlanError`` at the one that names none."""
    problems, refs = [], []
    for spec in (plan.source, plan.target):
        try:
            refs.append(_resolve(plan, spec, store))
        except (NotFound, DefinitionError) as exc:
            problems.append(plan.problem(spec.path, str(exc).splitlines()[0], "wrong-revision"))
    if problems:
        raise PlanError(problems)
    return refs[0], refs[1]


def _resolve(plan: MigrationPlan, spec: RevisionSpec, store: Store) -> ProcessRef:
    stored = [d.ref for d in store.definitions() if d.ref.id == plan.process]
    if not stored:
        raise NotFound(f"{store.url} holds no definition of `{plan.process}`")
    if spec.revision is not None:
        found = next((r for r in stored if r.revision == spec.revision), None)
        if found is None:
            numbers = ", ".join(str(r.revision) for r in sorted(stored, key=lambda r: r.revision))
            raise NotFound(f"`{plan.process}` has no revision {spec.revision} in {store.url} (it has {numbers})")
        return found
    assert spec.file is not None
    process = load_process(spec.file)
    found = next((r for r in stored if r.content_hash == process.content_hash), None)
    if found is None:
        raise NotFound(f"{spec.file} is not a revision of `{plan.process}` stored in {store.url}; register it first")
    return found


def migrate(
    plan: MigrationPlan,
    actor: Actor,
    store: Store,
    runtime_of: RuntimeOf,
    *,
    dry_run: bool,
    now: Callable[[Instance], datetime.datetime],
    retries: int,
    progress: Callable[[CaseMigration], None] | None = None,
) -> MigrationReport:
    source, target = resolve(plan, store)
    old, new = runtime_of(plan.process, source.content_hash), runtime_of(plan.process, target.content_hash)
    problems = check_plan(plan, old.process, new.process)
    if any(p.severity is Severity.ERROR for p in problems):
        raise PlanError(problems)
    _check_administrator(actor, new.process)
    mark = Migration(
        plan.title or Path(plan.file).name,
        RevisionMark(source.revision, source.version, source.content_hash),
        RevisionMark(target.revision, target.version, target.content_hash),
        tuple(plan.steps.items()),
    )
    mover = _Mover(plan, actor, store, old, new, mark, now, retries)
    checked = []  # every selected case checked before any is written
    for item in store.summaries(plan.process):
        if not isinstance(item, InstanceSummary):
            continue  # a damaged record is `procflow verify`'s to report; it is not touched
        if item.process.content_hash == source.content_hash and not old.process.states[item.state].is_final:
            checked.append(mover.case(item.id, dry_run=True))
        elif item.process.content_hash == target.content_hash:
            checked.append(mover.moved_before(item.id))
    cases = []
    for case in (c for c in checked if c is not None):
        if case.outcome == "would move" and not dry_run:
            done = mover.case(case.instance_id, dry_run=False)  # read and checked again as it is now
            if done is None:
                continue  # an event since took it out of the plan's selection
            case = done
        cases.append(case)
        if progress is not None:
            progress(case)
    return MigrationReport(
        plan.file,
        plan.process,
        source,
        target,
        dry_run,
        tuple(cases),
        tuple(p for p in problems if p.severity is Severity.WARNING),
    )


@dataclass
class _Mover:
    plan: MigrationPlan
    actor: Actor
    store: Store
    old: Runtime
    new: Runtime
    mark: Migration
    now: Callable[[Instance], datetime.datetime]
    retries: int

    def case(self, instance_id: str, dry_run: bool) -> CaseMigration | None:
        for _ in range(self.retries):
            instance = self.store.load(instance_id)
            if instance.content_hash == self.new.process.content_hash:
                return self.moved_before(instance_id)  # moved by another run of the plan meanwhile
            try:
                if not self.plan.selects(instance.id, instance.state, instance.data):
                    return None
            except ExpressionEvaluationError as exc:
                return self._refused(instance, {}, f"`cases.where` cannot be evaluated on its data: {exc}")
            try:
                values = self.plan.values_for(instance.data)
            except ExpressionEvaluationError as exc:
                return self._refused(instance, {}, f"a value under `set:` cannot be worked out from its data: {exc}")
            moved = replace(instance, data=dict(instance.data), history=list(instance.history))
            to = self.plan.maps(instance.state)
            try:
                self.new.adopt(moved, self.mark, to, values, self.actor, at=self.now(instance))
            except EventRefused as refusal:
                return self._refused(instance, values, str(refusal))
            outcome: Outcome = "would move" if dry_run else "moved"
            if not dry_run:
                try:
                    self.store.save(moved, instance.version)
                except StaleVersion:
                    continue  # a worker moved it on meanwhile: read it again, check it again
            return CaseMigration(instance.id, outcome, instance.state, to, values, _deadline_words(moved))
        return CaseMigration(
            instance_id,
            "failed",
            "?",
            "?",
            {},
            f"other writers kept moving it on ({self.retries} tries); left as it was",
        )

    def moved_before(self, instance_id: str) -> CaseMigration | None:
        """A case on the new revision: reported as already moved when this plan's migration moved it."""
        instance = self.store.load(instance_id)
        for entry in instance.history:
            migration = entry.migration
            if migration is not None and (migration.source, migration.target) == (self.mark.source, self.mark.target):
                if self.plan.id_filter is not None and instance_id not in self.plan.id_filter:
                    return None
                if self.plan.step_filter is not None and entry.source not in self.plan.step_filter:
                    return None
                when = f"moved at {entry.at.isoformat()} by {entry.actor}"
                return CaseMigration(
                    instance_id, "already moved", entry.source or "?", entry.dest, dict(entry.payload), when
                )
        return None

    def _refused(self, instance: Instance, values: Mapping[str, Any], why: str) -> CaseMigration:
        return CaseMigration(instance.id, "refused", instance.state, self.plan.maps(instance.state), values, why)


def _check_administrator(actor: Actor, process: Process) -> None:
    """Only an administrator of the new revision moves cases onto it (``Runtime.adopt`` checks it again
    for each case, and on replay)."""
    administrators = frozenset(process.administrators)
    if not actor.roles & administrators:
        needs = (
            f"one of {', '.join(f'`{r}`' for r in sorted(administrators))}"
            if administrators
            else "an administrator, and the new revision names none (add `administrators: [role]` to it)"
        )
        raise PermissionDenied(f"`{actor.id}` may not migrate cases of `{process.id}`: that needs {needs}")


def _deadline_words(instance: Instance) -> str:
    if not instance.deadlines:
        return "no time limits or deadlines open"
    shown = []
    for deadline in instance.deadlines:
        what = (
            f"clock `{deadline.clock}` {deadline.threshold}"
            if deadline.clock is not None
            else f"deadline `{deadline.fire}`"
            if deadline.fire is not None
            else f"time limit of `{deadline.state}`"
        )
        shown.append(f"{what} due {deadline.due.isoformat()}")
    return "; ".join(shown)
