"""What an end user may send: the limits on payloads, start data, actor names and event times.

Everything a person or a program hands the runtime passes here before any rule looks at it and
before any store sees it, so the stores all accept and refuse the same things, and every record
they keep can be written out as JSON and read back. A refusal says where the bad part is
(``payload.items[3].name``), what is wrong and what to send instead.

* JSON data (a payload, the data an instance starts with, a value a ``set`` computes): objects with
  text keys, lists, text, finite numbers, true, false and null; nested at most ``MAX_DEPTH`` levels;
  at most ``MAX_ITEMS`` values and ``MAX_CHARACTERS`` characters of text (keys included) in all;
  numbers at most ``MAX_NUMBER`` in magnitude (the bound arithmetic in expressions keeps); text that
  is valid Unicode (no lone surrogates, which is how bytes that are not UTF-8 arrive) with no NUL.
* Names (an actor's id, the roles they hold): ``check_name``.
* Event times: aware, from ``EARLIEST_TIME`` to before ``LATEST_TIME``, so that every deadline
  counted from them (time limits end at most ten years on) is a time every store can hold.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

from engine.errors import InvalidActor, InvalidData, InvalidPayload, InvalidTime, ProcflowError
from engine.expressions import MAX_NUMBER
from engine.quick_checks import ObjectShape

MAX_DEPTH = 64
"""How deeply objects and lists may nest inside one value (the value itself is level 0)."""
MAX_ITEMS = 100_000
"""How many values (objects, lists, texts, numbers, true/false/null) one value may hold in all."""
MAX_CHARACTERS = 1_000_000
"""How many characters of text (keys and texts together) one value may hold in all."""
MAX_NAME_LENGTH = 200
"""The longest actor id or role name, in characters."""
EARLIEST_TIME = datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC)
LATEST_TIME = datetime.datetime(9000, 1, 1, tzinfo=datetime.UTC)
"""Events are recorded at times from ``EARLIEST_TIME`` up to, not including, ``LATEST_TIME``."""

Refusal = Callable[[str], ProcflowError]
"""How a caller wants a value refused: ``InvalidPayload``, ``InvalidData``, ``InstanceFormatError``…"""

_SURROGATE = re.compile("[\ud800-\udfff]")
_find_surrogate = _SURROGATE.search
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_BREAKS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def json_copy(value: Any, where: str, refuse: Refusal = InvalidPayload, *, sized: bool = True) -> Any:
    """A private copy of JSON data within the limits above (so a caller's later changes cannot reach
    the record); ``refuse`` gets the message naming where ``value`` breaks them.

    ``sized=False`` leaves out the limits on values and characters in all, keeping those that make a
    value one that can be written as JSON and read back: for an instance's data as a whole, which
    grows event by event from checked parts."""
    if type(value) is dict and not value:
        return {}  # most events carry no payload
    budget = _Budget()
    budget.items, budget.characters = (MAX_ITEMS - 1, MAX_CHARACTERS) if sized else (sys.maxsize - 1, sys.maxsize)
    try:
        if type(value) is dict:  # what _copy does with an object at the top, without the call
            budget.items -= len(value)
            copied = _copy_object(value, 0, budget)
        else:
            copied = _copy(value, 0, budget)
    except _Bad as bad:
        raise _refusal(refuse, where + _path(bad.steps[::-1]) + bad.reason) from None
    _within_budget(budget, where, refuse)
    return copied


def _within_budget(budget: _Budget, where: str, refuse: Refusal) -> None:
    """Refuse a value whose walk used more than the values or the characters of text allowed in all."""
    if budget.items < 0:
        raise _refusal(refuse, f"{where} holds more than {MAX_ITEMS:,} values in all; send less")
    if budget.characters < 0:
        raise _refusal(refuse, f"{where} holds more than {MAX_CHARACTERS:,} characters of text in all; send less")


def kept_as_is(text: str) -> bool:
    """Whether ``json_copy`` keeps this text as it is (valid Unicode, no NUL), its limit on characters
    aside: for a caller that checks one text where a walk would be all the work."""
    return (text.isascii() and "\x00" not in text) or _valid_text(text)


def json_object(value: Any, where: str, refuse: Refusal = InvalidPayload) -> dict[str, Any]:
    """``json_copy`` of a value that must be an object (a payload, the data an instance starts with)."""
    if type(value) is not dict and not isinstance(value, Mapping):  # a dict first: no ABC check
        raise _refusal(
            refuse, f"the {where} must be an object (a mapping of names to values), got {type(value).__name__}"
        )
    copied = json_copy(value, where, refuse)
    assert isinstance(copied, dict)
    return copied


def json_object_fitting(value: Any, where: str, refuse: Refusal, shape: ObjectShape) -> tuple[dict[str, Any], bool]:
    """``json_object``, and whether the copy surely fits ``shape`` (what its quick check would say of the
    copy), found in the same walk: False means "ask the schema's check"."""
    if type(value) is not dict:
        return json_object(value, where, refuse), False  # another mapping: rare, the check decides
    if not value:
        return {}, not shape.required
    budget = _Budget()
    budget.items, budget.characters = MAX_ITEMS - 1 - len(value), MAX_CHARACTERS
    try:
        copied = _copy_object(value, 0, budget, shape)
    except _Bad as bad:
        raise _refusal(refuse, where + _path(bad.steps[::-1]) + bad.reason) from None
    if budget.items < 0 or budget.characters < 0:
        _within_budget(budget, where, refuse)  # refuses
    return copied, budget.fits


def read_json(text: str, where: str, refuse: Refusal = InvalidPayload) -> Any:
    """JSON text as ``json_copy`` checks it. Text that is not JSON at all raises ``json.JSONDecodeError``
    (a ``ValueError``) for the caller to report; JSON beyond the limits is refused with ``refuse``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise _refusal(refuse, f"{where} is nested more than {MAX_DEPTH} levels deep; send flatter data") from None
    except ValueError:  # an integer of more digits than Python converts (4,300)
        raise _refusal(refuse, f"{where} holds a number too large to keep; {_NUMBER_RULE}") from None
    return json_copy(value, where, refuse)


