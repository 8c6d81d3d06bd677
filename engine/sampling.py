"""Values for a definition's JSON Schema fragments, chosen at random across everything they allow.

``Sampler.value`` draws one candidate: ``$ref``s are followed, ``allOf`` parts merged, one of the
``anyOf``/``oneOf`` alternatives and one side of an ``if`` taken; numbers come from the whole range
the bounds allow (its ends, exclusive ends just inside, values near the minimum, every order of
magnitude, and the numbers the definition's conditions compare with), on the ``multipleOf`` lattice;
texts fit their lengths and formats (dates, times, e-mail addresses, URIs, …), or are the texts the
conditions compare with, or the schema's ``examples``. A candidate may still miss (a ``pattern``, a
``not``, two ``oneOf`` alternatives that overlap): the caller checks it with the real validator and
draws again.
"""

from __future__ import annotations

import datetime
import math
import random
import string
import uuid
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from engine.pointers import is_local, resolve

MAX_DEPTH = 12
LONGEST = 100_000
"""The most characters, items or properties a sample has, whatever the schema asks: past it the
caller's check refuses the sample and says which field could not be filled."""
_COMBINERS = frozenset({"$ref", "allOf", "anyOf", "oneOf", "if", "then", "else"})
_LOWER = {"minimum": False, "exclusiveMinimum": True}
_UPPER = {"maximum": False, "exclusiveMaximum": True}
_LARGER_WINS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_SMALLER_WINS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_ALL_OF_BOTH = ("items", "additionalProperties", "propertyNames", "contains")
_DAY = datetime.date(2026, 1, 5)


