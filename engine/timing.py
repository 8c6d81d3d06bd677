"""Time limits: as written in definitions (``24h``, ``3 working days``, ``P1DT12H``) → ``Duration``,
and when a limit begun at a given moment ends on a business calendar; whether a clock's points come in order."""

from __future__ import annotations

import datetime
import functools
import re
import zoneinfo
from collections.abc import Mapping

from engine.errors import InvalidData, UnreachableDeadline
from engine.model import END_OF_DAY, Calendar, Clock, DataLimit, Duration, TimeUnit

MAX_CALENDAR_DAYS = 3660
"""Ten years: the longest a time limit may be, and how far ahead a working-time limit looks for
working hours before the event that opens it is refused."""

_UNITS: dict[str, TimeUnit] = {
    "m": "minute",
    "min": "minute",
    "minute": "minute",
    "minutes": "minute",
    "h": "hour",
    "hour": "hour",
    "hours": "hour",
    "d": "day",
    "day": "day",
    "days": "day",
    "w": "week",
    "week": "week",
    "weeks": "week",
}
_SHORT = re.compile(r"^([1-9][0-9]*)\s*(m|min|h|d|w)$")
_SECONDS = {"W": 604800, "D": 86400, "H": 3600, "M": 60, "S": 1}


AT_ONCE = "at once"
"""The one way to write a time limit of zero (立即): due the moment the state is entered. A written
``0m`` stays refused, as a slip more often than a promise."""


def parse_duration(text: str) -> Duration | None:
    """The duration ``text`` names, or ``None`` when it is not one (the schema's pattern says why)."""
    stripped = text.strip()
    if stripped == AT_ONCE:
        return Duration(text, 0, "minute")
    match = _SHORT.match(stripped)
    if match:
        return Duration(text, int(match.group(1)), _UNITS[match.group(2)])
    if len(stripped.split(None, 1)) > 1:  # the words of the long forms are apart (`\s` is what `split` splits at)
        for pattern, working in ((_long(), False), (_working(), True)):
            match = pattern.match(stripped)
            if match:
                return Duration(text, int(match.group(1)), _UNITS[match.group(2)], working)
    match = _iso().match(stripped) if stripped.startswith("P") else None
    if not match:
        return None
    parts = [(int(v), unit) for v, unit in zip(match.groups(), "WDHMS", strict=True) if v is not None]
    if len(parts) == 1:
        amount, letter = parts[0]
        unit: TimeUnit = {"W": "week", "D": "day", "H": "hour", "M": "minute", "S": "second"}[letter]  # type: ignore[assignment]
        return Duration(text, amount, unit) if amount > 0 else None
    seconds = sum(amount * _SECONDS[letter] for amount, letter in parts)
    return Duration(text, seconds, "second") if seconds > 0 else None


@functools.cache
def _long() -> re.Pattern[str]:
    """`3 days`, compiled (as ``_working`` and ``_iso`` are) for the first duration written that way."""
    return re.compile(r"^([1-9][0-9]*)\s+(minutes?|hours?|days?|weeks?)$")


@functools.cache
def _working() -> re.Pattern[str]:
    return re.compile(r"^([1-9][0-9]*)\s+working\s+(days?|hours?)$")


@functools.cache
def _iso() -> re.Pattern[str]:
    """ISO 8601 durations, compiled for the first text that begins with `P` (1M instructions of validate)."""
    return re.compile(
        r"^P(?=[0-9T])(?:([0-9]+)W)?(?:([0-9]+)D)?(?:T(?=[0-9])(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?$"
    )


def due_time(start: datetime.datetime, duration: Duration, calendar: Calendar) -> datetime.datetime:
    """When a limit of ``duration`` that begins at ``start`` ends.

    Plain durations are elapsed time. Working durations count only the calendar's working hours on
    its working days, to the microsecond: ``3 working days`` is three full working days' worth of
    working hours, so a limit begun on Friday afternoon runs into the next week and skips holidays.
    ``UnreachableDeadline`` when the calendar has too little working time in the ``MAX_CALENDAR_DAYS``
    after ``start``, or the end would lie beyond the last time a ``datetime`` can hold.
    """
    try:
        if not duration.working:
            return start + duration.as_timedelta()
        return _working_due_time(start, duration, calendar)
    except OverflowError:
        raise UnreachableDeadline(
            f"the time limit `{duration.text}` begun at {start.isoformat()} would end after the year 9999"
        ) from None


