"""Dates in data and conditions, `now`, time limits taken from the data, `at once`, and `if_present`."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conftest import ROOT, mutate, position

from engine import Actor, InvalidData, Runtime, load_process_text, validate_text
from engine.errors import GuardFailed
from engine.instances import instance_from_json, instance_to_json
from engine.render.diagram import extract
from engine.simulate import simulate

DATES = ROOT / "tests" / "fixtures" / "dates.yaml"
TEXT = DATES.read_text(encoding="utf-8")
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
CUSTOMER = Actor("cus", ["customer"])
CLERK = Actor("kim", ["clerk"])
MONDAY = dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)
"""Monday 30 November 2026, 09:30 in Shanghai, in working hours (09:00-12:00, 13:00-18:00)."""
ORDER = {"requested_date": "2026-12-10", "quantity": 3, "parts": [{"name": "pump", "ok": True}]}


def runtime(text: str = TEXT) -> Runtime:
    return Runtime(load_process_text(text, str(DATES)), clock=lambda: MONDAY)


def submitted(rt: Runtime, order: dict[str, object] = ORDER, when: dt.datetime = MONDAY):
    instance = rt.start(CUSTOMER, at=when)
    rt.fire(instance, "submit", CUSTOMER, order, at=when)
    assert instance.state == "repair"
    return instance


def snapshot(instance) -> str:
    return json.dumps(instance_to_json(instance), sort_keys=True, ensure_ascii=False)


def problems(text: str) -> list[tuple[int, int, str, str]]:
    report = validate_text(text, "dates.yaml")
    return [(p.location.line, p.location.column, p.code, p.message) for p in report.problems]


def test_the_fixture_is_valid():
    assert problems(TEXT) == []


# --- time limits from the data ------------------------------------------------------------------


def test_a_time_limit_computed_from_a_number_in_the_data_ends_exactly_then():
    instance = submitted(runtime())
    limit = next(d for d in instance.deadlines if d.fire is None)
    assert limit.due == MONDAY + dt.timedelta(hours=6)  # quantity 3 × 2 hours


def test_a_deadline_before_a_date_in_the_data_fires_that_long_ahead_of_it():
    rt = runtime()
    instance = submitted(rt)
    notify = next(d for d in instance.deadlines if d.fire == "notify")
    # 2026-12-10 is a `format: date`: the start of that day on the calendar (Shanghai), less 5 days
    assert notify.due == dt.datetime(2026, 12, 5, 0, 0, tzinfo=SHANGHAI)
    assert rt.advance(instance, dt.datetime(2026, 12, 4, 23, 59, tzinfo=SHANGHAI)).fired == ()
    fired = rt.advance(instance, dt.datetime(2026, 12, 5, 0, 0, tzinfo=SHANGHAI)).fired
    assert [(e.trigger, e.at) for e in fired] == [("notify", notify.due)]


def test_a_working_time_limit_from_the_data_counts_on_the_calendar():
    text = mutate(TEXT, ("time_limit: {hours: data.quantity * 2}", "time_limit: {working_days: data.quantity}"))
    friday = dt.datetime(2026, 9, 25, 17, 0, tzinfo=SHANGHAI)  # the holiday on 1 October is skipped
    instance = submitted(runtime(text), {**ORDER, "quantity": 4}, when=friday)
    limit = next(d for d in instance.deadlines if d.fire is None)
    # 4 working days of 8 hours from Friday 17:00: 1 h on Friday, 8 h each Mon, Tue, Wed; Thursday
    # 1 October is a holiday; the last 7 h on Friday 2 October: 09:00-12:00 and 13:00-17:00
    assert limit.due == dt.datetime(2026, 10, 2, 17, 0, tzinfo=SHANGHAI)


def test_a_time_limit_at_a_date_time_in_the_data_is_that_moment():
    text = mutate(
        TEXT,
        ("time_limit: {hours: data.quantity * 2}", "time_limit: {at: data.received_at}"),
    )
    instance = submitted(runtime(text))
    # `received_at` was set from `now`, the event's time, so the limit is already due
    assert next(d for d in instance.deadlines if d.fire is None).due == MONDAY


def test_a_date_in_the_past_gives_a_deadline_that_fires_at_the_next_advance():
    rt = runtime()
    instance = submitted(rt, {**ORDER, "requested_date": "2026-12-01"})
    assert [e.trigger for e in rt.advance(instance, MONDAY).fired] == ["notify"]


@pytest.mark.parametrize(
    ("edit", "order", "words"),
    [
        (
            [
                ("required: [requested_date, quantity, parts]", "required: [quantity, parts]"),
                (
                    "requested_date: payload.requested_date",
                    "requested_date: {from: payload.requested_date, if_present: true}",
                ),
            ],
            {"quantity": 3, "parts": []},
            ["state `repair`", "deadline `notify`", "data.requested_date", "nothing (null)"],
        ),
        (
            ("time_limit: {hours: data.quantity * 2}", "time_limit: {hours: data.quantity / 2}"),
            {**ORDER, "quantity": 3},
            ["state `repair`", "`data.quantity / 2`", "whole number of hours", "1.5"],
        ),
        (
            ("time_limit: {hours: data.quantity * 2}", "time_limit: {hours: data.quantity - 10}"),
            ORDER,
            ["0 or more", "-7"],
        ),
        (
            ("time_limit: {hours: data.quantity * 2}", "time_limit: {weeks: data.quantity * 1000}"),
            ORDER,
            ["longer than ten years"],
        ),
    ],
    ids=["missing date", "not whole", "negative", "too long"],
)
def test_an_event_whose_data_gives_no_time_limit_is_refused_and_changes_nothing(edit, order, words):
    rt = runtime(mutate(TEXT, *(edit if isinstance(edit, list) else [edit])))
    instance = rt.start(CUSTOMER, at=MONDAY)
    before = snapshot(instance)
    with pytest.raises(InvalidData) as refused:
        rt.fire(instance, "submit", CUSTOMER, order, at=MONDAY)
    for word in words:
        assert word in str(refused.value)
    assert snapshot(instance) == before


def test_a_stored_instance_with_a_deadline_from_the_data_replays_exactly():
    rt = runtime()
    instance = submitted(rt)
    rt.advance(instance, dt.datetime(2026, 12, 6, tzinfo=SHANGHAI))
    stored = instance_from_json(json.loads(json.dumps(instance_to_json(instance))))
    rt.verify(stored)
    assert stored.deadlines == instance.deadlines


# --- dates and `now` in conditions ----------------------------------------------------------------


def test_now_is_the_events_time_and_replays_exactly():
    rt = runtime()
    later = MONDAY + dt.timedelta(hours=5, minutes=7)
    instance = rt.start(CUSTOMER, at=MONDAY)
    rt.fire(instance, "submit", CUSTOMER, ORDER, at=later)
    assert instance.data["received_at"] == later.isoformat()
    replayed = rt.replay(instance.history, instance_id=instance.id)  # the wall clock is never read
    assert replayed.data == instance.data
    rt.verify(instance)


def test_dates_compare_as_dates_with_now_on_the_calendars_day():
    rt = runtime()
    instance = submitted(rt)
    # 2026-12-10 16:30 UTC is already 11 December in Shanghai: past the requested date
    with pytest.raises(GuardFailed, match="now <= data.requested_date"):
        rt.fire(instance, "ship", CLERK, at=dt.datetime(2026, 12, 10, 16, 30, tzinfo=dt.UTC))
    # 15:59 UTC is 23:59 on 10 December in Shanghai: the requested day itself, so in time
    rt.fire(instance, "ship", CLERK, at=dt.datetime(2026, 12, 10, 15, 59, tzinfo=dt.UTC))
    assert instance.state == "shipped" and instance.data["late"] is False


def test_late_shipping_takes_the_other_way():
    rt = runtime()
    instance = submitted(rt)
    rt.fire(instance, "ship_late", CLERK, at=dt.datetime(2026, 12, 11, 9, tzinfo=SHANGHAI))
    assert instance.state == "shipped"


def test_all_over_a_list_in_a_condition():
    rt = runtime()
    instance = submitted(rt, {**ORDER, "parts": [{"name": "pump", "ok": True}, {"name": "seal", "ok": False}]})
    with pytest.raises(GuardFailed, match="all\\(data.parts, 'ok'\\)"):
        rt.fire(instance, "ship", CLERK, at=MONDAY)


def test_a_date_field_holding_no_date_is_an_error_naming_the_field():
    rt = runtime()
    instance = submitted(rt)
    instance.data["requested_date"] = "next week"  # as a damaged or hand-edited record might hold
    before = snapshot(instance)
    with pytest.raises(GuardFailed) as refused:
        rt.fire(instance, "ship", CLERK, at=MONDAY)
    assert "`data.requested_date` should hold a date written YYYY-MM-DD, but holds the text 'next week'" in str(
        refused.value
    )
    assert snapshot(instance) == before


# --- `at once` and `if_present` ---------------------------------------------------------------------


def test_at_once_is_due_the_moment_the_state_is_entered():
    rt = runtime()
    instance = submitted(rt)
    entered = MONDAY + dt.timedelta(hours=1)
    rt.fire(instance, "ship", CLERK, at=entered)
    assert [d.due for d in rt.overdue(instance, entered)] == [entered]


def test_a_deadline_at_once_fires_at_the_next_advance():
    text = mutate(TEXT, ("- after: {at: data.requested_date, before: 5 days}", "- after: at once"))
    rt = runtime(text)
    instance = submitted(rt)
    assert [(e.trigger, e.at) for e in rt.advance(instance, MONDAY).fired] == [("notify", MONDAY)]


@pytest.mark.parametrize("written", ["0m", "PT0M", "0 working days"])
def test_an_accidental_zero_is_still_refused_and_points_to_at_once(written):
    text = mutate(TEXT, ("time_limit: at once", f"time_limit: {written}"))
    found = problems(text)
    assert [(code, "write `at once`" in message) for _, _, code, message in found] == [("zero-time-limit", True)]


def test_if_present_sets_a_field_only_when_the_payload_has_it():
    rt = runtime()
    instance = submitted(rt, {**ORDER, "notes": "fragile"})
    assert instance.data["notes"] == "fragile"
    rt.fire(instance, "ship", CLERK, at=MONDAY)
    rt.fire(instance, "close", CLERK, {}, at=MONDAY)
    assert instance.data["notes"] == "fragile"  # kept: the payload had no notes
    plain = submitted(rt)
    assert "notes" not in plain.data


def test_if_present_with_a_value_sets_it():
    rt = runtime()
    instance = submitted(rt, {**ORDER, "notes": "fragile"})
    rt.fire(instance, "ship", CLERK, at=MONDAY)
    rt.fire(instance, "close", CLERK, {"notes": "delivered"}, at=MONDAY)
    assert instance.data["notes"] == "delivered"


# --- bad definitions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "at", "code", "words"),
    [
        (
            ("{at: data.requested_date, before: 5 days}", "{at: data.notes, before: 5 days}"),
            "data.notes, before",
            "not-a-date",
            ["`data.notes`", "not declared as a date", "format: date"],
        ),
        (
            ("{at: data.requested_date, before: 5 days}", "{at: data.requested_dat, before: 5 days}"),
            "data.requested_dat,",
            "unknown-field",
            ["`data.requested_dat`", "did you mean `requested_date`"],
        ),
        (
            ("time_limit: {hours: data.quantity * 2}", "time_limit: {hours: data.notes}"),
            "data.notes}",
            "not-a-number",
            ["`data.notes`", "string, not a number"],
        ),
        (
            ("time_limit: {hours: data.quantity * 2}", "time_limit: {hourz: data.quantity * 2}"),
            "hourz",
            "unknown-key",
            ["did you mean `hours`"],
        ),
        (
            ("time_limit: {hours: data.quantity * 2}", "time_limit: {hours: data.quantity * 2, at: data.notes}"),
            "{hours",
            "time-limit-forms",
            ["one of `at`", "`at`, `hours`"],
        ),
        (
            ("time_limit: {hours: data.quantity * 2}", "time_limit: {hours: data.quantity * 2, before: 1h}"),
            "{hours",
            "time-limit-forms",
            ["`hours`, `before`"],
        ),
        (
            ("before: 5 days", "before: 5 working days"),
            "5 working days",
            "bad-format",
            ["Elapsed time only"],
        ),
        (
            ("time_limit: {hours: data.quantity * 2}", "time_limit: {hours: 'data.quantity *'}"),
            "data.quantity *'",
            "expression",
            ["not a valid expression"],
        ),
        (
            (
                "notes: {from: payload.notes, if_present: true}\n          received_at",
                "notes: {from: payload.notes}\n          received_at",
            ),
            "{from: payload.notes}",
            "missing-key",
            ["if_present"],
        ),
        (
            ("all(data.parts, 'ok')", "alll(data.parts, 'ok')"),
            "alll(",
            "expression",
            ["unknown function `alll`", "did you mean `all`"],
        ),
        (
            ("days_between(data.requested_date, now)", "days_between(data.requested_date)"),
            "days_between(",
            "expression",
            ["`days_between` takes 2 arguments, got 1"],
        ),
    ],
    ids=[
        "at a text field",
        "at an unknown field",
        "hours of a text",
        "unknown form",
        "two forms",
        "before without at",
        "working time before",
        "bad expression",
        "from without if_present",
        "unknown function",
        "wrong number of arguments",
    ],
)
def test_bad_new_forms_are_located_and_explained(edit, at, code, words):
    text = mutate(TEXT, edit)
    found = problems(text)
    assert [c for _, _, c, _ in found] == [code], found
    line, column, _, message = found[0]
    needle = edit[1] if "\n" not in edit[1] else edit[1].split("\n")[0]
    expected_line, expected_column = position(text, needle, at)
    assert line == expected_line
    if code not in ("time-limit-forms", "missing-key", "bad-format"):  # these point at the mapping's key or value
        assert column == expected_column
    for word in words:
        assert word in message


# --- simulate ---------------------------------------------------------------------------------------


def test_simulate_fills_date_fields_and_reaches_every_transition():
    coverage = simulate(runtime(), walks=40, seed=5)
    assert coverage.complete


# --- the shipped exchange: three days from the purchase date ------------------------------------------

EXCHANGE = ROOT / "processes" / "exchange.yaml"
APPLICATION = {
    "customer_name": "陈小姐",
    "contact": "13600001111",
    "product": "18K金锁骨链",
    "order_no": "SO-0458",
    "proof_of_purchase": "电子发票 04458821",
    "purchase_date": "2026-11-21",
    "amount_paid": 2680,
    "reason": "链长偏短",
    "request_type": "exchange",
}


def exchange_in_review(when: dt.datetime):
    rt = Runtime(load_process_text(EXCHANGE.read_text(encoding="utf-8"), str(EXCHANGE)), clock=lambda: when)
    shopper = Actor("chen", ["customer"])
    instance = rt.start(shopper, at=when)
    rt.fire(instance, "submit", shopper, APPLICATION, at=when)
    assert instance.state == "review"
    return rt, instance


@pytest.mark.parametrize(
    ("applied_at", "allowed", "days"),
    [
        (dt.datetime(2026, 11, 24, 23, 59, tzinfo=SHANGHAI), True, 3),  # the third day after purchase
        (dt.datetime(2026, 11, 24, 16, 30, tzinfo=dt.UTC), False, 4),  # 00:30 on 25 November in Shanghai
    ],
)
def test_an_exchange_is_allowed_when_applied_for_within_three_days_of_the_purchase_date(applied_at, allowed, days):
    rt, instance = exchange_in_review(applied_at)
    agent = Actor("li", ["cs_agent"])
    approval = {"reason_reasonable": True, "facts_verified": True}
    approved_at = applied_at + dt.timedelta(days=2)  # the day of approval does not count
    if allowed:
        rt.fire(instance, "approve", agent, approval, at=approved_at)
        assert instance.data["days_since_purchase"] == days
    else:
        before = snapshot(instance)
        with pytest.raises(GuardFailed, match="days_between\\(data.purchase_date, data.applied_on\\) <= 3"):
            rt.fire(instance, "approve", agent, approval, at=approved_at)
        assert snapshot(instance) == before


# --- the chart ----------------------------------------------------------------------------------------


def test_the_chart_shows_time_limits_from_the_data_and_at_once():
    diagram = extract(runtime().process, "both")
    nodes = {node.id: node for node in diagram.nodes}
    assert nodes["repair"].time_limit == "时限 (data.quantity * 2) 小时 / limit after (data.quantity * 2) hours"
    assert nodes["shipped"].time_limit == "时限 立即 / limit at once"
    notes = [label.note for edge in diagram.edges for label in edge.labels if label.note]
    assert "data.requested_date 前 5天 自动触发 / fires 5 days before data.requested_date" in notes