def check_name(value: Any, where: str, refuse: Refusal = InvalidActor) -> str:
    """An actor id or role name: text of 1 to ``MAX_NAME_LENGTH`` characters, not only spaces, with no
    control characters (U+0000–U+001F, U+007F–U+009F) and no lone surrogates."""
    if type(value) is str and 0 < len(value) <= MAX_NAME_LENGTH and value.isascii() and value.isprintable():
        if value.strip():  # the common case: plain ASCII, checked by three calls
            return value
    wrong = _text_problem(value, where, MAX_NAME_LENGTH, refuse, _CONTROL)
    if wrong is None:
        return str(value)
    raise _refusal(
        refuse,
        f"{where} {wrong}; a name is 1 to {MAX_NAME_LENGTH} characters of printable text, valid Unicode",
    )


def _text_problem(value: Any, where: str, limit: int, refuse: Refusal, control: re.Pattern[str]) -> str | None:
    """What is wrong with a short text a person gave (empty, too long, not valid Unicode, a control
    character ``control`` finds), or ``None``; ``refuse`` is raised for a value that is not text."""
    if not isinstance(value, str):
        raise _refusal(refuse, f"{where} must be text, got {type(value).__name__}")
    if not value.strip():
        return "is empty"
    if len(value) > limit:
        return f"is {len(value):,} characters long"
    if not value.isascii() and (found := _SURROGATE.search(value)) is not None:
        return _surrogate(found.group())
    if (found := control.search(value)) is not None:
        return f"holds the control character U+{ord(found.group()):04X}"
    return None


def check_note(value: Any, where: str, limit: int, refuse: Refusal = InvalidPayload) -> str:
    """A person's note kept in a record (a reason): text of 1 to ``limit`` characters, not only spaces,
    valid Unicode, with no control characters but line breaks and tabs."""
    wrong = _text_problem(value, where, limit, refuse, _CONTROL_BUT_BREAKS)
    if wrong is None:
        return str(value)
    raise _refusal(refuse, f"{where} {wrong}; write 1 to {limit:,} characters of text")