class Sampler:
    """Random values for the fragments of one definition (``document``, for its ``$ref``s)."""

    def __init__(self, document: Mapping[str, Any], rng: random.Random, hints: Iterable[object] = ()):
        self.document = document
        self.rng = rng
        values = list(hints)
        self.numbers = sorted({Fraction(repr(v)) + d for v in values if _is_number(v) for d in (-1, 0, 1)})
        """The numbers the definition's conditions compare with, and one either side."""
        self.texts = sorted({v for v in values if isinstance(v, str)})

    def value(self, schema: Any, optional: float = 0.5) -> Any:
        """One candidate for ``schema``; each optional property is present with chance ``optional``."""
        return self._value(schema, 0, optional)

    # --- one schema, merged ----------------------------------------------------------------------

    def flatten(self, schema: Any, depth: int = 0) -> dict[str, Any] | None:
        """``schema`` as one plain schema with its references, parts and one chosen alternative merged
        in; ``None`` when it allows nothing (``false``)."""
        if schema is False:
            return None
        if not isinstance(schema, Mapping) or depth > MAX_DEPTH:
            return {}
        parts: list[Any] = [{k: v for k, v in schema.items() if k not in _COMBINERS}]
        ref = schema.get("$ref")
        if isinstance(ref, str) and is_local(ref):  # the definition loaded: its references resolve
            parts.append(resolve(self.document, ref))
        parts.extend(_as_list(schema.get("allOf")))
        for key in ("anyOf", "oneOf"):
            alternatives = _as_list(schema.get(key))
            if alternatives:
                parts.append(self.rng.choice(alternatives))
        if "if" in schema:
            if self.rng.random() < 0.5:
                parts += [schema["if"], schema.get("then", True)]
            else:
                parts.append(schema.get("else", True))
        merged: dict[str, Any] = {}
        for part in parts:
            flat = part if part is parts[0] else self.flatten(part, depth + 1)
            if flat is None:
                return None
            merged = _merge(merged, flat)
        return merged

    def _value(self, schema: Any, depth: int, optional: float) -> Any:
        flat = self.flatten(schema, depth)
        if flat is None or depth > MAX_DEPTH:
            return None
        if "const" in flat:
            return flat["const"]
        examples = [*_as_list(flat.get("examples")), *([flat["default"]] if "default" in flat else [])]
        if examples and self.rng.random() < 0.3:
            return self.rng.choice(examples)
        kind = self._kind(flat)
        if "enum" in flat:
            fitting = [v for v in _as_list(flat["enum"]) if kind is None or _has_type(v, kind)]
            return self.rng.choice(fitting or _as_list(flat["enum"]) or [None])
        if kind == "object":
            return self._object(flat, depth, optional)
        if kind == "array":
            return self._array(flat, depth, optional)
        if kind in ("integer", "number"):
            return self.number(flat, kind == "integer")
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        return self.text(flat)

    def _kind(self, flat: Mapping[str, Any]) -> str | None:
        kinds = _as_list(flat.get("type"))
        if kinds:
            return str(self.rng.choice(kinds))
        if "enum" in flat:
            return None
        if {"properties", "required", "additionalProperties", "minProperties"} & flat.keys():
            return "object"
        if {"items", "prefixItems", "minItems", "maxItems"} & flat.keys():
            return "array"
        if {"multipleOf", *_LOWER, *_UPPER} & flat.keys():
            return "number"
        if {"minLength", "maxLength", "pattern", "format"} & flat.keys():
            return "string"
        return self.rng.choice(["string", "string", "number", "boolean"])

    # --- objects and lists -----------------------------------------------------------------------

    def _object(self, flat: Mapping[str, Any], depth: int, optional: float) -> dict[str, Any]:
        properties = _as_mapping(flat.get("properties"))
        required = [n for n in _as_list(flat.get("required")) if isinstance(n, str)]
        extra = flat.get("additionalProperties", True)
        names = [n for n in dict.fromkeys([*properties, *required]) if n in required or self.rng.random() < optional]
        low = min(_count(flat.get("minProperties"), 0), LONGEST)
        number = 1
        while len(names) < low and extra is not False:
            names.append(f"extra_{number}")
            number += 1
        high = _count(flat.get("maxProperties"), len(names))
        names = [n for n in names if n in required] + [n for n in names if n not in required]
        return {n: self._value(properties.get(n, extra), depth + 1, optional) for n in names[: max(high, 0)]}

    def _array(self, flat: Mapping[str, Any], depth: int, optional: float) -> list[Any]:
        prefix = _as_list(flat.get("prefixItems"))
        low = min(_count(flat.get("minItems"), 0), LONGEST)
        high = _count(flat.get("maxItems"), max(low, len(prefix)) + 3)
        count = self.rng.randint(min(low, high), max(min(high, low + 3), min(low, high)))
        items: list[Any] = []
        for index in range(count):
            schema = prefix[index] if index < len(prefix) else flat.get("items", {})
            item = self._value(schema, depth + 1, optional)
            for _ in range(4 if flat.get("uniqueItems") is True else 0):
                if item not in items:
                    break
                item = self._value(schema, depth + 1, optional)
            items.append(item)
        return items

    # --- numbers ---------------------------------------------------------------------------------

    def number(self, flat: Mapping[str, Any], integer: bool) -> int | float:
        """A number the bounds and ``multipleOf`` allow, from anywhere in the range."""
        low, low_open = _bound(flat, _LOWER, max)
        high, high_open = _bound(flat, _UPPER, min)
        step = _step(flat.get("multipleOf"), integer)
        if step is None:  # any real number in the range
            whole = self._lattice(low, high, low_open, high_open, Fraction(1))
            value = float(whole)
            if self.rng.random() < 0.3:
                value += self.rng.choice([0.5, 0.25, 0.01, self.rng.random()])
            return _inside(value, low, high, low_open, high_open)
        multiple = self._lattice(low, high, low_open, high_open, step)
        if integer or multiple.denominator == 1 and abs(multiple) > 2**53:
            return int(multiple) if multiple.denominator == 1 else float(multiple)
        return float(multiple)

    def _lattice(
        self, low: Fraction | None, high: Fraction | None, low_open: bool, high_open: bool, step: Fraction
    ) -> Fraction:
        """A multiple of ``step`` inside the bounds (or the nearest one, when none lies inside)."""
        first = (
            None if low is None else math.ceil(low / step) + (1 if low_open and (low / step).denominator == 1 else 0)
        )
        last = (
            None
            if high is None
            else math.floor(high / step) - (1 if high_open and (high / step).denominator == 1 else 0)
        )
        if first is not None and last is not None and first > last:
            return first * step  # nothing fits: the caller's check says so
        hints = [h / step for h in self.numbers]
        return self._whole(first, last, [round(h) for h in hints]) * step

    def _whole(self, first: int | None, last: int | None, hints: Sequence[int]) -> int:
        """A whole number from ``first`` to ``last`` (either may be open-ended)."""
        if first is None and last is None:
            first, last = (0, 1000) if self.rng.random() < 0.6 else (-(10**9), 10**9)
        elif first is None:
            assert last is not None
            first = last - 10 ** self.rng.randint(0, 12)
        elif last is None:
            last = first + 10 ** self.rng.randint(0, 12)
        assert first is not None and last is not None
        span = last - first
        roll = self.rng.random()
        inside = [h for h in hints if first <= h <= last]
        if roll < 0.15:
            return self.rng.choice([first, last])  # the ends of the range
        if roll < 0.35 and inside:
            return self.rng.choice(inside)  # what the conditions compare with
        if roll < 0.55:
            return self.rng.randint(first, min(last, first + 3))  # near the minimum
        if roll < 0.8 and span > 10:
            offset = min(span, int(10 ** self.rng.uniform(0, math.log10(span + 1))))  # every magnitude
            return first + offset if self.rng.random() < 0.5 else last - offset
        return self.rng.randint(first, last)

    # --- texts -----------------------------------------------------------------------------------

    def text(self, flat: Mapping[str, Any]) -> str:
        low = min(_count(flat.get("minLength"), 0), LONGEST)
        high = min(_count(flat.get("maxLength"), max(low, 12) + 8), LONGEST)
        form = flat.get("format")
        if isinstance(form, str) and form in _FORMATS:
            return str(_FORMATS[form](self.rng))
        fitting = [t for t in self.texts if low <= len(t) <= high]
        if fitting and self.rng.random() < 0.4:
            return self.rng.choice(fitting)
        letters = "".join(self.rng.choice(string.ascii_lowercase) for _ in range(self.rng.randint(3, 8)))
        text = f"{letters} {self.rng.randint(0, 999)}"
        if self.rng.random() < 0.15:
            text = self.rng.choice(["x" * low, "x" * high])  # the shortest and longest allowed
        return text.ljust(low, "x")[:high]


