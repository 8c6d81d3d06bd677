"""The functions an expression may call, and no others: ``now``, ``len``, ``date``, ``days_between``,
``working_days_between``, and ``any`` / ``all`` / ``count`` over a list."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping

from engine.errors import ExpressionEvaluationError
from engine.expressions.operations import as_day, comparison_test, parse_date, parse_date_time
from engine.expressions.values import MAX_DAYS_APART, NOW, SHOWN_SOURCE, Run, Scope, kind_of


def now_of(offset: int) -> Run:
    def run(scope: Scope) -> object:
        try:
            return scope[NOW]
        except KeyError:
            raise ExpressionEvaluationError("`now` (the time of the event) is not available here", offset) from None

    return run


def date_reader(reader: Run, where: str, form: str, offset: int) -> Run:
    """Reading a field the schema says holds a date: the text there becomes a date, or a date-time."""
    parse = parse_date if form == "date" else parse_date_time
    written = "a date written YYYY-MM-DD" if form == "date" else "a date-time with its UTC offset"

    def run(scope: Scope) -> object:
        value = reader(scope)
        if value is None or isinstance(value, datetime.date):
            return value
        parsed = parse(value) if isinstance(value, str) else None
        if parsed is None:
            shown = f"the text {value[:SHOWN_SOURCE]!r}" if isinstance(value, str) else kind_of(value)
            raise ExpressionEvaluationError(f"`{where}` should hold {written}, but holds {shown}", offset)
        return parsed

    return run


def length_of(argument: Run, where: str, offset: int) -> Run:
    def run(scope: Scope) -> object:
        value = argument(scope)
        if isinstance(value, (str, list, tuple, Mapping)):
            return len(value)
        raise ExpressionEvaluationError(
            f"`{where}` counts the items of a list, a text or a mapping, not {kind_of(value)}", offset
        )

    return run


def to_date(argument: Run, where: str, offset: int) -> Run:
    def run(scope: Scope) -> object:
        value = argument(scope)
        if isinstance(value, datetime.date):
            return value
        parsed = parse_date(value) if isinstance(value, str) else None
        if parsed is None:
            raise ExpressionEvaluationError(
                f"`{where}` needs a date written 'YYYY-MM-DD', not {kind_of(value)}", offset
            )
        return parsed

    return run


def between(
    first: Run,
    second: Run,
    working: Callable[[datetime.date], bool] | None,
    zone: datetime.tzinfo,
    where: str,
    offset: int,
) -> Run:
    """Days from the first date to the second (negative when the second is earlier); with ``working``,
    the working days after the first up to and including the second."""

    def run(scope: Scope) -> object:
        start = as_day(first(scope), zone, where, offset)
        end = as_day(second(scope), zone, where, offset)
        days = (end - start).days
        if working is None:
            return days
        if abs(days) > MAX_DAYS_APART:
            raise ExpressionEvaluationError(
                f"`{where}`: the dates are more than {MAX_DAYS_APART:,} days (ten years) apart, "
                "too far to count working days",
                offset,
            )
        step = 1 if days >= 0 else -1
        low = start if days >= 0 else end
        counted = sum(1 for n in range(1, abs(days) + 1) if working(low + datetime.timedelta(days=n)))
        return step * counted

    return run


def over_list(
    name: str,
    items: Run,
    field_name: str | None,
    wanted: Run | None,
    zone: datetime.tzinfo,
    where: str,
    offset: int,
) -> Run:
    same = comparison_test("==", where, offset, zone)

    def run(scope: Scope) -> object:
        values = items(scope)
        if not isinstance(values, (list, tuple)):
            raise ExpressionEvaluationError(f"`{where}` goes through a list, not {kind_of(values)}", offset)
        target = wanted(scope) if wanted is not None else None
        found = []
        for index, item in enumerate(values):
            value = item
            if field_name is not None:
                if not isinstance(item, Mapping):
                    raise ExpressionEvaluationError(
                        f"`{where}`: item {index} is {kind_of(item)}, not a mapping with `{field_name}`", offset
                    )
                value = item.get(field_name)
            found.append(same(value, target) if wanted is not None else bool(value))
        if name == "any":
            return any(found)
        if name == "all":
            return all(found)
        return sum(found)

    return run
