"""Loops with a limit: a transition taken as often as its ``limit`` allows is refused the next time
(``limit-reached``, naming the limit) or led to the limit's ``then`` (an escalation). Counts come from
the history, so a replay counts exactly the same; ``available()`` says how many times are left."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from conftest import position

from engine import (
    Actor,
    LimitReached,
    ReplayMismatch,
    Runtime,
    instance_from_json,
    instance_to_json,
    load_process,
    validate_text,
)
from engine.render.diagram import extract
from engine.render.dot import to_dot
from engine.service import Workflows

pytest_plugins = ["store_support"]

REWORK = Path(__file__).parent / "fixtures" / "loops" / "rework.yaml"
TEXT = REWORK.read_text(encoding="utf-8")
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
ENGINEER = Actor("li", ["engineer"])
QC = Actor("qian", ["qc"])


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime(load_process(REWORK), clock=lambda: MONDAY)


def _snapshot(instance: object) -> str:
    return json.dumps(instance_to_json(instance), sort_keys=True)  # type: ignore[arg-type]


def _round(runtime: Runtime, instance: object, trigger: str) -> None:
    runtime.fire(instance, "repaired", ENGINEER)  # type: ignore[arg-type]
    runtime.fire(instance, trigger, QC)  # type: ignore[arg-type]


def test_the_attempt_after_the_limit_is_led_to_then_and_not_before(runtime):
    instance = runtime.start(ENGINEER)
    for _ in range(2):  # `failed` may lead back to repair twice
        _round(runtime, instance, "failed")
        assert instance.state == "repair"
        assert not instance.history[-1].limit_reached
    runtime.fire(instance, "repaired", ENGINEER)
    entry = runtime.fire(instance, "failed", QC)
    assert (entry.source, entry.dest, entry.limit_reached) == ("qc", "escalate", True)
    assert instance.state == "escalate"


def test_the_attempt_after_the_limit_is_refused_naming_the_limit_and_nothing_changes(runtime):
    instance = runtime.start(ENGINEER)
    _round(runtime, instance, "rejected")
    runtime.fire(instance, "repaired", ENGINEER)
    before = _snapshot(instance)
    with pytest.raises(LimitReached) as refused:
        runtime.fire(instance, "rejected", QC)
    assert refused.value.code == "limit-reached"
    assert refused.value.limit == "qc.rejected" and refused.value.times == 1
    assert "`qc.rejected` has reached its limit" in str(refused.value) and "once" in str(refused.value)
    assert _snapshot(instance) == before
    runtime.fire(instance, "passed", QC)  # the other ways out are still open
    assert instance.state == "done"


def test_available_counts_down_the_times_left_and_says_where_the_last_goes(runtime):
    instance = runtime.start(ENGINEER)
    seen = []
    for _ in range(3):
        runtime.fire(instance, "repaired", ENGINEER)
        choices = {c.trigger: c for c in runtime.available(instance, QC)}
        seen.append((choices["failed"].remaining, choices["failed"].then, choices["failed"].ready))
        assert choices["passed"].remaining is None
        runtime.fire(instance, "failed", QC)
    assert seen == [(2, "escalate", True), (1, "escalate", True), (0, "escalate", True)]


def test_available_says_a_refused_limit_is_not_ready(runtime):
    instance = runtime.start(ENGINEER)
    _round(runtime, instance, "rejected")
    runtime.fire(instance, "repaired", ENGINEER)
    rejected = next(c for c in runtime.available(instance, QC) if c.trigger == "rejected")
    assert (rejected.remaining, rejected.then, rejected.ready) == (0, None, False)


def test_counts_are_replayed_exactly_through_the_json_record(runtime):
    instance = runtime.start(ENGINEER)
    for _ in range(3):
        _round(runtime, instance, "failed")
    assert instance.state == "escalate"
    document = json.loads(json.dumps(instance_to_json(instance)))
    assert document["history"][-1]["limit_reached"] is True
    assert "limit_reached" not in document["history"][-2], "entries before a limit keep their text"
    read = instance_from_json(document)
    assert read == instance
    runtime.verify(read)
    assert runtime.replay(read.history, instance_id=read.id) == instance


def test_a_history_that_hides_a_reached_limit_does_not_replay(runtime):
    instance = runtime.start(ENGINEER)
    for _ in range(3):
        _round(runtime, instance, "failed")
    forged = [*instance.history[:-1], dataclasses.replace(instance.history[-1], limit_reached=False, dest="repair")]
    with pytest.raises(ReplayMismatch, match="entry 6"):
        runtime.replay(forged, instance_id=instance.id)


def test_a_store_counts_from_the_stored_history(store_url):
    with Workflows(store_url, clock=lambda: MONDAY) as workflows:
        workflows.register(REWORK)
        instance = workflows.start("loop_demo", ENGINEER)
        for _ in range(2):
            workflows.fire(instance.id, "repaired", ENGINEER)
            workflows.fire(instance.id, "failed", QC)
        workflows.fire(instance.id, "repaired", ENGINEER)
        assert next(c for c in workflows.available(instance.id, QC) if c.trigger == "failed").remaining == 0
        entry = workflows.fire(instance.id, "failed", QC)
        assert entry.limit_reached and workflows.get(instance.id).state == "escalate"
        workflows.verify(instance.id)


def test_the_chart_shows_the_limit_on_the_edge_and_where_the_next_attempt_goes():
    diagram = extract(load_process(REWORK), "en")
    back = next(e for e in diagram.edges if (e.source, e.dest) == ("qc", "repair"))
    notes = [label.note for label in back.labels]
    assert any("≤2×" in (n or "") for n in notes) and any("≤1×" in (n or "") for n in notes)
    escalation = next(e for e in diagram.edges if (e.source, e.dest) == ("qc", "escalate"))
    assert escalation.labels[0].note == "from attempt 3"
    assert "≤2×" in to_dot(diagram, "en")


FAILED = """        dest: repair
        limit: {times: 2, then: escalate}"""


def _problem(text: str, code: str) -> tuple[tuple[int, int], str]:
    """The one error of ``code`` (a `then` naming no state also leaves the escalation unreachable)."""
    report = validate_text(text, "rework.yaml")
    errors = [p for p in report.problems if p.severity.value == "error" and p.code == code]
    assert len(errors) == 1, [str(p) for p in report.problems]
    return (errors[0].location.line, errors[0].location.column), errors[0].message


def test_a_then_naming_no_state_is_located_with_did_you_mean():
    text = TEXT.replace(FAILED, FAILED.replace("then: escalate", "then: escalte"))
    where, message = _problem(text, "unknown-reference")
    assert where == position(text, "then: escalte", "escalte")
    assert "did you mean `escalate`" in message


def test_a_then_that_goes_where_the_transition_goes_anyway_is_refused():
    text = TEXT.replace(FAILED, FAILED.replace("then: escalate", "then: repair"))
    where, message = _problem(text, "limit-goes-nowhere")
    assert where == position(text, "then: repair", "repair")
    assert "change nothing" in message


@pytest.mark.parametrize(
    ("limit", "words"),
    [
        ("{times: 0, then: escalate}", "times"),
        ("{then: escalate}", "times"),
        ("{times: 2, than: escalate}", "than"),
        ("3", "limit"),
    ],
    ids=["zero-times", "no-times", "unknown-key", "not-a-mapping"],
)
def test_bad_limit_forms_are_located(limit, words):
    text = TEXT.replace(FAILED, FAILED.replace("{times: 2, then: escalate}", limit))
    report = validate_text(text, "rework.yaml")
    errors = [p for p in report.problems if p.severity.value == "error"]
    assert errors, "the bad limit was accepted"
    line = position(text, f"limit: {limit}")[0]
    assert any(p.location.line == line and words in p.message for p in errors), [str(p) for p in errors]
