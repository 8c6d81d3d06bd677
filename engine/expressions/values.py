"""The vocabulary every part of the expression language shares: its limits, the shape of a
compiled closure (``Run``), the business calendar dates are read on, and how a value is described
to process owners."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import TypeGuard, Union

from engine.frozen import frozen

MAX_EXPRESSION_LENGTH = 1000

MAX_DEPTH = 32
"""How deeply expression nodes may nest (``not not … x``, ``(((a + b) + c) …)``)."""

MAX_SEQUENCE_LENGTH = 10_000
"""The longest text or list that ``+`` may build."""

MAX_NUMBER = 2**63
"""The largest magnitude an arithmetic result may have."""

Scope = Mapping[str, object]

Run = Callable[[Scope], object]

Step = Union[str, int]
"""One step of a path: a mapping key (``.name``, ``['name']``) or a list index (``[0]``)."""

CONSTANT_NAMES: dict[str, object] = {"true": True, "false": False, "null": None}

NOW = "now"
"""The name of the event's time in expressions: the runtime passes it in the scope, so a replay
evaluates exactly what the event did (never the wall clock)."""

MAX_DAYS_APART = 3660
"""The furthest apart (ten years, as for time limits) two dates may be for ``working_days_between``."""


@frozen
class ExpressionCalendar:
    """What date functions need of the business calendar: its time zone (a date-time's day is its
    day there) and which days are working days."""

    zone: datetime.tzinfo
    is_working_day: Callable[[datetime.date], bool]


WEEKDAYS_UTC = ExpressionCalendar(datetime.UTC, lambda day: day.weekday() < 5)

SHOWN_SOURCE = 60


def kind_of(value: object) -> str:
    """How a value is described to process owners (never the value itself: it may be huge)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, datetime.datetime):
        return "a date-time"
    if isinstance(value, datetime.date):
        return "a date"
    return f"a value of type {type(value).__name__}"


def is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def to_json(value: object) -> object:
    """A value an expression computed, as it is kept in JSON data: dates become their ISO text."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list):
        return [to_json(item) for item in value]
    return value