def check_time(moment: Any, where: str = "the time") -> datetime.datetime:
    """An event's time: an aware ``datetime`` from ``EARLIEST_TIME`` to before ``LATEST_TIME``."""
    aware = check_aware(moment)
    # A local year strictly between the bounds' years is inside them whatever the offset: compared
    # first, since comparing aware times asks both for their offsets.
    if not EARLIEST_TIME.year < aware.year < LATEST_TIME.year and not EARLIEST_TIME <= aware < LATEST_TIME:
        raise InvalidTime(
            f"{where} {aware.isoformat()} is outside the times procflow records: from "
            f"{EARLIEST_TIME:%Y-%m-%d} to before {LATEST_TIME:%Y-%m-%d} (UTC)"
        )
    return aware


def event_time(moment: Any) -> datetime.datetime:
    """``check_time`` of an event's time; a UTC time of a year well inside the bounds, which it would
    pass, passes at once (every event asks)."""
    if type(moment) is _DATETIME and moment.tzinfo is _UTC and _FIRST_YEAR < moment.year < _LAST_YEAR:
        inside: datetime.datetime = moment
        return inside
    return check_time(moment, "the event's time")


def check_aware(moment: Any) -> datetime.datetime:
    """A time that says its UTC offset: any aware ``datetime``."""
    if not isinstance(moment, datetime.datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidTime(f"times must carry their UTC offset (an aware datetime), got {moment!r}")
    aware: datetime.datetime = moment
    return aware


_DATETIME, _UTC = datetime.datetime, datetime.UTC
_FIRST_YEAR, _LAST_YEAR = EARLIEST_TIME.year, LATEST_TIME.year


# --- the walk ------------------------------------------------------------------------------------

_NUMBER_RULE = f"numbers are at most {MAX_NUMBER:,} in magnitude; send larger ones as text"


class _Budget:
    """What is left of the limits on values and characters in all, as a walk spends them (made with no
    ``__init__``: a call fewer per copy); and whether the object copied fits the shape it was given."""

    __slots__ = ("items", "characters", "fits")
    items: int
    characters: int
    fits: bool


class _Bad(Exception):
    """Where (the steps from the inside out) and what is wrong; the path is written on the way out."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
        self.steps: list[str] = []


def _copy(value: Any, depth: int, budget: _Budget) -> Any:
    """A copy of one value (counted by whoever holds it); objects and lists copy their own scalars
    inline, since calling this for each of them would double the cost of the common cases."""
    kind = type(value)
    if kind is str:
        if not (value.isascii() and "\x00" not in value) and not _valid_text(value):
            _check_text(value)
        budget.characters -= len(value)
        return value
    if kind is bool or value is None:
        return value
    if kind is int:
        if not -MAX_NUMBER <= value <= MAX_NUMBER:
            raise _Bad(f" is a number too large to keep; {_NUMBER_RULE}")
        return value
    # Exact dicts and lists first: the Mapping ABC's check costs more than the copy of a small value.
    mapping = kind is dict or (kind is not list and isinstance(value, Mapping))
    if mapping or kind is list or isinstance(value, (list, tuple)):
        if depth >= MAX_DEPTH:
            raise _Bad(f" is nested more than {MAX_DEPTH} levels deep; send flatter data")
        if budget.items < 0 or budget.characters < 0:
            return None  # over the budget: json_copy refuses it, and there is no need to copy the rest
        budget.items -= len(value)
        if mapping:
            return _copy_object(value, depth, budget)
        return _copy_list(value, depth, budget)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Bad(f": {value} is not a JSON number")
        if abs(value) > MAX_NUMBER:
            raise _Bad(f" is a number too large to keep; {_NUMBER_RULE}")
        return float(value)
    if isinstance(value, str):
        return _copy(str(value), depth, budget)
    if isinstance(value, int):  # an int subclass (an IntEnum member) is stored as the number
        return _copy(int(value), depth, budget)
    raise _Bad(f": {type(value).__name__} values cannot be stored (only JSON data can)")


def _copy_object(
    value: Mapping[Any, Any], depth: int, budget: _Budget, shape: ObjectShape | None = None
) -> dict[str, Any]:
    """A copy of an object; with a ``shape``, each field copied is also tested against it on the way, and
    ``budget.fits`` says whether the copy fits it (as ``shape``'s quick check would say)."""
    copied = {}
    characters = 0
    named = shape.named if shape is not None else None
    required = 0
    for key, inner in value.items():
        if type(key) is not str:
            if not isinstance(key, str):
                raise _Bad(f": the key {key!r} is not text")
            key = str(key)
        try:
            if not (key.isascii() and "\x00" not in key) and not _valid_text(key):
                _check_text(key)
            characters += len(key)
            kind = type(inner)
            if kind is str and inner.isascii() and "\x00" not in inner:
                characters += len(inner)
            elif kind is str:  # other text inline too, counted at once as _copy counts it
                if not inner.isprintable() and not _valid_text(inner):  # _clean's first test, without its call
                    _check_text(inner)  # says what is wrong
                budget.characters -= len(inner)
            elif not (kind is bool or inner is None or (kind is int and -MAX_NUMBER <= inner <= MAX_NUMBER)):
                inner = _copy(inner, depth + 1, budget)
                kind = type(inner)
            copied[key] = inner
        except _Bad as bad:
            bad.steps.append(_key_step(key))
            raise
        if named is not None:  # the field as the shape's quick check tests it, on the copy
            field = named.get(key)
            if field is not None:
                allowed, each, needed = field
                if allowed is not None:
                    if kind not in allowed:
                        named = None
                elif each is not None:
                    try:
                        fits = each(inner)
                    except RecursionError:  # too deep for the quick check: jsonschema decides
                        fits = False
                    if not fits:
                        named = None
                if needed:
                    required += 1
    budget.characters -= characters
    if shape is not None:  # each key once: every required name was met when as many were counted
        budget.fits = named is not None and required == len(shape.required)
    return copied


def _copy_list(value: list[Any] | tuple[Any, ...], depth: int, budget: _Budget) -> list[Any]:
    copied = []
    for index, inner in enumerate(value):
        kind = type(inner)
        if kind is bool or inner is None or (kind is int and -MAX_NUMBER <= inner <= MAX_NUMBER):
            copied.append(inner)
            continue
        try:
            if kind is dict and depth + 1 < MAX_DEPTH and budget.items >= 0 and budget.characters >= 0:
                budget.items -= len(inner)  # what _copy does with an object in a list, without its call
                copied.append(_copy_object(inner, depth + 1, budget))
            else:
                copied.append(_copy(inner, depth + 1, budget))
        except _Bad as bad:
            bad.steps.append(f"[{index}]")
            raise
    return copied


def _valid_text(text: str) -> bool:
    """Whether text holds no lone surrogate and no NUL: printable text surely holds neither (both are
    characters Unicode calls "Other"), asked first since it is a cheaper test than the pattern's search."""
    return text.isprintable() or (_find_surrogate(text) is None and "\x00" not in text)


def _check_text(text: str) -> None:
    found = _SURROGATE.search(text)
    if found is not None:
        raise _Bad(" " + _surrogate(found.group()))
    if "\x00" in text:
        raise _Bad(" holds a NUL character (U+0000), which no store keeps in text; leave it out")


def _surrogate(character: str) -> str:
    return (
        f"holds U+{ord(character):04X}, a lone surrogate, which is not valid Unicode (bytes that are not "
        "UTF-8 arrive this way); send the text encoded as UTF-8"
    )


def _path(steps: list[str]) -> str:
    """The steps from the outside in; a long path keeps its first and last steps."""
    if len(steps) <= 10:
        return "".join(steps)
    return "".join(steps[:6]) + f"…({len(steps) - 8} levels)…" + "".join(steps[-2:])


def _key_step(key: str) -> str:
    if key.isidentifier() and key.isascii():
        return f".{key}"
    shown = json.dumps(key if len(key) <= 40 else key[:40] + "…")  # ASCII escapes: safe to print
    return f"[{shown}]"


def _refusal(refuse: Refusal, message: str) -> ProcflowError:
    if refuse is InvalidPayload or refuse is InvalidData:
        return refuse(message, problems=(message,))
    return refuse(message)
