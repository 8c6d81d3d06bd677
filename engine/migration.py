"""A migration plan: which open cases of a process move from one revision of its definition to another,
where each goes, and the data the new revision needs. Read like a definition (located YAML, checked
against ``schemas/migration.schema.json``), its expressions compiled once (``engine.expressions``,
never ``eval``), then checked against the two revisions it names (``check_plan``), each problem at its
file, line and column. Applying it is ``Workflows.migrate``'s job (``engine.migrating``); nothing here
touches a store or a case.

::

    migration: 1
    process: complaint
    from: 1                   # a revision number in the store, or a definition file (relative to the plan)
    to: 2
    steps: {review: assess}   # old step → new step; any other step maps to the one of the same id
    set:                      # data the new revision needs: an expression over the old data, or a value
      priority: "'normal'"
      amount: data.estimate * 1.1
    cases:                    # which open cases move (each key narrows the choice; all of them if left out)
      steps: [review]
      ids: [c-1001]
      where: data.estimate > 100
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import DefinitionError, ExpressionError, PlanError, Problem, Severity
from engine.expressions import Expression, compile_expression, to_json
from engine.loader import LocatedDocument, load_file
from engine.model import Process, StateKind, thaw_json
from engine.schema import MIGRATION_SCHEMA_FILE, schema_problems
from engine.schema_errors import did_you_mean
from engine.source import DocumentPath, SourceLocation


@dataclass(frozen=True)
class RevisionSpec:
    """A side of the plan as written: a revision number, or a definition file (resolved from the plan)."""

    revision: int | None
    file: Path | None
    path: DocumentPath


@dataclass(frozen=True)
class DataValue:
    """A value the plan writes into each case's data: an expression over the old data, or a constant."""

    field: str
    expression: Expression | None
    constant: Any
    path: DocumentPath

    def value(self, data: Mapping[str, Any]) -> Any:
        """The value for a case with ``data``; ``ExpressionEvaluationError`` when it cannot be worked out."""
        if self.expression is None:
            return self.constant
        return to_json(self.expression.evaluate({"data": data}))