def limit_problem(duration: Duration, calendar: Calendar) -> str | None:
    """Why a time limit can never be used (it is longer than ten years, or needs more working time than
    ten years of the calendar's working weeks hold), or ``None``."""
    if not duration.working:
        if duration.amount * _UNIT_SECONDS[duration.unit] > MAX_CALENDAR_DAYS * 86_400:
            return (
                f"`{duration.text}` is longer than ten years ({MAX_CALENDAR_DAYS:,} days), "
                "the longest a time limit may be"
            )
        return None
    weeks = MAX_CALENDAR_DAYS // 7
    needed = _working_micros(duration, calendar)
    if needed > weeks * len(calendar.working_days) * _day_length(calendar):
        return (
            f"`{duration.text}` needs more working time than ten years of this calendar hold ({weeks} weeks "
            f"of {len(calendar.working_days)} working days), the longest a working-time limit may be"
        )
    return None


def is_working_day(calendar: Calendar, day: datetime.date) -> bool:
    if day in calendar.extra_working_days:
        return True
    return day.weekday() in calendar.working_days and day not in calendar.holidays


_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86_400, "week": 604_800}
_MICROS = 1_000_000
_DAY = 86_400 * _MICROS


def running_time(
    start: datetime.datetime, end: datetime.datetime, duration: Duration, calendar: Calendar
) -> datetime.timedelta:
    """How much of a limit like ``duration`` the time from ``start`` to ``end`` uses: the elapsed time, or
    for a working duration the working time on the calendar between them."""
    if end <= start:
        return datetime.timedelta(0)
    if not duration.working:
        return end - start
    zone = zoneinfo.ZoneInfo(calendar.timezone)
    first, last = start.astimezone(zone), end.astimezone(zone)
    day, total = first.date(), 0
    for _ in range(MAX_CALENDAR_DAYS + 2):
        if day > last.date():
            break
        if is_working_day(calendar, day):
            low = _micros(first.time()) if day == first.date() else 0
            high = _micros(last.time()) if day == last.date() else _DAY
            for begin, stop in calendar.working_hours:
                total += max(0, min(_end_micros(stop), high) - max(_micros(begin), low))
        day += datetime.timedelta(days=1)
    return datetime.timedelta(microseconds=total)


def limit_length(duration: Duration, calendar: Calendar) -> datetime.timedelta:
    """The running time a limit allows: elapsed time, or for a working duration its working time."""
    if not duration.working:
        return duration.as_timedelta()
    return datetime.timedelta(microseconds=_working_micros(duration, calendar))


