"""The closures an expression is compiled into: written values, reading a path of the data, ``and``
/ ``or`` / ``if``, arithmetic with its caps, and comparisons (chained, typed, dates included).
Each checks its operands' types when it runs and says what went wrong in words."""

from __future__ import annotations

import ast
import datetime
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from engine.errors import ExpressionEvaluationError
from engine.expressions.values import MAX_NUMBER, MAX_SEQUENCE_LENGTH, Run, Scope, Step, is_number, kind_of


def constant_of(value: object) -> Run:
    return lambda scope: value


def bool_op(is_and: bool, runs: list[Run]) -> Run:
    if len(runs) == 2:  # the common case, without a loop
        first, second = runs
        if is_and:
            return lambda scope: first(scope) and second(scope)
        return lambda scope: first(scope) or second(scope)

    def run(scope: Scope) -> object:
        value: object = None
        for operand in runs:
            value = operand(scope)
            if bool(value) is not is_and:  # `and` stops at a falsy operand, `or` at a truthy one
                return value
        return value

    return run


def if_of(test: Run, body: Run, orelse: Run) -> Run:
    return lambda scope: body(scope) if test(scope) else orelse(scope)


def reader_of(root: str, steps: list[Step], offset: int) -> Run:
    def run(scope: Scope) -> object:
        try:
            value = scope[root]
        except KeyError:
            raise ExpressionEvaluationError(f"`{root}` is not available here", offset) from None
        for i, step in enumerate(steps):
            if type(value) is dict and type(step) is str:  # the usual case, fast
                value = value.get(step)
            else:
                value = _step(value, step, root, steps[:i], offset)
        return value

    return run


def _step(value: object, step: Step, root: str, before: list[Step], offset: int) -> object:
    if isinstance(value, Mapping):
        return value.get(step)
    if isinstance(step, int) and isinstance(value, (list, tuple)):
        return value[step] if -len(value) <= step < len(value) else None
    where = path_text(root, before)
    what = "a mapping" if isinstance(step, str) else "a list or a mapping"
    found = "has no value (null)" if value is None else f"is {kind_of(value)}, not {what}"
    raise ExpressionEvaluationError(
        f"`{where}` {found}, so `{path_text(root, [*before, step])}` cannot be read", offset
    )


def path_text(root: str, steps: list[Step]) -> str:
    text = root
    for step in steps:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if step.isidentifier() else f"[{step!r}]"
    return text


def _check_number(value: float, where: str, offset: int) -> float:
    if abs(value) > MAX_NUMBER:
        raise ExpressionEvaluationError(f"the result of `{where}` is too large", offset)
    return value


def negate_of(operand: Run, negate: bool, where: str, offset: int) -> Run:
    def run(scope: Scope) -> object:
        value = operand(scope)
        if not is_number(value):
            raise ExpressionEvaluationError(f"`{where}` needs a number, not {kind_of(value)}", offset)
        return -value if negate else value

    return run


_Arithmetic = Callable[[float, float], float]

ARITHMETIC: dict[type[ast.operator], tuple[str, _Arithmetic]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.Mod: ("%", operator.mod),
    ast.FloorDiv: ("//", operator.floordiv),
}


def arithmetic_of(symbol: str, function: _Arithmetic, left: Run, right: Run, where: str, offset: int) -> Run:
    divides = symbol in ("/", "%", "//")

    def run(scope: Scope) -> object:
        a = left(scope)
        b = right(scope)
        if is_number(a) and is_number(b):
            if divides and b == 0:
                raise ExpressionEvaluationError(f"division by zero in `{where}`", offset)
            try:
                return _check_number(function(a, b), where, offset)
            except OverflowError:
                raise ExpressionEvaluationError(f"the result of `{where}` is too large", offset) from None
        if symbol == "+":
            return _join(a, b, where, offset)
        raise ExpressionEvaluationError(
            f"`{symbol}` works on numbers only, not {kind_of(a)} and {kind_of(b)}, in `{where}`", offset
        )

    return run


def _join(a: object, b: object, where: str, offset: int) -> object:
    if isinstance(a, str) and isinstance(b, str):
        _check_length(len(a) + len(b), where, offset)
        return a + b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        _check_length(len(a) + len(b), where, offset)
        return [*a, *b]
    raise ExpressionEvaluationError(
        f"`+` adds two numbers or joins two texts or two lists, not {kind_of(a)} and {kind_of(b)}, in `{where}`", offset
    )


def _check_length(length: int, where: str, offset: int) -> None:
    if length > MAX_SEQUENCE_LENGTH:
        raise ExpressionEvaluationError(
            f"the result of `{where}` would be longer than {MAX_SEQUENCE_LENGTH:,} characters or items", offset
        )


Test = Callable[[object, object], bool]
"""One comparison of a (possibly chained) ``Compare``, checking its operands' types."""

ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

_ORDER_FAMILY: dict[type, str] = {
    int: "number",
    float: "number",
    str: "text",
    datetime.date: "date",
    datetime.datetime: "date-time",
}


def comparison_test(symbol: str, where: str, offset: int, zone: datetime.tzinfo = datetime.UTC) -> Test:
    if symbol in ("==", "!="):
        equal = symbol == "=="

        def same(a: object, b: object) -> bool:
            if isinstance(a, datetime.date) or isinstance(b, datetime.date):
                pair = as_dates(a, b, zone)
                if pair is not None:
                    a, b = pair
            return (a == b) is equal

        return same
    if symbol in ORDER:
        return _ordering(symbol, where, offset, zone)
    return _membership(symbol == "in", where, offset)


