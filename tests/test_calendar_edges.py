"""The business calendar at its edges: counted to the microsecond, 24:00 as the end of the day, limits
it can never count refused at load, and an event whose deadline the calendar cannot reach refused with
nothing changed, in the runtime and on every store."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from conftest import FIXTURE, mutate, position
from hypothesis import given, settings
from hypothesis import strategies as st
from store_support import CLERK, CUSTOMER, MONDAY, OUT_OF_WARRANTY, dump, snapshot

from engine import (
    EventRefused,
    Runtime,
    UnreachableDeadline,
    load_process_text,
    validate_text,
)
from engine.model import END_OF_DAY, Calendar, Duration
from engine.service import Workflows
from engine.timing import due_time, is_working_day, parse_duration

pytest_plugins = ["store_support"]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
HOURS = 'working_hours: ["09:00-12:00", "13:00-18:00"]'


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def limit(text: str) -> Duration:
    duration = parse_duration(text)
    assert duration is not None
    return duration


def fixture_with(*edits: tuple[str, str]) -> str:
    return mutate(FIXTURE.read_text(encoding="utf-8"), *edits)


def only_problem(text: str, code: str):
    report = validate_text(text)
    assert report.process is None, "the edited definition should have been refused"
    [problem] = [p for p in report.errors if p.code == code]
    return problem


# --- 24:00 and microseconds -----------------------------------------------------------------------


def test_working_hours_ending_at_24_00_end_at_midnight_exactly():
    process = load_process_text(fixture_with((HOURS, 'working_hours: ["09:00-24:00"]')))
    calendar = process.calendar
    assert calendar.working_hours == ((dt.time(9), END_OF_DAY),)
    monday = local(2026, 11, 23, 9)
    assert due_time(monday, limit("1 working day"), calendar) == local(2026, 11, 24, 0)
    assert due_time(monday, limit("15 working hours"), calendar) == local(2026, 11, 24, 0)
    assert due_time(monday, limit("16 working hours"), calendar) == local(2026, 11, 24, 10)
    assert due_time(local(2026, 11, 23, 23, 30), limit("1 working hour"), calendar) == local(2026, 11, 24, 9, 30)


def test_a_whole_day_of_working_hours_counts_every_second():
    always = Calendar("Asia/Shanghai", frozenset(range(7)), ((dt.time(0), END_OF_DAY),))
    start = local(2026, 11, 23, 13, 7, 11)
    assert due_time(start, limit("2 working days"), always) == start + dt.timedelta(days=2)
    assert due_time(start, limit("50 working hours"), always) == start + dt.timedelta(hours=50)
    last = dt.datetime(2026, 11, 23, 23, 59, 59, 999_999, tzinfo=SHANGHAI)  # the instant before 24:00
    assert due_time(last, limit("1 working hour"), always) == last + dt.timedelta(hours=1)


def test_working_time_counts_the_microseconds_of_its_start():
    calendar = Calendar("Asia/Shanghai", working_hours=((dt.time(9), dt.time(12)), (dt.time(13), dt.time(18))))
    start = dt.datetime(2026, 11, 23, 10, 0, 0, 250_000, tzinfo=SHANGHAI)
    assert due_time(start, limit("1 working hour"), calendar) == start + dt.timedelta(hours=1)
    assert due_time(start, limit("2 working hours"), calendar) == start + dt.timedelta(hours=3)


@pytest.mark.parametrize(
    "hours, item",
    [
        ('["09:00-24:30"]', '"09:00-24:30"'),
        ('["09:00-24:01"]', '"09:00-24:01"'),
        ('["24:00-24:00"]', '"24:00-24:00"'),
        ('["09:00-12:00", "13:00-25:00"]', '"13:00-25:00"'),
    ],
    ids=["24:30", "24:01", "starts-at-24:00", "25:00"],
)
def test_hours_past_24_00_are_refused_at_load_where_they_are_written(hours, item):
    text = fixture_with((HOURS, f"working_hours: {hours}"))
    problem = only_problem(text, "bad-format")
    assert (problem.location.line, problem.location.column) == position(text, item)
    assert "hours are 00:00 to 24:00" in problem.message
    assert "`24:00` (the end of the day) may only end a period" in problem.message


def test_a_calendar_with_no_working_days_or_hours_is_refused_at_load():
    for edit, needle in [
        (("working_days: [mon, tue, wed, thu, fri]", "working_days: []"), "[]"),
        ((HOURS, "working_hours: []"), "[]"),
        ((HOURS, 'working_hours: ["09:00-09:00"]'), '"09:00-09:00"'),
    ]:
        text = fixture_with(edit)
        report = validate_text(text)
        assert report.process is None
        assert [(p.location.line, p.location.column) for p in report.errors] == [position(text, needle)]


# --- limits the calendar can never count -------------------------------------------------------------


@pytest.mark.parametrize(
    "written, needle, words",
    [
        ("time_limit: 3661d", "3661d", "longer than ten years (3,660 days)"),
        ("time_limit: P5000D", "P5000D", "longer than ten years"),
        ("time_limit: 99999999999999999999 weeks", "99999999999999999999 weeks", "longer than ten years"),
        ("time_limit: 2611 working days", "2611 working days", "522 weeks of 5 working days"),
        ("time_limit: 20881 working hours", "20881 working hours", "more working time than ten years"),
    ],
    ids=["days", "iso", "beyond-timedelta", "working-days", "working-hours"],
)
def test_a_limit_longer_than_ten_years_of_the_calendar_is_refused_at_load(written, needle, words):
    text = fixture_with(("time_limit: 3 working days", written))
    problem = only_problem(text, "limit-too-long")
    assert (problem.location.line, problem.location.column) == position(text, needle)
    assert "state `quote`" in problem.message and words in problem.message


def test_the_longest_limits_the_calendar_holds_are_accepted():
    # 522 weeks of five working days of eight hours: 2,610 working days or 20,880 working hours.
    for written in ("3660d", "2610 working days", "20880 working hours"):
        load_process_text(fixture_with(("time_limit: 3 working days", f"time_limit: {written}")))


def test_a_deadlines_own_after_is_checked_where_it_is_written():
    text = fixture_with(("      - after: 3d\n", "      - after: 600w\n"))
    problem = only_problem(text, "limit-too-long")
    assert (problem.location.line, problem.location.column) == position(text, "600w")
    assert "state `on_hold`" in problem.message


def test_a_week_of_one_working_day_holds_fewer_working_days():
    text = fixture_with(
        ("working_days: [mon, tue, wed, thu, fri]", "working_days: [mon]"),
        ("time_limit: 3 working days", "time_limit: 523 working days"),
    )
    assert "522 weeks of 1 working days" in only_problem(text, "limit-too-long").message


# --- a deadline the calendar cannot reach ----------------------------------------------------------


def every_monday_from(first: dt.date, years: int) -> list[str]:
    return [str(first + dt.timedelta(weeks=w)) for w in range(years * 53)]


MONDAYS_OFF = fixture_with(
    ("working_days: [mon, tue, wed, thu, fri]", "working_days: [mon]"),
    ('holidays: ["2026-10-01"]', f"holidays: [{', '.join(every_monday_from(dt.date(2026, 11, 30), 11))}]"),
)
"""Monday is the only working day, and every Monday from 2026-11-30 for eleven years is a holiday."""


def test_an_event_whose_deadline_finds_no_working_time_is_refused_and_changes_nothing():
    runtime = Runtime(load_process_text(MONDAYS_OFF))
    instance = runtime.start(CUSTOMER, at=MONDAY)
    before = snapshot(instance)
    with pytest.raises(UnreachableDeadline) as refused:
        runtime.fire(instance, "submit", CUSTOMER, OUT_OF_WARRANTY, at=MONDAY)
    assert refused.value.code == "unreachable-deadline" and isinstance(refused.value, EventRefused)
    assert "`3 working days`" in str(refused.value) and "too little working time" in str(refused.value)
    assert (refused.value.instance_id, refused.value.state, refused.value.trigger) == (instance.id, "apply", "submit")
    assert snapshot(instance) == before
    runtime.fire(instance, "submit", CUSTOMER, {"in_warranty": True, "model": "X1"}, at=MONDAY)
    assert instance.state == "accept"  # `accept`'s 24h limit is elapsed time: the instance goes on


def test_after_the_holidays_the_same_calendar_counts_again():
    runtime = Runtime(load_process_text(MONDAYS_OFF))
    later = dt.datetime(2038, 2, 1, 9, tzinfo=SHANGHAI)  # the Monday after the last holiday (2038-01-25)
    instance = runtime.start(CUSTOMER, at=later)
    runtime.fire(instance, "submit", CUSTOMER, OUT_OF_WARRANTY, at=later)
    assert instance.deadlines[0].due == dt.datetime(2038, 2, 15, 18, tzinfo=SHANGHAI)  # three Mondays


def test_a_start_whose_time_limit_cannot_end_is_refused():
    text = MONDAYS_OFF.replace(
        "    role: customer\n    source: 三.1\n",
        "    role: customer\n    time_limit: 1 working day\n    source: 三.1\n",
        1,
    )
    assert text != MONDAYS_OFF
    with pytest.raises(UnreachableDeadline):
        Runtime(load_process_text(text)).start(CUSTOMER, at=local(2026, 11, 28, 9))


def stored_rows(workflows: Workflows, url: str) -> object:
    if url == "memory:":
        return sorted(snapshot(workflows.get(s.id)) for s in workflows.list())
    return dump(url)


def test_every_store_is_unchanged_by_an_event_the_calendar_refuses(store_url):
    with Workflows(store_url, clock=lambda: MONDAY) as workflows:
        workflows.register(load_process_text(MONDAYS_OFF))
        workflows.start("minimal_repair", CUSTOMER, instance_id="I-1", at=MONDAY)
        before, rows = snapshot(workflows.get("I-1")), stored_rows(workflows, store_url)
        with pytest.raises(UnreachableDeadline):
            workflows.fire("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY, key="k-1", at=MONDAY)
        assert snapshot(workflows.get("I-1")) == before
        assert stored_rows(workflows, store_url) == rows


def test_a_deadline_fired_by_the_clock_into_an_unreachable_limit_stays_open_and_is_reported():
    text = fixture_with(
        ("        dest: on_hold\n        roles: [clerk]\n", "        dest: quote\n        roles: [clerk]\n")
    )
    text = mutate(
        text,
        ("working_days: [mon, tue, wed, thu, fri]", "working_days: [mon]"),
        ('holidays: ["2026-10-01"]', f"holidays: [{', '.join(every_monday_from(dt.date(2026, 11, 30), 11))}]"),
    )
    runtime = Runtime(load_process_text(text))
    instance = runtime.start(CUSTOMER, at=MONDAY)
    runtime.fire(instance, "submit", CUSTOMER, {"in_warranty": True, "model": "X1"}, at=MONDAY)
    runtime.fire(instance, "hold", CLERK, at=MONDAY)  # `on_hold` reminds after 3d, into `quote`
    before = snapshot(instance)
    result = runtime.advance(instance, MONDAY + dt.timedelta(days=4))
    [(deadline, refusal)] = result.refused
    assert deadline.fire == "remind" and isinstance(refusal, UnreachableDeadline)
    assert snapshot(instance) == before


@pytest.mark.parametrize("written", ["1d", "1 working day"])
def test_a_limit_that_would_end_after_year_9999_is_a_refusal_not_an_overflow(written):
    calendar = Calendar("UTC")
    with pytest.raises(UnreachableDeadline, match="after the year 9999"):
        due_time(dt.datetime(9999, 12, 31, 12, tzinfo=dt.UTC), limit(written), calendar)


# --- exact, whatever the calendar ----------------------------------------------------------------


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    marks = sorted(draw(st.sets(st.integers(0, 48), min_size=2, max_size=6)))  # half hours, 48 = 24:00
    marks = marks[: len(marks) // 2 * 2]
    periods = tuple(
        (dt.time(a // 2, a % 2 * 30), END_OF_DAY if b == 48 else dt.time(b // 2, b % 2 * 30))
        for a, b in zip(marks[::2], marks[1::2], strict=True)
    )
    first = dt.date(2026, 1, 1)
    days = st.integers(0, 800).map(lambda n: first + dt.timedelta(days=n))
    holidays = draw(st.frozensets(days, max_size=40))
    return Calendar(
        "Asia/Shanghai",
        draw(st.frozensets(st.integers(0, 6), min_size=1)),
        periods,
        holidays,
        draw(st.frozensets(days, max_size=5)) - holidays,
    )


def since_midnight(moment: dt.time) -> dt.timedelta:
    return dt.timedelta(days=1) if moment == END_OF_DAY else dt.timedelta(hours=moment.hour, minutes=moment.minute)


def working_time_between(calendar: Calendar, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """The working time from ``start`` to ``end``, summed period by period: an oracle apart from
    ``due_time``'s countdown."""
    total = dt.timedelta(0)
    day = start.astimezone(SHANGHAI).date()
    while day <= end.astimezone(SHANGHAI).date():
        if is_working_day(calendar, day):
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI)
            for begin, finish in calendar.working_hours:
                opens, closes = midnight + since_midnight(begin), midnight + since_midnight(finish)
                total += max(dt.timedelta(0), min(closes, end) - max(opens, start))
        day += dt.timedelta(days=1)
    return total


starts = st.datetimes(
    min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31), timezones=st.just(SHANGHAI)
)


@settings(max_examples=200, deadline=None)
@given(calendar=calendars(), start=starts, amount=st.integers(1, 40), unit=st.sampled_from(["hour", "day"]))
def test_a_working_limit_ends_when_exactly_its_working_time_has_passed(calendar, start, amount, unit):
    # At most 40 holidays in the drawn calendars: every limit drawn can end, and must end exactly.
    due = due_time(start, limit(f"{amount} working {unit}s"), calendar)
    day = sum((since_midnight(e) - since_midnight(b) for b, e in calendar.working_hours), dt.timedelta(0))
    expected = amount * (day if unit == "day" else dt.timedelta(hours=1))
    assert due >= start
    assert working_time_between(calendar, start, due) == expected
    assert working_time_between(calendar, start, due - dt.timedelta(microseconds=1)) < expected