def _format_samples() -> dict[str, Any]:
    def date(rng: random.Random) -> datetime.date:
        # Often a few days either side of the walks' start, so that a condition between a sampled date
        # and the event's time ("within three days of purchase") holds on some walks; else far off.
        spread = 7 if rng.random() < 0.4 else 400
        return _DAY + datetime.timedelta(days=rng.randint(-spread, spread))

    def moment(rng: random.Random) -> datetime.datetime:
        at = datetime.datetime.combine(date(rng), datetime.time(rng.randint(0, 23), rng.randint(0, 59)))
        return at.replace(tzinfo=datetime.UTC)

    return {
        "date": lambda rng: date(rng).isoformat(),
        "date-time": lambda rng: moment(rng).isoformat(),
        "time": lambda rng: moment(rng).time().isoformat() + "Z",
        "duration": lambda rng: f"P{rng.randint(1, 30)}D",
        "email": lambda rng: f"user{rng.randint(1, 99)}@example.com",
        "idn-email": lambda rng: f"user{rng.randint(1, 99)}@example.com",
        "hostname": lambda rng: f"host{rng.randint(1, 99)}.example.com",
        "idn-hostname": lambda rng: f"host{rng.randint(1, 99)}.example.com",
        "ipv4": lambda rng: ".".join(str(rng.randint(0, 255)) for _ in range(4)),
        "ipv6": lambda rng: f"2001:db8::{rng.randint(1, 0xFFFF):x}",
        "uri": lambda rng: f"https://example.com/{rng.randint(1, 999)}",
        "iri": lambda rng: f"https://example.com/{rng.randint(1, 999)}",
        "uri-reference": lambda rng: f"/items/{rng.randint(1, 999)}",
        "iri-reference": lambda rng: f"/items/{rng.randint(1, 999)}",
        "uri-template": lambda rng: "https://example.com/{id}",
        "uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "json-pointer": lambda rng: f"/items/{rng.randint(0, 9)}",
        "relative-json-pointer": lambda rng: f"{rng.randint(0, 3)}/name",
        "regex": lambda rng: rng.choice(["^[a-z]+$", "[0-9]{3}", "x|y"]),
    }


