"""A clock's point at a date in the data (``limit: {at: data.pickup_at}``, ``warning: {at: ..., before:
1 hour}``): the same ``{at, before}`` as a state's time limit, worked out when the clock starts and
recorded on that start; the moment does not move (a pause does not push it back), replay is exact, the
order of the points is checked when the clock starts, and bad inputs are refused where they are written."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from conftest import mutate, position
from test_data_limits import (
    CLERK,
    CUSTOMER,
    MONDAY,
    SHANGHAI,
    SUPERVISOR,
    US,
    problems,
    runtime_of,
    snapshot,
    text_with,
)

from engine import InvalidData, ReplayMismatch, instance_from_json, instance_to_json, load_process_text
from engine.cli import run
from engine.render.book_controls import clocks_section
from engine.render.diagram import extract
from engine.service import Workflows

pytest_plugins = ["store_support"]

DATES = (
    (
        "    factor: {type: number}\nstates:",
        "    factor: {type: number}\n    pickup_at: {type: string, format: date-time}\n"
        "    pickup_day: {type: string, format: date}\nstates:",
    ),
    (
        "            factor: {type: number}\n          required:",
        "            factor: {type: number}\n"
        "            pickup_at: {type: string, format: date-time}\n"
        "            pickup_day: {type: string, format: date}\n"
        "          required:",
    ),
    (
        "          factor: {from: payload.factor, if_present: true}\n",
        "          factor: {from: payload.factor, if_present: true}\n"
        "          pickup_at: {from: payload.pickup_at, if_present: true}\n"
        "          pickup_day: {from: payload.pickup_day, if_present: true}\n",
    ),
)
PICKUP = dt.datetime(2026, 11, 23, 15, 0, tzinfo=SHANGHAI)
AGREED = {"limit": "{at: data.pickup_at}"}


def dated(clock: dict[str, str], *edits: tuple[str, str]) -> str:
    """``text_with`` a clock ``handling`` (quote → done) whose points are ``clock``, and date fields."""
    text = mutate(text_with(None), *DATES)
    body = "".join(f"    {k}: {v}\n" for k, v in clock.items())
    head = "\nclocks:\n  handling:\n    zh: 报价\n    en: Quote\n    starts: {enter: [quote]}\n"
    text = mutate(text, ("\nstates:\n", head + "    stops: {enter: [done]}\n" + body + "states:\n"))
    return mutate(text, *edits)


def submitted(runtime, **payload: object):
    instance = runtime.start(CUSTOMER, at=MONDAY)
    runtime.fire(instance, "submit", CUSTOMER, {"in_warranty": False, "model": "X", **payload}, at=MONDAY)
    return instance


def points(instance) -> list[tuple[str, dt.datetime]]:
    return [(m.event, e.at) for e in instance.history for m in e.clocks if m.event in ("warning", "limit", "ceiling")]


def test_a_clock_limit_at_a_date_time_in_the_data_breaches_at_exactly_that_moment():
    runtime = runtime_of(dated(AGREED))
    instance = submitted(runtime, pickup_at=PICKUP.isoformat())
    assert instance.history[-1].clocks[0].moments == (("limit", PICKUP),)
    runtime.advance(instance, PICKUP - US)
    assert points(instance) == []
    runtime.advance(instance, PICKUP)
    assert points(instance) == [("limit", PICKUP)]
    report = runtime.clocks(instance, PICKUP)[0]
    assert report.status == "breached" and report.limit == "2026-11-23T15:00:00+08:00 = at data.pickup_at"
    runtime.verify(instance)


def test_a_date_means_the_start_of_that_day_on_the_calendar_and_before_counts_back_from_it():
    runtime = runtime_of(dated({"limit": "{at: data.pickup_day}", "warning": "{at: data.pickup_day, before: 1 day}"}))
    instance = submitted(runtime, pickup_day="2026-11-25")
    day = dt.datetime(2026, 11, 25, tzinfo=SHANGHAI)
    runtime.advance(instance, day)
    assert points(instance) == [("warning", day - dt.timedelta(days=1)), ("limit", day)]
    runtime.verify(instance)


def test_a_pause_does_not_move_the_moment():
    edits = (("    starts: {enter: [quote]}\n", "    starts: {enter: [accept]}\n    pauses: [on_hold]\n"),)
    runtime = runtime_of(dated(AGREED, *edits))
    instance = runtime.start(CUSTOMER, at=MONDAY)
    payload = {"in_warranty": True, "model": "X", "pickup_at": PICKUP.isoformat()}
    runtime.fire(instance, "submit", CUSTOMER, payload, at=MONDAY)
    runtime.fire(instance, "hold", CLERK, at=MONDAY + dt.timedelta(hours=1))
    assert runtime.clocks(instance, MONDAY + dt.timedelta(hours=2))[0].status == "paused"
    runtime.advance(instance, PICKUP)
    assert instance.state == "on_hold" and points(instance) == [("limit", PICKUP)]
    runtime.verify(instance)


def test_a_clock_stopped_before_the_moment_reaches_nothing():
    runtime = runtime_of(dated(AGREED))
    instance = submitted(runtime, pickup_at=PICKUP.isoformat())
    runtime.fire(instance, "withdraw", CUSTOMER, at=MONDAY + dt.timedelta(hours=1))
    runtime.advance(instance, PICKUP + dt.timedelta(days=1))
    assert points(instance) == [] and runtime.clocks(instance, PICKUP)[0].status == "stopped"


def test_the_recorded_moment_is_what_replay_checks_and_what_the_stored_record_keeps():
    runtime = runtime_of(dated(AGREED))
    instance = submitted(runtime, pickup_at=PICKUP.isoformat())
    document = instance_to_json(instance)
    assert document["history"][1]["clocks"][0]["moments"] == {"limit": "2026-11-23T15:00:00+08:00"}
    assert instance_from_json(document) == instance
    document["history"][1]["clocks"][0]["moments"]["limit"] = "2026-11-24T15:00:00+08:00"
    with pytest.raises(ReplayMismatch, match="moments"):
        runtime.verify(instance_from_json(document))


def test_a_later_change_of_the_date_does_not_move_the_running_promise():
    edit = (
        "        set: {quote: payload.quote}\n",
        "        set: {quote: payload.quote, pickup_at: \"'2026-12-01T09:00:00+08:00'\"}\n",
    )
    runtime = runtime_of(dated(AGREED, edit))
    instance = submitted(runtime, pickup_at=PICKUP.isoformat())
    runtime.fire(instance, "send_quote", SUPERVISOR, {"quote": 10}, at=MONDAY + dt.timedelta(hours=1))
    assert instance.data["pickup_at"] == "2026-12-01T09:00:00+08:00"
    runtime.advance(instance, PICKUP)
    assert points(instance) == [("limit", PICKUP)]


@pytest.mark.parametrize(
    "clock, payload, words",
    [
        (AGREED, {}, "gives nothing (null): the field is missing"),
        ({"limit": "{at: data.quantity + 1}"}, {"quantity": 2}, "gives a int, not a date"),
        (
            {"limit": "{at: data.pickup_at}", "warning": "8h"},
            {"pickup_at": PICKUP.isoformat()},
            "its warning `8h` (at 2026-11-23T17:00:00+08:00) must come before its limit",
        ),
        (
            {"limit": "2h", "ceiling": "{at: data.pickup_at}"},
            {"pickup_at": (MONDAY + dt.timedelta(hours=1)).isoformat()},
            "its ceiling `2026-11-23T10:00:00+08:00` must come after its limit `2h` (at 2026-11-23T11:00:00+08:00)",
        ),
    ],
    ids=["missing", "not-a-date", "warning-after-the-moment", "ceiling-before-the-limit"],
)
def test_data_that_gives_no_usable_moment_refuses_the_event_that_starts_the_clock(clock, payload, words):
    text = dated(clock)
    assert problems(text) == []
    runtime = runtime_of(text)
    instance = runtime.start(CUSTOMER, at=MONDAY)
    before = snapshot(instance)
    with pytest.raises(InvalidData) as refused:
        runtime.fire(instance, "submit", CUSTOMER, {"in_warranty": False, "model": "X", **payload}, at=MONDAY)
    assert words in str(refused.value) and "clock `handling`" in str(refused.value), str(refused.value)
    assert "p.yaml:" in str(refused.value)
    assert snapshot(instance) == before


@pytest.mark.parametrize(
    "written, code, words",
    [
        ("{at: data.pickup_att}", "unknown-field", "did you mean `pickup_at`"),
        ("{at: data.model}", "not-a-date", "is not declared as a date"),
        ("{before: 1 hour}", "missing-key", "missing `at`"),
        ("{hours: data.quantity, before: 1 hour}", "time-limit-forms", "`at` (with `before` if needed)"),
        ("{at: data.pickup_at, hours: data.quantity}", "time-limit-forms", "this one writes `at`, `hours`"),
        ("{at: data.pickup_at, before: 2 working days}", "bad-format", "Elapsed time only"),
    ],
    ids=["unknown-field", "not-a-date", "before-without-at", "before-with-an-amount", "two-forms", "working-before"],
)
def test_a_bad_clock_moment_is_refused_where_it_is_written(written, code, words):
    text = dated({"limit": written})
    found = problems(text)
    line = position(text, f"limit: {written}")[0]
    assert any(p[0] == line and code in p[2] and words in p[3] for p in found), found


def test_the_chart_the_book_and_show_say_the_moment(sqlite_url, tmp_path):
    text = dated({"limit": "{at: data.pickup_at}", "warning": "{at: data.pickup_at, before: 1 hour}"})
    (band,) = extract(load_process_text(text), "en").clocks
    assert "limit at data.pickup_at" in band.title and "warning 1 hour before data.pickup_at" in band.title
    (zh,) = extract(load_process_text(text), "zh").clocks
    assert "时限 至 data.pickup_at" in zh.title
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    html = clocks_section(load_process_text(text, str(path)), "en")
    assert "at data.pickup_at" in html and "a moment in the data, fixed when the clock starts" in html
    with Workflows(sqlite_url) as workflows:
        workflows.register(path)
        instance = workflows.start("minimal_repair", CUSTOMER, at=MONDAY, instance_id="Q-1")
        payload = {"in_warranty": False, "model": "X", "pickup_at": PICKUP.isoformat()}
        workflows.fire(instance.id, "submit", CUSTOMER, payload, at=MONDAY)
    stdout, err = io.StringIO(), io.StringIO()
    assert run(["show", "Q-1", "--store", sqlite_url], stdout, err) == 0, err.getvalue()
    (line,) = [line for line in stdout.getvalue().splitlines() if line.startswith("clock:")]
    assert "of 2026-11-23T15:00:00+08:00 = at data.pickup_at" in line


def test_the_moment_is_kept_exactly_through_json():
    runtime = runtime_of(dated(AGREED))
    instance = submitted(runtime, pickup_at="2026-11-23T07:00:00Z")
    again = instance_from_json(json.loads(json.dumps(instance_to_json(instance))))
    assert again.history[-1].clocks[0].moments == (("limit", dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)),)
