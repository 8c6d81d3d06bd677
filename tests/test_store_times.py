"""How the SQLite store writes times: UTC text that reads back as the same instant, sorts as the times
do (its queries compare due times as text), and reads what earlier versions wrote."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.stores.sqlite import TIME_FORMAT, SQLiteStore

OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: datetime.timezone(datetime.timedelta(minutes=minutes))
)
TIMES = st.datetimes(
    min_value=datetime.datetime(1900, 1, 2), max_value=datetime.datetime(8999, 12, 30), timezones=OFFSETS
)


@pytest.fixture(scope="module")
def store() -> SQLiteStore:
    return SQLiteStore(":memory:")


@given(TIMES)
def test_a_stored_time_reads_back_as_the_same_instant_and_as_earlier_versions_wrote_it(store, moment):
    text = store._time(moment)
    assert store._from_time(text) == moment
    assert text == moment.astimezone(datetime.UTC).strftime(TIME_FORMAT)


@given(TIMES, TIMES)
def test_stored_times_sort_as_the_times_do(store, one, other):
    assert (store._time(one) < store._time(other)) == (one < other)


@pytest.mark.parametrize(
    "damaged",
    [
        "2026-12-07",
        "2026-12-07T10:00:00+00:00",
        "2026-12-07T10:00:00.000Z",
        "2026-12-07p10:00:00.000000Z",
        "2026-12-07T10:00:00,000000Z",
        "not a timeZ",
        "2026-02-30T10:00:00.000000Z",
        "Z",
        20261207,
    ],
)
def test_a_stored_time_in_another_form_is_refused(store, damaged):
    with pytest.raises(ValueError, match="a stored time must read"):
        store._from_time(damaged)
