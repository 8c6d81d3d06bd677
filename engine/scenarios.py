"""Scripted scenarios: a YAML file of who fires what, when, played against a fresh instance.

A scenario is read like a definition (located YAML, checked against ``schemas/scenario.schema.json``,
every problem at its ``file:line:column``) and played with the runtime. Time in a scenario flows as
it would in production: before each event, the deadlines due by its time fire.

Validating a scenario plays it against its process: the one its ``process:`` names (relative to the
scenario), else the process of the same name in the folder above a ``scenarios/`` folder
(``processes/scenarios/exchange.yaml`` plays ``processes/exchange.yaml``).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import DefinitionError, EventRefused, InvalidActor, InvalidData, Problem, Severity
from engine.frozen import field, frozen
from engine.loader import LocatedDocument, load_file
from engine.processes import DEFINITION_SUFFIXES, ValidationReport, load_process, validate_document
from engine.schema import SCENARIO_SCHEMA_FILE, schema_problems
from engine.source import DocumentPath, SourceLocation

# The runtime is imported where a scenario is read or played: validating a process file, which
# `procflow validate` does through this module, needs none of it.
if TYPE_CHECKING:
    from engine.instances import Entry, Instance
    from engine.runtime import Actor, Runtime

DEFAULT_INSTANCE_ID = "scenario"


@frozen
class ScenarioEvent:
    """A person firing a trigger, or (with ``advance``) time passing."""

    location: SourceLocation
    at: datetime.datetime | None
    actor: Actor | None = None
    trigger: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    key: str | None = None
    refused: str | None = None
    """The refusal code the script expects, if it expects this event to be refused."""
    advance: bool = False


@frozen
class Scenario:
    file: str
    title: str | None
    starter: Actor
    start_at: datetime.datetime
    data: Mapping[str, Any]
    starter_location: SourceLocation
    """Where the scenario says who starts the instance (``start.as``)."""
    data_location: SourceLocation
    """Where it gives the starting data (``start.data``, else ``start``)."""
    instance_id: str
    events: tuple[ScenarioEvent, ...]
    expect_state: str | None
    expect_data: Mapping[str, Any]
    expect_location: SourceLocation | None


@frozen
class Step:
    """What one scripted event did: the deadline events that fired first, then its own entry or refusal."""

    event: ScenarioEvent
    deadlines: tuple[Entry, ...]
    entry: Entry | None
    refusal: EventRefused | None
    failure: Problem | None
    """Why the run stops here, when it does: an unexpected refusal, or an expected one that did not come."""


@frozen
class Playthrough:
    instance: Instance
    steps: tuple[Step, ...]
    failures: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.failures


def load_scenario(path: str | Path) -> Scenario:
    """The scenario in ``path``; ``DefinitionError`` lists every problem with its place."""
    return read_scenario(load_file(path))


def read_scenario(document: LocatedDocument) -> Scenario:
    problems = schema_problems(
        document, SCENARIO_SCHEMA_FILE, "the file is empty; a scenario starts with `scenario: 1`"
    )
    if problems:
        raise DefinitionError(problems)
    return _Reader(document).scenario()


def is_scenario(document: LocatedDocument) -> bool:
    """A file that says `scenario:` (and not `procflow:`) at its top is a scenario, not a process."""
    data = document.data
    return isinstance(data, dict) and "scenario" in data and "procflow" not in data


def validate_process_or_scenario(path: str | Path) -> ValidationReport:
    """Every problem in a process file or a scenario file (which is played against its process)."""
    try:
        document = load_file(path)
    except DefinitionError as exc:
        return ValidationReport(str(path), exc.problems, None)
    if not is_scenario(document):
        return validate_document(document)
    try:
        scenario = read_scenario(document)
    except DefinitionError as exc:
        return ValidationReport(document.file, exc.problems, None)
    return ValidationReport(document.file, tuple(_checked_against_its_process(scenario, document, Path(path))), None)


def scenario_process(path: Path, document: LocatedDocument) -> Path | None:
    """The process file a scenario plays: its `process:`, else its namesake above a `scenarios/` folder."""
    named = document.data.get("process") if isinstance(document.data, dict) else None
    if isinstance(named, str):
        return path.parent / named
    if path.parent.name == "scenarios":
        for suffix in DEFINITION_SUFFIXES:
            beside = path.parent.parent / (path.stem + suffix)
            if beside.is_file():
                return beside
    return None


def _checked_against_its_process(scenario: Scenario, document: LocatedDocument, path: Path) -> list[Problem]:
    process_path = scenario_process(path, document)
    if process_path is None:
        return [
            Problem(
                document.locate(()),
                "not played against a process: name it with `process: ../<process>.yaml`, "
                "or keep the scenario in a `scenarios/` folder beside its process of the same name",
                Severity.WARNING,
                code="scenario-without-process",
            )
        ]
    named = isinstance(document.data, dict) and "process" in document.data
    at_name = document.locate(("process",) if named else ())
    if not process_path.is_file():
        return [Problem(at_name, f"the process `{process_path}` does not exist", code="no-such-process")]
    try:
        process = load_process(process_path)
    except DefinitionError as exc:
        return [
            Problem(
                at_name,
                f"cannot be played: its process `{process_path}` has {len(exc.errors)} error(s) "
                f"(`procflow validate {process_path}` lists them)",
                code="broken-process",
            )
        ]
    from engine.runtime import Runtime

    try:
        return list(play(Runtime(process), scenario).failures)
    except DefinitionError as exc:
        return list(exc.problems)


def play(runtime: Runtime, scenario: Scenario) -> Playthrough:
    """Start a fresh instance and apply the scenario's events in order, stopping at the first failure.

    A start the process refuses (a starter without the start role, data the data schema rejects)
    raises ``DefinitionError`` located at the scenario's ``start``: there is nothing to play.
    """
    try:
        instance = runtime.start(
            scenario.starter, scenario.data, at=scenario.start_at, instance_id=scenario.instance_id
        )
    except EventRefused as exc:
        where = scenario.data_location if isinstance(exc, InvalidData) else scenario.starter_location
        raise DefinitionError([Problem(where, f"the scenario cannot start: {_one_line(exc)}", code=exc.code)]) from exc
    steps: list[Step] = []
    moment = scenario.start_at
    for event in scenario.events:
        moment = event.at or moment
        if moment < instance.history[-1].at:
            late = _problem(event.location, "this event is dated before the one it follows")
            steps.append(Step(event, (), None, None, late))
            break
        fired = runtime.advance(instance, moment).fired
        entry: Entry | None = None
        refusal: EventRefused | None = None
        if not event.advance:
            assert event.actor is not None and event.trigger is not None
            try:
                entry = runtime.fire(instance, event.trigger, event.actor, event.payload, at=moment, key=event.key)
            except EventRefused as exc:
                refusal = exc
        failure = None if event.advance else _failure(event, refusal)
        steps.append(Step(event, fired, entry, refusal, failure))
        if failure:
            break
    failures = [s.failure for s in steps if s.failure]
    if not failures:
        failures.extend(_unmet_expectations(scenario, instance))
    return Playthrough(instance, tuple(steps), tuple(failures))


def _one_line(refusal: EventRefused) -> str:
    """A refusal's message with the problems it lists after its first line joined onto it."""
    head, _, rest = str(refusal).strip().partition("\n")
    listed = [line.strip() for line in rest.splitlines() if line.strip()]
    return f"{head.rstrip(':')}: {'; '.join(listed)}" if listed else head