def due_after(
    start: datetime.datetime, remaining: datetime.timedelta, duration: Duration, calendar: Calendar
) -> datetime.datetime:
    """When ``remaining`` more of a limit like ``duration`` is used, counting from ``start`` (the rest of
    a clock's limit after a pause). ``UnreachableDeadline`` as for ``due_time``."""
    if remaining <= datetime.timedelta(0):
        return start
    try:
        if not duration.working:
            return start + remaining
        return _working_due_time(start, duration, calendar, remaining // datetime.timedelta(microseconds=1))
    except OverflowError:
        raise UnreachableDeadline(
            f"the time limit `{duration.text}` counted on from {start.isoformat()} would end after the year 9999"
        ) from None


def _working_due_time(
    start: datetime.datetime, duration: Duration, calendar: Calendar, remaining: int | None = None
) -> datetime.datetime:
    zone = zoneinfo.ZoneInfo(calendar.timezone)
    if remaining is None:
        remaining = _working_micros(duration, calendar)
    local = start.astimezone(zone)
    day, not_before = local.date(), _micros(local.time())
    for _ in range(MAX_CALENDAR_DAYS):
        if is_working_day(calendar, day):
            for begin, end in calendar.working_hours:
                opens = max(_micros(begin), not_before)
                available = _end_micros(end) - opens
                if available <= 0:
                    continue
                if remaining <= available:
                    midnight = datetime.datetime.combine(day, datetime.time(), tzinfo=zone)
                    return (midnight + datetime.timedelta(microseconds=opens + remaining)).astimezone(start.tzinfo)
                remaining -= available
        day, not_before = day + datetime.timedelta(days=1), 0
    raise UnreachableDeadline(
        f"the time limit `{duration.text}` begun at {start.isoformat()} finds too little working time on the "
        f"business calendar in the {MAX_CALENDAR_DAYS:,} days after it (holidays, working days and hours)"
    )


def _working_micros(duration: Duration, calendar: Calendar) -> int:
    return duration.amount * (_day_length(calendar) if duration.unit == "day" else 3600 * _MICROS)


def _day_length(calendar: Calendar) -> int:
    return sum((_end_micros(end) - _micros(begin) for begin, end in calendar.working_hours), 0)


def _end_micros(end: datetime.time) -> int:
    """Microseconds from midnight to the end of a working period; ``END_OF_DAY`` is 24:00."""
    return _DAY if end == END_OF_DAY else _micros(end)


def _micros(moment: datetime.time) -> int:
    """Microseconds since midnight."""
    return ((moment.hour * 60 + moment.minute) * 60 + moment.second) * _MICROS + moment.microsecond


MAX_DATA_AMOUNT = 10**9
"""The largest number of minutes, hours, … a time limit computed from the data may be."""


def due_from_data(
    start: datetime.datetime, limit: DataLimit, value: object, calendar: Calendar, where: str
) -> datetime.datetime:
    """When a limit taken from the data ends, for a state entered at ``start``, ``value`` being what
    the limit's expression gave. ``InvalidData`` (naming ``where``) when the value is missing or of the
    wrong kind, ``UnreachableDeadline`` when the calendar cannot count it."""
    if limit.unit is None:
        return _due_at(value, limit, calendar, where).astimezone(start.tzinfo)
    return due_time(start, data_duration(limit, value, calendar, where), calendar)


def data_duration(limit: DataLimit, value: object, calendar: Calendar, where: str) -> Duration:
    """The duration an amount taken from the data names (``{hours: data.quantity * 2}`` giving 6 is six
    hours), ``value`` being what the limit's expression gave; ``InvalidData`` (naming ``where``) when it is
    missing, not a whole number 0 or more, or longer than a time limit may be (``limit_problem``)."""
    assert limit.unit is not None, "an `at` limit names a moment, not an amount"
    amount = whole_number(value, 0)
    if amount is None or amount > MAX_DATA_AMOUNT:
        raise InvalidData(
            f"{where}: `{limit.expression}` must give a whole number of {'working ' if limit.working else ''}"
            f"{limit.unit}s, 0 or more, but gives {shown_amount(value)}"
        )
    duration = amount_duration(amount, limit.unit, limit.working)
    problem = limit_problem(duration, calendar)
    if problem is not None:
        raise InvalidData(f"{where}: {problem}")
    return duration


def whole_number(value: object, least: int) -> int | None:
    """What an amount computed from the data comes to, if it is a whole number ``least`` or more (``2.0``
    counts as 2; ``true`` is no number); ``None`` otherwise."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        return None
    return value


def shown_amount(value: object) -> str:
    """A value that should have been an amount, as a refusal says it: ``2.5``, ``nothing (null)``."""
    return "nothing (null)" if value is None else repr(value) if isinstance(value, (int, float)) else "no number"


def amount_duration(amount: int, unit: TimeUnit, working: bool) -> Duration:
    """A duration of a whole number of units, as a limit computed from the data is: ``6 working days``."""
    text = f"{amount} {'working ' if working else ''}{unit}{'' if amount == 1 else 's'}"
    return Duration(text, amount, unit, working)


def _due_at(value: object, limit: DataLimit, calendar: Calendar, where: str) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime.combine(value, datetime.time(), tzinfo=zoneinfo.ZoneInfo(calendar.timezone))
    else:
        shown = "nothing (null): the field is missing" if value is None else f"a {type(value).__name__}, not a date"
        raise InvalidData(
            f"{where}: the time limit is due at `{limit.expression}`, which gives {shown}; "
            "the data must hold a date (YYYY-MM-DD) or a date-time there"
        )
    try:
        return moment - limit.before.as_timedelta() if limit.before is not None else moment
    except OverflowError:
        raise UnreachableDeadline(f"{where}: `{limit.text}` would end before the year 1") from None


def order_problems(clock: Clock, lengths: Mapping[str, Duration], calendar: Calendar) -> list[tuple[str, str]]:
    """The points that are out of order, and why: the warning must come before the limit and the ceiling not
    before it. Working and elapsed time are not compared (the calendar decides which comes first)."""
    limit = lengths.get("limit")
    problems = []
    for name, wrong in (("warning", "before"), ("ceiling", "after")):
        other = lengths.get(name)
        if limit is None or other is None or other.working != limit.working:
            continue
        shorter = limit_length(other, calendar) < limit_length(limit, calendar)
        if shorter != (name == "warning"):
            problems.append(
                (name, f"clock `{clock.id}`: its {name} `{other.text}` must come {wrong} its limit `{limit.text}`")
            )
    return problems
