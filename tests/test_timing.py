"""When a time limit ends: elapsed time, and working time on a business calendar."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.model import Calendar
from engine.timing import due_time, is_working_day, parse_duration

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
CALENDAR = Calendar(
    timezone="Asia/Shanghai",
    working_hours=((dt.time(9), dt.time(12)), (dt.time(13), dt.time(18))),
    holidays=frozenset({dt.date(2026, 10, 1), dt.date(2026, 10, 2)}),
    extra_working_days=frozenset({dt.date(2026, 10, 10)}),  # a Saturday worked (调休)
)


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    "start, limit, due",
    [
        (local(2026, 11, 23, 9), "3d", local(2026, 11, 26, 9)),
        (local(2026, 11, 23, 9), "24h", local(2026, 11, 24, 9)),
        (local(2026, 11, 23, 9), "1w", local(2026, 11, 30, 9)),
        (local(2026, 11, 23, 9), "P1DT12H", local(2026, 11, 24, 21)),
        # Working hours skip lunch, nights and weekends.
        (local(2026, 11, 23, 11), "2 working hours", local(2026, 11, 23, 14)),
        (local(2026, 11, 20, 17), "2 working hours", local(2026, 11, 23, 10)),
        # Begun outside working hours, the count starts when work does.
        (local(2026, 11, 21, 15), "1 working day", local(2026, 11, 23, 18)),
        (local(2026, 11, 23, 7), "8 working hours", local(2026, 11, 23, 18)),
        # Holidays are skipped and a make-up working Saturday counts.
        (local(2026, 9, 30, 9), "2 working days", local(2026, 10, 5, 18)),
        (local(2026, 10, 9, 9), "2 working days", local(2026, 10, 10, 18)),
    ],
)
def test_due_time(start, limit, due):
    duration = parse_duration(limit)
    assert duration is not None
    assert due_time(start, duration, CALENDAR) == due


def test_the_due_time_keeps_the_callers_time_zone():
    start = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
    duration = parse_duration("1 working hour")
    assert duration is not None
    due = due_time(start, duration, CALENDAR)
    assert due.tzinfo is dt.UTC and due == dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


def test_is_working_day():
    assert is_working_day(CALENDAR, dt.date(2026, 11, 23))
    assert not is_working_day(CALENDAR, dt.date(2026, 11, 22))  # Sunday
    assert not is_working_day(CALENDAR, dt.date(2026, 10, 1))  # holiday
    assert is_working_day(CALENDAR, dt.date(2026, 10, 10))  # Saturday worked


starts = st.datetimes(
    min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31), timezones=st.just(SHANGHAI)
)


@given(start=starts, hours=st.integers(1, 200))
def test_working_time_ends_inside_working_hours_on_a_working_day(start, hours):
    duration = parse_duration(f"{hours} working hours")
    assert duration is not None
    due = due_time(start, duration, CALENDAR).astimezone(SHANGHAI)
    assert due > start
    assert is_working_day(CALENDAR, due.date())
    assert any(begin < due.time() <= end for begin, end in CALENDAR.working_hours)


@given(
    start=starts,
    later=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=30)),
    days=st.integers(1, 20),
)
def test_a_later_start_never_gives_an_earlier_due_time(start, later, days):
    duration = parse_duration(f"{days} working days")
    assert duration is not None
    assert due_time(start + later, duration, CALENDAR) >= due_time(start, duration, CALENDAR)


@given(start=starts, days=st.integers(1, 20))
def test_n_working_days_hold_n_days_of_working_hours(start, days):
    # Adding one working day at a time gives the same end as adding them all at once.
    one, all_days = parse_duration("1 working day"), parse_duration(f"{days} working days")
    assert one is not None and all_days is not None
    stepwise = start
    for _ in range(days):
        stepwise = due_time(stepwise, one, CALENDAR)
    assert stepwise == due_time(start, all_days, CALENDAR)
