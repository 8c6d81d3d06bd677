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
    load_process_text,
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


# --- a limit on a step: how many times it may be entered ----------------------------------------------

VISITS = Path(__file__).parent / "fixtures" / "loops" / "visits.yaml"
VISITS_TEXT = VISITS.read_text(encoding="utf-8")
CLERK = Actor("zhou", ["clerk"])
FIELD = Actor("sun", ["engineer"])
CUSTOMER = Actor("wang", ["customer"])


def _visit_again(runtime: Runtime, instance: object) -> None:
    runtime.fire(instance, "done", FIELD)  # type: ignore[arg-type]
    runtime.fire(instance, "unsatisfied", CUSTOMER)  # type: ignore[arg-type]


def test_a_step_entered_as_often_as_its_limit_sends_the_next_entry_to_then():
    runtime = Runtime(load_process(VISITS), clock=lambda: MONDAY)
    instance = runtime.start(CLERK)
    runtime.fire(instance, "dispatch", CLERK)
    runtime.fire(instance, "note", FIELD)  # staying in the step is no new entry
    _visit_again(runtime, instance)
    assert instance.state == "visit", "the second visit is allowed"
    runtime.fire(instance, "done", FIELD)
    confirm = {c.trigger: c for c in runtime.available(instance, CUSTOMER)}["unsatisfied"]
    assert (confirm.remaining, confirm.then) == (0, "manager_review")
    entry = runtime.fire(instance, "unsatisfied", CUSTOMER)
    assert (entry.dest, entry.limit_reached, instance.state) == ("manager_review", True, "manager_review")
    runtime.verify(instance)
    assert instance_from_json(json.loads(json.dumps(instance_to_json(instance)))) == instance


def test_a_step_limit_without_then_refuses_the_entry_past_it():
    text = VISITS_TEXT.replace("limit: {times: 2, then: manager_review}", "limit: {times: 2}").replace(
        "      - {trigger: unsatisfied, zh: 不满意, en: Unsatisfied, dest: visit}\n",
        "      - {trigger: unsatisfied, zh: 不满意, en: Unsatisfied, dest: visit}\n"
        "      - {trigger: escalate, zh: 升级, en: Escalate, dest: manager_review}\n",
    )
    runtime = Runtime(load_process_text(text, "visits.yaml"), clock=lambda: MONDAY)
    instance = runtime.start(CLERK)
    runtime.fire(instance, "dispatch", CLERK)
    _visit_again(runtime, instance)
    runtime.fire(instance, "done", FIELD)
    before = _snapshot(instance)
    with pytest.raises(LimitReached, match="step `visit` has reached its limit") as refused:
        runtime.fire(instance, "unsatisfied", CUSTOMER)
    assert (refused.value.code, refused.value.limit, refused.value.times) == ("limit-reached", "visit", 2)
    assert _snapshot(instance) == before
    unsatisfied = {c.trigger: c for c in runtime.available(instance, CUSTOMER)}["unsatisfied"]
    assert (unsatisfied.remaining, unsatisfied.ready) == (0, False)


def test_a_step_limit_then_naming_no_state_or_the_step_itself_is_located():
    misspelt = VISITS_TEXT.replace("then: manager_review}", "then: manager_reveiw}")
    where, message = _problem_in(misspelt, "unknown-reference")
    assert where == position(misspelt, "then: manager_reveiw", "manager_reveiw")
    assert "did you mean `manager_review`" in message
    itself = VISITS_TEXT.replace("then: manager_review}", "then: visit}")
    where, message = _problem_in(itself, "limit-goes-nowhere")
    assert where == position(itself, "then: visit", "visit") and "the step itself" in message


def _problem_in(text: str, code: str) -> tuple[tuple[int, int], str]:
    report = validate_text(text, "visits.yaml")
    errors = [p for p in report.problems if p.severity.value == "error" and p.code == code]
    assert len(errors) == 1, [str(p) for p in report.problems]
    return (errors[0].location.line, errors[0].location.column), errors[0].message


def test_the_chart_shows_a_step_limit_on_the_step():
    diagram = extract(load_process(VISITS), "en")
    node = next(n for n in diagram.nodes if n.id == "visit")
    assert node.limit == "≤2× entered at most 2 times, then → manager_review"
    escalation = [(e.source, e.labels[0].note) for e in diagram.edges if e.dest == "manager_review"]
    assert escalation == [("confirm", "from entry 3")], "drawn from the step whose event would enter once more"