def _ordering(symbol: str, where: str, offset: int, zone: datetime.tzinfo = datetime.UTC) -> Test:
    compare = ORDER[symbol]

    def test(a: object, b: object) -> bool:
        family = _ORDER_FAMILY.get(type(a))
        if family is not None and family == _ORDER_FAMILY.get(type(b)):  # the usual case, fast
            return compare(a, b)
        if (is_number(a) and is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
            return compare(a, b)
        if isinstance(a, datetime.date) or isinstance(b, datetime.date):
            pair = as_dates(a, b, zone)
            if pair is not None:
                return compare(*pair)
        both = (
            "two numbers, two texts or two dates"
            if isinstance(a, datetime.date) or isinstance(b, datetime.date)
            else "two numbers or two texts"
        )
        raise ExpressionEvaluationError(
            f"`{symbol}` compares {both}, not {kind_of(a)} and {kind_of(b)}, in `{where}`", offset
        )

    return test


def _membership(positive: bool, where: str, offset: int) -> Test:
    symbol = "in" if positive else "not in"

    def test(a: object, b: object) -> bool:
        if isinstance(b, str):
            if not isinstance(a, str):
                raise ExpressionEvaluationError(
                    f"only text can be looked for in text, not {kind_of(a)}, in `{where}`", offset
                )
            found = a in b
        elif isinstance(b, (list, tuple)):
            found = a in b
        elif isinstance(b, Mapping):
            try:
                found = a in b
            except TypeError:  # unhashable, e.g. a list
                raise ExpressionEvaluationError(
                    f"{kind_of(a)} cannot be a key of a mapping, in `{where}`", offset
                ) from None
        else:
            raise ExpressionEvaluationError(
                f"`{symbol}` needs a list, a text or a mapping on its right, not {kind_of(b)}, in `{where}`", offset
            )
        return found is positive

    return test


COMPARISONS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}


def comparison_of(runs: list[Run], tests: list[Test]) -> Run:
    if len(tests) == 1:  # the common case, without a loop
        (left, right), test = runs, tests[0]
        return lambda scope: test(left(scope), right(scope))

    def run(scope: Scope) -> object:
        a = runs[0](scope)
        for test, operand in zip(tests, runs[1:], strict=True):
            b = operand(scope)
            if not test(a, b):
                return False
            a = b
        return True

    return run


FUNCTIONS: dict[str, tuple[int, int, str]] = {
    "len": (1, 1, "`len(data.parts)`"),
    "date": (1, 1, "`date('2026-12-01')`"),
    "days_between": (2, 2, "`days_between(data.received_on, now)`"),
    "working_days_between": (2, 2, "`working_days_between(data.received_on, now)`"),
    "any": (1, 3, "`any(data.parts)`, `any(data.parts, 'ok')` or `any(data.parts, 'status', 'open')`"),
    "all": (1, 3, "`all(data.parts)`, `all(data.parts, 'ok')` or `all(data.parts, 'status', 'done')`"),
    "count": (1, 3, "`count(data.parts)`, `count(data.parts, 'ok')` or `count(data.parts, 'status', 'open')`"),
}
"""Every function an expression may call: its fewest and most arguments, and how to write it."""

_DATE_TEXT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def parse_date(text: str) -> datetime.date | None:
    """The day ``text`` writes as ``YYYY-MM-DD`` (what JSON Schema's ``format: date`` means), or None."""
    if not _DATE_TEXT.match(text):
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def parse_date_time(text: str) -> datetime.datetime | None:
    """The moment ``text`` writes in ISO 8601 with its UTC offset (``format: date-time``), or None."""
    if len(text) < 16 or not _DATE_TEXT.match(text[:10]) or text[10] not in "Tt ":
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def parse_moment(text: str) -> datetime.date | None:
    """A date or a date-time written as text, or None."""
    return parse_date(text) or parse_date_time(text)


def as_dates(a: object, b: object, zone: datetime.tzinfo) -> tuple[Any, Any] | None:
    """Two values made comparable when one is a date: a text in ISO form is read as a date or date-time,
    and a date-time compared with a date is taken as its day on the business calendar."""
    if isinstance(a, str):
        a = parse_moment(a)
    if isinstance(b, str):
        b = parse_moment(b)
    if not (isinstance(a, datetime.date) and isinstance(b, datetime.date)):
        return None
    a_time, b_time = isinstance(a, datetime.datetime), isinstance(b, datetime.datetime)
    if a_time and not b_time:
        a = a.astimezone(zone).date()  # type: ignore[attr-defined]
    elif b_time and not a_time:
        b = b.astimezone(zone).date()  # type: ignore[attr-defined]
    return a, b


def as_day(value: object, zone: datetime.tzinfo, where: str, offset: int) -> datetime.date:
    moment = parse_moment(value) if isinstance(value, str) else value
    if isinstance(moment, datetime.datetime):
        return moment.astimezone(zone).date()
    if isinstance(moment, datetime.date):
        return moment
    raise ExpressionEvaluationError(f"`{where}` needs two dates, not {kind_of(value)}", offset)
