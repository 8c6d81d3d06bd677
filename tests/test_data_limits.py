"""Limits from the case's data, beside a state's ``time_limit``: a clock's ``limit``, ``warning`` and
``ceiling`` (``{working_hours: data.quantity * 2}``), worked out when the clock starts and recorded on
that start, and a loop limit's ``times`` (``times: data.max_reminders``), worked out each time the
limit is checked. Bad expressions are refused where they are written; data that gives no usable value
refuses the event, naming the limit and where it is written, and changes nothing; replay is exact."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from conftest import FIXTURE, mutate, position
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_runtime_properties import machine_for

from engine import (
    Actor,
    Duration,
    InvalidData,
    LimitReached,
    ReplayMismatch,
    Runtime,
    instance_from_json,
    instance_to_json,
    load_process_text,
    validate_text,
)
from engine.cli import run
from engine.instances import ClockMark
from engine.render.diagram import extract
from engine.service import Workflows

pytest_plugins = ["store_support"]

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
US = dt.timedelta(microseconds=1)
CUSTOMER, CLERK, SUPERVISOR = Actor("wang", ["customer"]), Actor("li", ["clerk"]), Actor("zhou", ["supervisor"])

DATA = (
    "    model: {type: string}\nstates:",
    "    model: {type: string}\n    quantity: {type: integer, minimum: 0}\n"
    "    max_reminders: {type: integer}\n    factor: {type: number}\nstates:",
)
PAYLOAD = (
    "            model: {type: string}\n          required: [in_warranty, model]\n",
    "            model: {type: string}\n            quantity: {type: integer}\n"
    "            max_reminders: {type: integer}\n            factor: {type: number}\n"
    "          required: [in_warranty, model]\n",
)
SET = (
    "          model: payload.model\n",
    "          model: payload.model\n          quantity: {from: payload.quantity, if_present: true}\n"
    "          max_reminders: {from: payload.max_reminders, if_present: true}\n"
    "          factor: {from: payload.factor, if_present: true}\n",
)


def text_with(clock: dict[str, str] | None = None, *edits: tuple[str, str]) -> str:
    """The test fixture with data fields for the limits, and a clock ``handling`` (quote → done) whose
    points are ``clock``."""
    text = mutate(FIXTURE.read_text(encoding="utf-8"), DATA, PAYLOAD, SET)
    if clock is not None:
        body = "".join(f"    {k}: {v}\n" for k, v in clock.items())
        head = "\nclocks:\n  handling:\n    zh: 报价\n    en: Quote\n    starts: {enter: [quote]}\n"
        text = mutate(text, ("\nstates:\n", head + "    stops: {enter: [done]}\n" + body + "states:\n"))
    return mutate(text, *edits)


def runtime_of(text: str) -> Runtime:
    return Runtime(load_process_text(text, "p.yaml"))


def problems(text: str) -> list[tuple[int, int, str, str]]:
    return [(p.location.line, p.location.column, p.code, p.message) for p in validate_text(text, "p.yaml").problems]


def snapshot(instance: object) -> str:
    return json.dumps(instance_to_json(instance), sort_keys=True)  # type: ignore[arg-type]


def submitted(runtime: Runtime, **payload: object):
    instance = runtime.start(CUSTOMER, at=MONDAY)
    runtime.fire(instance, "submit", CUSTOMER, {"in_warranty": False, "model": "X", **payload}, at=MONDAY)
    return instance


def points(instance) -> list[tuple[str, dt.datetime]]:
    return [(m.event, e.at) for e in instance.history for m in e.clocks if m.event in ("warning", "limit", "ceiling")]


# --- clocks ---------------------------------------------------------------------------------------------------

RATED = {"limit": "{working_hours: data.quantity * 2}"}


def test_a_clock_limit_from_the_quantity_breaches_at_the_computed_moment_on_the_calendar():
    runtime = runtime_of(text_with(RATED))
    instance = submitted(runtime, quantity=3)
    # 6 working hours from Monday 09:00 on 09-12 and 13-18: Monday 16:00.
    start = instance.history[-1].clocks[0]
    assert start == ClockMark("handling", "started", lengths=(("limit", Duration("6 working hours", 6, "hour", True)),))
    breach = dt.datetime(2026, 11, 23, 16, 0, tzinfo=SHANGHAI)
    runtime.advance(instance, breach - US)
    assert points(instance) == []
    runtime.advance(instance, breach)
    assert points(instance) == [("limit", breach)]
    report = runtime.clocks(instance, breach)[0]
    assert report.status == "breached" and report.limit == "6 working hours = (data.quantity * 2) working hours"
    runtime.verify(instance)


def test_a_later_change_of_the_data_does_not_move_a_running_clock():
    edit = ("        set: {quote: payload.quote}\n", "        set: {quote: payload.quote, quantity: 100}\n")
    runtime = runtime_of(text_with(RATED, edit))
    instance = submitted(runtime, quantity=1)  # 2 working hours: Monday 11:00
    runtime.fire(instance, "send_quote", SUPERVISOR, {"quote": 10}, at=MONDAY + dt.timedelta(hours=1))
    assert instance.data["quantity"] == 100 and instance.state == "accept"
    runtime.advance(instance, dt.datetime(2026, 11, 23, 11, 0, tzinfo=SHANGHAI))
    assert points(instance) == [("limit", dt.datetime(2026, 11, 23, 11, 0, tzinfo=SHANGHAI))]
    runtime.verify(instance)


def test_the_recorded_value_is_what_replay_checks_and_what_the_stored_record_keeps():
    runtime = runtime_of(text_with(RATED))
    instance = submitted(runtime, quantity=3)
    document = instance_to_json(instance)
    assert document["history"][1]["clocks"][0]["lengths"] == {"limit": {"amount": 6, "unit": "hour", "working": True}}
    assert instance_from_json(document) == instance
    document["history"][1]["clocks"][0]["lengths"]["limit"]["amount"] = 60
    tampered = instance_from_json(document)
    assert runtime.clocks(tampered, MONDAY)[0].limit.startswith("60 working hours")  # later points read the record
    with pytest.raises(ReplayMismatch, match="lengths"):
        runtime.verify(tampered)


@settings(max_examples=25, deadline=None)
@given(quantity=st.integers(min_value=0, max_value=40))
def test_every_quantity_breaches_after_twice_as_many_working_hours(quantity):
    runtime = runtime_of(text_with({"limit": "{working_hours: data.quantity * 2}"}))
    instance = submitted(runtime, quantity=quantity)
    due = next(d.due for d in instance.deadlines if d.clock == "handling")
    runtime.advance(instance, due)
    report = runtime.clocks(instance, due)[0]
    assert report.elapsed == dt.timedelta(hours=2 * quantity) and report.status == "breached"
    assert points(instance) == [("limit", due)]
    assert runtime.replay(instance.history, instance_id=instance.id).history == instance.history


@pytest.mark.parametrize(
    "clock, payload, words",
    [
        ({"limit": "{working_hours: data.quantity}"}, {}, "gives nothing (null)"),
        ({"limit": "{working_hours: data.quantity * 2}"}, {}, "could not be evaluated"),
        ({"limit": "{hours: data.factor}"}, {"factor": 2.5}, "gives 2.5"),
        ({"limit": "{hours: data.factor}"}, {"factor": -1}, "gives -1"),
        (
            {"limit": "{working_hours: data.quantity * 2}", "warning": "{working_hours: data.quantity * 3}"},
            {"quantity": 2},
            "its warning `6 working hours` must come before its limit `4 working hours`",
        ),
        (
            {"limit": "{working_hours: data.quantity}", "ceiling": "2 working hours"},
            {"quantity": 3},
            "its ceiling `2 working hours` must come after its limit `3 working hours`",
        ),
    ],
    ids=["missing", "fails", "not-whole", "negative", "warning-after-limit", "ceiling-before-limit"],
)
def test_data_that_gives_no_usable_clock_limit_refuses_the_event_that_starts_it(clock, payload, words):
    text = text_with(clock)
    assert problems(text) == []  # known only when the clock starts
    runtime = runtime_of(text)
    instance = runtime.start(CUSTOMER, at=MONDAY)
    before = snapshot(instance)
    with pytest.raises(InvalidData) as refused:
        runtime.fire(instance, "submit", CUSTOMER, {"in_warranty": False, "model": "X", **payload}, at=MONDAY)
    assert words in str(refused.value) and "clock `handling`" in str(refused.value)
    assert "p.yaml:" in str(refused.value)  # where the limit is written
    assert snapshot(instance) == before


def test_a_clock_that_starts_with_the_instance_reads_the_initial_data():
    edit = ("    starts: {enter: [quote]}\n", "    starts: {enter: [apply]}\n")
    runtime = runtime_of(text_with({"limit": "{hours: data.quantity}"}, edit))
    instance = runtime.start(CUSTOMER, {"quantity": 5}, at=MONDAY)
    assert instance.history[0].clocks[0].lengths == (("limit", Duration("5 hours", 5, "hour")),)
    with pytest.raises(InvalidData, match="clock `handling`: its limit comes from the data"):
        runtime.start(CUSTOMER, {}, at=MONDAY)


def test_a_clock_started_again_works_its_limit_out_again_on_the_data_then():
    """`restart: false` carries on from the time used, measured against the limit worked out at this start."""
    edits = (
        ("    starts: {enter: [quote]}\n", "    starts: {enter: [accept]}\n"),
        ("    stops: {enter: [done]}\n", "    stops: {leave: [accept]}\n"),
    )
    hold = (
        "        dest: accept\n      - trigger: remind\n",
        "        dest: accept\n        set: {quantity: 4}\n      - trigger: remind\n",
    )
    runtime = runtime_of(text_with({"limit": "{working_hours: data.quantity}"}, *edits, hold))
    instance = runtime.start(CUSTOMER, at=MONDAY)
    runtime.fire(instance, "submit", CUSTOMER, {"in_warranty": True, "model": "X", "quantity": 1}, at=MONDAY)
    runtime.fire(instance, "hold", CLERK, at=MONDAY + dt.timedelta(minutes=30))  # stopped after 30 minutes
    runtime.fire(instance, "customer_replied", CUSTOMER, at=MONDAY + dt.timedelta(hours=1))
    starts = [m for e in instance.history for m in e.clocks if m.event == "started"]
    assert [m.lengths[0][1].amount for m in starts] == [1, 4]
    report = runtime.clocks(instance, MONDAY + dt.timedelta(hours=1))[0]
    assert report.elapsed == dt.timedelta(minutes=30) and report.remaining == dt.timedelta(hours=3, minutes=30)
    runtime.verify(instance)


@pytest.mark.parametrize(
    "written, code, words",
    [
        ("{hours: data.quantiti * 2}", "unknown-field", "did you mean `quantity`"),
        ("{hours: data.quantity *}", "expression", ""),
        ("{hours: data.model}", "not-a-number", "declared as string"),
        ("{at: data.quantity}", "unknown-key", "allowed here: days, hours, minutes"),
        ("{hours: data.quantity, days: data.quantity}", "time-limit-forms", "this one writes `hours`, `days`"),
    ],
    ids=["unknown-field", "syntax", "not-a-number", "at-is-not-running-time", "two-units"],
)
def test_a_bad_clock_limit_from_the_data_is_refused_where_it_is_written(written, code, words):
    text = text_with({"limit": written})
    found = problems(text)
    line = position(text, f"limit: {written}")[0]
    assert any(p[0] == line and code in p[2] and words in p[3] for p in found), found


def test_a_fixed_warning_after_a_fixed_limit_is_still_refused_at_load():
    text = text_with({"limit": "2 working hours", "warning": "3 working hours"})
    assert any(p[2] == "clock-order" for p in problems(text))


def test_the_chart_and_show_say_the_clock_limit_from_the_data(sqlite_url, tmp_path):
    text = text_with(RATED)
    (band,) = extract(load_process_text(text), "en").clocks
    assert "limit (data.quantity * 2) working hours" in band.title
    (zh,) = extract(load_process_text(text), "zh").clocks
    assert "时限 (data.quantity * 2) 个工作小时" in zh.title
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with Workflows(sqlite_url) as workflows:
        workflows.register(path)
        instance = workflows.start("minimal_repair", CUSTOMER, at=MONDAY, instance_id="Q-1")
        payload = {"in_warranty": False, "model": "X", "quantity": 3}
        workflows.fire(instance.id, "submit", CUSTOMER, payload, at=MONDAY)
    out, err = io.StringIO(), io.StringIO()
    assert run(["show", "Q-1", "--store", sqlite_url], out, err) == 0, err.getvalue()
    (line,) = [line for line in out.getvalue().splitlines() if line.startswith("clock:")]
    assert "used of 6 working hours = (data.quantity * 2) working hours" in line


# --- loops ----------------------------------------------------------------------------------------------------

REMIND = (
    "        dest: on_hold\n        roles: [clerk]\n",
    "        dest: on_hold\n        roles: [clerk]\n        limit: {times: TIMES, then: withdrawn}\n",
)


def loop_text(times: str = "data.max_reminders") -> str:
    return text_with(None, (REMIND[0], REMIND[1].replace("TIMES", times)))


def on_hold(runtime: Runtime, **payload: object):
    instance = runtime.start(CUSTOMER, at=MONDAY)
    runtime.fire(instance, "submit", CUSTOMER, {"in_warranty": True, "model": "X", **payload}, at=MONDAY)
    runtime.fire(instance, "hold", CLERK, at=MONDAY)
    assert instance.state == "on_hold"
    return instance


@pytest.mark.parametrize("allowed", [1, 3])
def test_a_loop_limit_from_the_data_redirects_at_the_computed_count(allowed):
    runtime = runtime_of(loop_text())
    instance = on_hold(runtime, max_reminders=allowed)
    for _ in range(allowed):
        entry = runtime.fire(instance, "remind", CLERK, at=MONDAY)
        assert instance.state == "on_hold" and not entry.limit_reached
    entry = runtime.fire(instance, "remind", CLERK, at=MONDAY)
    assert instance.state == "withdrawn" and entry.limit_reached
    runtime.verify(instance)
    assert runtime.replay(instance_from_json(instance_to_json(instance)).history, instance_id=instance.id).state == (
        "withdrawn"
    )


def test_available_and_show_count_down_the_times_the_data_allows(sqlite_url, tmp_path):
    text = loop_text()
    runtime = runtime_of(text)
    instance = on_hold(runtime, max_reminders=3)
    runtime.fire(instance, "remind", CLERK, at=MONDAY)
    choice = next(c for c in runtime.available(instance, CLERK) if c.trigger == "remind")
    assert (choice.remaining, choice.then) == (2, "withdrawn")
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with Workflows(sqlite_url) as workflows:
        workflows.register(path)
        started = workflows.start("minimal_repair", CUSTOMER, at=MONDAY, instance_id="L-1")
        workflows.fire(started.id, "submit", CUSTOMER, {"in_warranty": True, "model": "X", "max_reminders": 3})
        workflows.fire(started.id, "hold", CLERK)
        workflows.fire(started.id, "remind", CLERK)
    out, err = io.StringIO(), io.StringIO()
    assert run(["show", "L-1", "--store", sqlite_url], out, err) == 0, err.getvalue()
    (line,) = [line for line in out.getvalue().splitlines() if line.startswith("next:     remind")]
    assert "limit: 2 of 3 left (times: data.max_reminders), then → withdrawn" in line


def test_a_step_limit_from_the_data_refuses_the_entry_past_the_computed_count():
    edit = ("    time_limit: 1w\n", "    time_limit: 1w\n    limit: {times: data.max_reminders}\n")
    runtime = runtime_of(text_with(None, edit))
    instance = on_hold(runtime, max_reminders=1)
    runtime.fire(instance, "customer_replied", CUSTOMER, at=MONDAY)
    assert instance.state == "accept"
    before = snapshot(instance)
    with pytest.raises(LimitReached) as refused:
        runtime.fire(instance, "hold", CLERK, at=MONDAY)
    assert refused.value.times == 1 and "`limit: {times: data.max_reminders}`, which gives 1 now" in str(refused.value)
    assert snapshot(instance) == before


@pytest.mark.parametrize(
    "times, payload, words",
    [
        ("data.max_reminders", {}, "gives nothing (null)"),
        ("data.factor", {"factor": 2.5}, "gives 2.5"),
        ("data.factor", {"factor": -2}, "gives -2"),
        ("data.factor", {"factor": 0}, "gives 0"),
        ("data.factor * data.max_reminders", {"factor": 2}, "could not be evaluated"),
    ],
    ids=["missing", "not-whole", "negative", "zero", "fails"],
)
def test_a_loop_limit_the_data_gives_no_whole_number_for_refuses_clearly_and_changes_nothing(times, payload, words):
    text = loop_text(times)
    assert problems(text) == []
    runtime = runtime_of(text)
    instance = on_hold(runtime, **payload)
    before = snapshot(instance)
    with pytest.raises(InvalidData) as refused:
        runtime.fire(instance, "remind", CLERK, at=MONDAY)
    message = str(refused.value)
    line, column = position(text, f"times: {times}", at=times)
    assert words in message and f"`on_hold.remind`: its limit's `times` comes from the data (p.yaml:{line}:" in message
    assert snapshot(instance) == before
    choice = next(c for c in runtime.available(instance, CLERK) if c.trigger == "remind")
    assert choice.ready is False and choice.remaining is None


@pytest.mark.parametrize(
    "times, code, words",
    [
        ("data.max_remindrs", "unknown-field", "did you mean `max_reminders`"),
        ("data.max_reminders +", "expression", ""),
        ("data.model", "not-a-number", "declared as string"),
        ("'3 times'", "expression", ""),
    ],
    ids=["unknown-field", "syntax", "not-a-number", "not-an-expression"],
)
def test_a_bad_loop_limit_from_the_data_is_refused_where_it_is_written(times, code, words):
    text = loop_text(times)
    found = problems(text)
    line = position(text, f"times: {times}")[0]
    assert any(p[0] == line and code in p[2] and words in p[3] for p in found), found


def test_the_chart_shows_the_loop_limit_expression():
    diagram = extract(load_process_text(loop_text()), "en")
    labels = [(label.text, label.note) for edge in diagram.edges for label in edge.labels]
    assert ("Remind the customer", "after data.max_reminders attempts") in labels
    notes = [label.note or "" for edge in diagram.edges for label in edge.labels if label.text == "Remind the customer"]
    assert any("≤(data.max_reminders)×" in note for note in notes), notes


# --- random events ----------------------------------------------------------------------------------------------


def test_random_events_keep_every_promise_with_limits_from_the_data():
    """The properties every shipped procedure keeps (a refused event changes nothing, replay gives the
    instance exactly), on a definition whose clock and loops take their limits from the data."""
    clock = {
        "limit": "{working_hours: data.quantity * 2}",
        "warning": "{working_hours: data.quantity}",
        "ceiling": "{working_days: data.max_reminders}",
    }
    step = ("    time_limit: 1w\n", "    time_limit: 1w\n    limit: {times: data.max_reminders, then: withdrawn}\n")
    remind = (REMIND[0], REMIND[1].replace("TIMES", "data.factor"))
    machine = machine_for(runtime_of(text_with(clock, step, remind)))
    machine.TestCase.settings = settings(
        max_examples=25, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    machine.TestCase().runTest()
