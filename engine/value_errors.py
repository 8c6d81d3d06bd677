"""What is wrong with a value a form or the data holds, in the words of the people who fill it in.

jsonschema's messages are written for developers (``'cheap' is not of type 'number'``, Python's
``None``) and change between its versions; payload and data refusals are shown to staff at the
field they filled in, so each keyword's failure is said here, once: ``payload.quote: must be a
number, got text `cheap```.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from jsonschema.exceptions import ValidationError

from engine.patterns import pattern_search
from engine.schema_errors import did_you_mean

_KINDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a set of fields",
    "array": "a list",
    "null": "empty (null)",
}
_BOUNDS = {
    "minimum": "at least",
    "exclusiveMinimum": "more than",
    "maximum": "at most",
    "exclusiveMaximum": "less than",
}

Place = tuple[str | int, ...]


def value_problems(root: str, errors: Sequence[ValidationError]) -> tuple[str, ...]:
    """One line per problem, ``root.field[0]: what is wrong``, in field order, each said once."""
    lines = {(place, message) for error in errors for place, message in _problems(error)}
    return tuple(f"{_place(root, place)}: {message}" for place, message in sorted(lines, key=_order))


def _problems(error: ValidationError) -> Iterator[tuple[Place, str]]:
    path: Place = tuple(error.absolute_path)
    validator, value = error.validator, error.instance
    expected: Any = error.validator_value
    schema = _mapping(error.schema)
    if validator == "required" and isinstance(value, Mapping):
        for name in expected:
            if name not in value:
                yield path + (name,), "is required; fill it in"
    elif validator == "additionalProperties" and isinstance(value, Mapping):
        known = set(_mapping(schema.get("properties")))
        searches = [pattern_search(p) for p in _mapping(schema.get("patternProperties"))]
        for name in value:
            if name not in known and not any(search(str(name)) for search in searches):
                yield path + (name,), "is not a field of this form" + did_you_mean(str(name), sorted(known))
    elif validator == "type":
        kinds = [expected] if isinstance(expected, str) else list(expected)
        yield path, f"must be {' or '.join(_KINDS.get(k, k) for k in kinds)}, got {_show(value)}"
    elif validator == "enum":
        choices = [_literal(choice) for choice in expected]
        yield path, f"must be one of {', '.join(choices)}; got {_show(value)}" + did_you_mean(_literal(value), choices)
    elif validator == "const":
        yield path, f"must be {_literal(expected)}, got {_show(value)}"
    elif validator == "format":
        yield path, f"{_show(value)} is not a valid {expected}" + (" (write YYYY-MM-DD)" if expected == "date" else "")
    elif validator == "pattern":
        yield path, f"{_show(value)} is not in the form this field takes" + _about(schema)
    elif validator in ("minLength", "minItems", "minProperties"):
        yield path, "must not be empty" if expected == 1 else f"needs at least {expected} characters or items"
    elif validator in ("maxLength", "maxItems", "maxProperties"):
        yield path, f"is too long (at most {expected} characters or items)"
    elif validator in _BOUNDS:
        yield path, f"must be {_BOUNDS[str(validator)]} {_literal(expected)}, got {_show(value)}"
    elif validator == "multipleOf":
        yield path, f"must be a multiple of {_literal(expected)}, got {_show(value)}"
    elif validator == "uniqueItems":
        yield path, "lists the same value twice"
    else:  # combinators and rarer keywords: jsonschema's words, with JSON's names for values
        yield path, _json_words(error.message)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"text `{value}`" if len(value) <= 60 else f"text `{value[:57]}…`"
    if isinstance(value, Mapping):
        return "a set of fields"
    if isinstance(value, list):
        return "a list"
    return f"`{_literal(value)}`"


def _literal(value: Any) -> str:
    """A value as JSON writes it: ``null``, ``true``, ``"text"``."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def _about(schema: Mapping[str, Any]) -> str:
    description = schema.get("description")
    return f" ({description})" if isinstance(description, str) and description else ""


def _json_words(message: str) -> str:
    return message.replace("None", "null").replace("True", "true").replace("False", "false")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _place(root: str, path: Place) -> str:
    text = root
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _order(item: tuple[Place, str]) -> tuple[list[str], str]:
    return [str(part) for part in item[0]], item[1]