def _problem(where: SourceLocation, message: str) -> Problem:
    return Problem(where, message, code="scenario-failed")


def _failure(event: ScenarioEvent, refusal: EventRefused | None) -> Problem | None:
    if refusal is None:
        if event.refused:
            return _problem(
                event.location, f"`{event.trigger}` was expected to be refused ({event.refused}), but it was applied"
            )
        return None
    # A refusal also answers to its general kind: `permission` covers `missing-signature`.
    if event.refused is not None and event.refused in {getattr(k, "code", None) for k in type(refusal).__mro__}:
        return None
    return _problem(event.location, f"`{event.trigger}` was refused: {refusal}")


def _unmet_expectations(scenario: Scenario, instance: Instance) -> list[Problem]:
    where = scenario.expect_location
    if where is None:  # no `expect:`, so nothing expected
        return []
    unmet = []
    if scenario.expect_state is not None and instance.state != scenario.expect_state:
        unmet.append(
            _problem(where, f"expected to end in `{scenario.expect_state}`, but the instance is in `{instance.state}`")
        )
    for name, value in scenario.expect_data.items():
        if instance.data.get(name) != value:
            unmet.append(_problem(where, f"expected data `{name}` = {value!r}, but it is {instance.data.get(name)!r}"))
    return unmet


class _Reader:
    """Turns a schema-valid scenario document into a ``Scenario``; the schema has proven its shape."""

    def __init__(self, document: LocatedDocument):
        self.document = document
        self.problems: list[Problem] = []

    def scenario(self) -> Scenario:
        raw: Any = self.document.data
        start = raw["start"]
        expect = raw.get("expect", {})
        scenario = Scenario(
            file=self.document.source_map.file,
            title=raw.get("title"),
            starter=self.actor(start["as"], ("start", "as")),
            start_at=self.time(start["at"], ("start", "at")) or datetime.datetime.now(datetime.UTC),
            data=start.get("data", {}),
            starter_location=self.document.locate(("start", "as")),
            data_location=self.document.locate(("start", "data")),
            instance_id=start.get("id", DEFAULT_INSTANCE_ID),
            events=tuple(self.event(item, ("events", i)) for i, item in enumerate(raw["events"])),
            expect_state=expect.get("state"),
            expect_data=expect.get("data", {}),
            expect_location=self.document.locate(("expect",), key=True) if "expect" in raw else None,
        )
        if self.problems:
            raise DefinitionError(self.problems)
        return scenario

    def event(self, raw: Mapping[str, Any], path: DocumentPath) -> ScenarioEvent:
        location = self.document.locate(path)
        if "advance" in raw:
            return ScenarioEvent(location, self.time(raw["advance"], path + ("advance",)), advance=True)
        return ScenarioEvent(
            location,
            self.time(raw["at"], path + ("at",)) if "at" in raw else None,
            actor=self.actor(raw["as"], path + ("as",)),
            trigger=raw["fire"],
            payload=raw.get("payload", {}),
            key=raw.get("key"),
            refused=raw.get("refused"),
        )

    def actor(self, text: str, path: DocumentPath) -> Actor:
        from engine.runtime import Actor

        name, roles = text.split(":", 1)
        try:
            return Actor(name, roles.split(","))
        except InvalidActor as exc:
            self.problems.append(Problem(self.document.locate(path), str(exc), code="bad-actor"))
            return Actor("?", ())  # stands in until the problems are raised, at the end of reading

    def time(self, text: str, path: DocumentPath) -> datetime.datetime | None:
        try:
            return datetime.datetime.fromisoformat(text)
        except ValueError:
            self.problems.append(
                Problem(self.document.locate(path), f"`{text}` is not a real date and time", code="bad-time")
            )
            return None
