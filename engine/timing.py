"""Time limits: as written in definitions (``24h``, ``3 working days``, ``P1DT12H``) → ``Duration``,
and when a limit begun at a given moment ends on a business calendar."""

from __future__ import annotations

import datetime
import re
import zoneinfo

from engine.model import Calendar, Duration, TimeUnit

MAX_CALENDAR_DAYS = 3660
"""How far ahead a working-time limit may look for working hours (ten years) before giving up."""

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
_LONG = re.compile(r"^([1-9][0-9]*)\s+(minutes?|hours?|days?|weeks?)$")
_WORKING = re.compile(r"^([1-9][0-9]*)\s+working\s+(days?|hours?)$")
_ISO = re.compile(r"^P(?=[0-9T])(?:([0-9]+)W)?(?:([0-9]+)D)?(?:T(?=[0-9])(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?$")
_SECONDS = {"W": 604800, "D": 86400, "H": 3600, "M": 60, "S": 1}


def parse_duration(text: str) -> Duration | None:
    """The duration ``text`` names, or ``None`` when it is not one (the schema's pattern says why)."""
    stripped = text.strip()
    for pattern, working in ((_SHORT, False), (_LONG, False), (_WORKING, True)):
        match = pattern.match(stripped)
        if match:
            return Duration(text, int(match.group(1)), _UNITS[match.group(2)], working)
    match = _ISO.match(stripped)
    if not match:
        return None
    parts = [(int(v), unit) for v, unit in zip(match.groups(), "WDHMS", strict=True) if v is not None]
    if len(parts) == 1:
        amount, letter = parts[0]
        unit: TimeUnit = {"W": "week", "D": "day", "H": "hour", "M": "minute", "S": "second"}[letter]  # type: ignore[assignment]
        return Duration(text, amount, unit) if amount > 0 else None
    seconds = sum(amount * _SECONDS[letter] for amount, letter in parts)
    return Duration(text, seconds, "second") if seconds > 0 else None


def due_time(start: datetime.datetime, duration: Duration, calendar: Calendar) -> datetime.datetime:
    """When a limit of ``duration`` that begins at ``start`` ends.

    Plain durations are elapsed time. Working durations count only the calendar's working hours on
    its working days: ``3 working days`` is three full working days' worth of working hours, so a
    limit begun on Friday afternoon runs into the next week and skips holidays.
    """
    if not duration.working:
        return start + duration.as_timedelta()
    zone = zoneinfo.ZoneInfo(calendar.timezone)
    day_length = sum((_seconds(end) - _seconds(begin) for begin, end in calendar.working_hours), 0)
    remaining = duration.amount * (day_length if duration.unit == "day" else 3600)
    local = start.astimezone(zone)
    day, not_before = local.date(), _seconds(local.timetz().replace(tzinfo=None))
    for _ in range(MAX_CALENDAR_DAYS):
        if is_working_day(calendar, day):
            for begin, end in calendar.working_hours:
                opens = max(_seconds(begin), not_before)
                available = _seconds(end) - opens
                if available <= 0:
                    continue
                if remaining <= available:
                    moment = datetime.datetime.combine(day, datetime.time(), tzinfo=zone)
                    return (moment + datetime.timedelta(seconds=opens + remaining)).astimezone(start.tzinfo)
                remaining -= available
        day, not_before = day + datetime.timedelta(days=1), 0
    raise ValueError(f"the calendar has no working time in the {MAX_CALENDAR_DAYS} days after {start.isoformat()}")


def is_working_day(calendar: Calendar, day: datetime.date) -> bool:
    if day in calendar.extra_working_days:
        return True
    return day.weekday() in calendar.working_days and day not in calendar.holidays


def _seconds(moment: datetime.time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second