_FORMATS = _format_samples()


def _merge(into: dict[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    """Both schemas at once, as far as one plain schema can say it (what it cannot, the check does)."""
    merged = dict(into)
    for key, value in other.items():
        if key not in merged:
            merged[key] = value
        elif key == "type":
            mine, theirs = set(_as_list(merged[key])), set(_as_list(value))
            if "number" in mine and "integer" in theirs or "integer" in mine and "number" in theirs:
                mine |= {"integer"}
                theirs |= {"integer"}
            merged[key] = sorted(mine & theirs) or value
        elif key == "properties":
            properties = dict(_as_mapping(merged[key]))
            for name, sub in _as_mapping(value).items():
                properties[name] = {"allOf": [properties[name], sub]} if name in properties else sub
            merged[key] = properties
        elif key == "required":
            merged[key] = list(dict.fromkeys([*_as_list(merged[key]), *_as_list(value)]))
        elif key == "enum":
            merged[key] = [v for v in _as_list(merged[key]) if v in _as_list(value)]
        elif key in _LARGER_WINS and _is_number(value) and _is_number(merged[key]):
            merged[key] = max(merged[key], value)
        elif key in _SMALLER_WINS and _is_number(value) and _is_number(merged[key]):
            merged[key] = min(merged[key], value)
        elif key in _ALL_OF_BOTH:
            merged[key] = {"allOf": [merged[key], value]}
    return merged


def _bound(flat: Mapping[str, Any], keys: Mapping[str, bool], tighter: Any) -> tuple[Fraction | None, bool]:
    """The tighter of the inclusive and exclusive bound, and whether it is exclusive; infinite bounds
    bound nothing."""
    found = [
        (Fraction(repr(flat[key])) if isinstance(flat[key], float) else Fraction(flat[key]), exclusive)
        for key, exclusive in keys.items()
        if _is_number(flat.get(key)) and math.isfinite(flat[key])
    ]
    if not found:
        return None, False
    best = tighter(value for value, _ in found)
    return best, any(exclusive for value, exclusive in found if value == best)


def _step(multiple: Any, integer: bool) -> Fraction | None:
    if not _is_number(multiple) or not math.isfinite(multiple) or multiple <= 0:
        return Fraction(1) if integer else None
    step = Fraction(repr(multiple)) if isinstance(multiple, float) else Fraction(multiple)
    return Fraction(step.numerator) if integer else step  # the smallest whole multiple of a/b is a


def _inside(value: float, low: Fraction | None, high: Fraction | None, low_open: bool, high_open: bool) -> float:
    if high is not None and (value > high or high_open and value >= high):
        value = float(high) if not high_open else math.nextafter(float(high), -math.inf)
    if low is not None and (value < low or low_open and value <= low):
        value = float(low) if not low_open else math.nextafter(float(low), math.inf)
    return value


def _count(value: Any, default: int) -> int:
    """A length bound (``2.0`` is the whole number 2 to JSON Schema)."""
    if _is_number(value) and math.isfinite(value) and value >= 0:
        return int(value)
    return default


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _has_type(value: object, kind: str) -> bool:
    if kind == "integer":
        return _is_number(value) and float(value).is_integer()  # type: ignore[arg-type]
    if kind == "number":
        return _is_number(value)
    wanted = {"null": type(None), "boolean": bool, "string": str, "array": list, "object": dict}.get(kind)
    return wanted is not None and isinstance(value, wanted) and (kind == "boolean" or not isinstance(value, bool))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