@dataclass(frozen=True)
class MigrationPlan:
    file: str
    title: str
    process: str
    source: RevisionSpec
    target: RevisionSpec
    steps: Mapping[str, str]
    """Old step → new step, as written; ``maps`` gives the step of the same id for any other."""
    values: tuple[DataValue, ...]
    step_filter: tuple[str, ...] | None
    id_filter: tuple[str, ...] | None
    where: Expression | None
    document: LocatedDocument

    def maps(self, state: str) -> str:
        """The new step of a case in old step ``state``."""
        return self.steps.get(state, state)

    def selects(self, instance_id: str, state: str, data: Mapping[str, Any]) -> bool:
        """Whether the plan moves a case; ``ExpressionEvaluationError`` when ``where`` cannot be evaluated."""
        if self.step_filter is not None and state not in self.step_filter:
            return False
        if self.id_filter is not None and instance_id not in self.id_filter:
            return False
        return self.where is None or self.where.evaluate({"data": data}) is True

    def values_for(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The data the plan sets for a case with ``data``, worked out on that data as it was."""
        return {value.field: value.value(data) for value in self.values}

    def locate(self, path: DocumentPath, *, key: bool = False) -> SourceLocation:
        return self.document.locate(path, key=key)

    def problem(self, path: DocumentPath, message: str, code: str, *, key: bool = False) -> Problem:
        return Problem(self.locate(path, key=key), message, code=code)


def load_plan(path: str | Path) -> MigrationPlan:
    """The plan in ``path``; ``PlanError`` lists every problem in its YAML or its shape, with its place."""
    try:
        document = load_file(path)
    except DefinitionError as exc:  # its YAML: the same located problems, as a plan's
        raise PlanError(exc.problems) from exc
    return read_plan(document, Path(path).parent)


def read_plan(document: LocatedDocument, folder: Path) -> MigrationPlan:
    problems = schema_problems(
        document, MIGRATION_SCHEMA_FILE, "the file is empty; a migration plan starts with `migration: 1`"
    )
    if problems:
        raise PlanError(problems)
    data: dict[str, Any] = document.data  # type: ignore[assignment]  # the schema has proven it a mapping
    found: list[Problem] = []

    def expression(text: str, path: DocumentPath) -> Expression | None:
        try:
            return compile_expression(text, ("data",))
        except ExpressionError as exc:
            where = document.source_map.locate_within(path, exc.offset)
            found.append(Problem(where, f"`{_shown(path)}`: {exc.message}", code="expression"))
            return None

    values = []
    for name, raw in (data.get("set") or {}).items():
        path: DocumentPath = ("set", name)
        if isinstance(raw, str):
            values.append(DataValue(name, expression(raw, path), None, path))
        else:
            values.append(DataValue(name, None, raw, path))
    cases = data.get("cases") or {}
    where = None if "where" not in cases else expression(cases["where"], ("cases", "where"))
    if found:
        raise PlanError(found)
    return MigrationPlan(
        file=document.file,
        title=data.get("title", ""),
        process=data["process"],
        source=_revision(data["from"], ("from",), folder),
        target=_revision(data["to"], ("to",), folder),
        steps=dict(data.get("steps") or {}),
        values=tuple(values),
        step_filter=None if "steps" not in cases else tuple(cases["steps"]),
        id_filter=None if "ids" not in cases else tuple(cases["ids"]),
        where=where,
        document=document,
    )


def _revision(value: int | str, path: DocumentPath, folder: Path) -> RevisionSpec:
    if isinstance(value, int):
        return RevisionSpec(value, None, path)
    return RevisionSpec(None, folder / value, path)


def check_plan(plan: MigrationPlan, old: Process, new: Process) -> list[Problem]:
    """What is wrong with the plan for moving cases of ``old`` onto ``new`` (and warnings): each located
    in the plan, naming the fix. Errors stop a migration before any case is looked at."""
    found: list[Problem] = []
    for process, side in ((old, "from"), (new, "to")):
        if process.id != plan.process:
            found.append(
                plan.problem(
                    (side,), f"`{side}` is a revision of `{process.id}`, not of `{plan.process}`", "wrong-process"
                )
            )
    if found:
        return found
    if old.content_hash == new.content_hash:
        found.append(plan.problem(("to",), "`from` and `to` are the same revision: there is nothing to move", "same"))
    for step, to in plan.steps.items():
        if step not in old.states:
            hint = did_you_mean(step, list(old.states))
            found.append(
                plan.problem(
                    ("steps", step), f"`{step}` is not a step of the old revision{hint}", "unknown-step", key=True
                )
            )
        target = new.states.get(to)
        if target is None:
            hint = did_you_mean(to, list(new.states))
            found.append(
                plan.problem(("steps", step), f"`{to}` is not a step of the new revision{hint}", "unknown-step")
            )
        elif target.is_final:
            message = f"`{to}` is a final step: a migration moves a case on, it does not end it"
            found.append(plan.problem(("steps", step), message, "final"))
        elif target.kind is StateKind.DECISION:
            found.append(
                plan.problem(
                    ("steps", step),
                    f"`{to}` is a decision, which a case never rests in; name a step after it",
                    "decision",
                )
            )
    for index, step in enumerate(plan.step_filter or ()):
        if step not in old.states:
            hint = did_you_mean(step, list(old.states))
            found.append(
                plan.problem(
                    ("cases", "steps", index), f"`{step}` is not a step of the old revision{hint}", "unknown-step"
                )
            )
    found += _data_problems(plan, old, new)
    for step, state in old.states.items():
        if state.kind in (StateKind.FINAL, StateKind.DECISION) or step in new.states or step in plan.steps:
            continue
        hint = did_you_mean(step, list(new.states))
        found.append(
            Problem(
                plan.locate(("steps",) if "steps" in _top(plan) else ()),
                f"step `{step}` is not in the new revision and the plan does not map it: its cases cannot move "
                f"(add `{step}: <new step>` under `steps:`{hint.replace(' — did you mean', '; perhaps')})",
                Severity.WARNING,
                "unmapped-step",
            )
        )
    return found


def _data_problems(plan: MigrationPlan, old: Process, new: Process) -> list[Problem]:
    found = []
    new_schema, old_schema = _schema(new), _schema(old)
    properties = new_schema.get("properties")
    for value in plan.values:
        if (
            isinstance(properties, dict)
            and value.field not in properties
            and new_schema.get("additionalProperties") is False
        ):
            hint = did_you_mean(value.field, list(properties))
            found.append(
                plan.problem(
                    value.path,
                    f"`{value.field}` is not a field of the new revision's data{hint}",
                    "unknown-field",
                    key=True,
                )
            )
    given = {v.field for v in plan.values}
    newly = [f for f in _required(new_schema) if f not in _required(old_schema) and f not in given]
    for name in newly:
        found.append(
            plan.problem(
                ("set",) if "set" in _top(plan) else (),
                f"the new revision requires the data field `{name}`, which the old one did not: "
                f"give each case a value for it under `set:` (e.g. `{name}: data.<old field>`)",
                "missing-value",
            )
        )
    return found


def _schema(process: Process) -> dict[str, Any]:
    schema = thaw_json(process.data_schema) if process.data_schema is not None else {}
    return schema if isinstance(schema, dict) else {}


def _required(schema: Mapping[str, Any]) -> list[str]:
    required = schema.get("required", [])
    return [r for r in required if isinstance(r, str)] if isinstance(required, list) else []


def _top(plan: MigrationPlan) -> Mapping[str, Any]:
    data = plan.document.data
    return data if isinstance(data, dict) else {}


def _shown(path: DocumentPath) -> str:
    return ".".join(str(p) for p in path)
