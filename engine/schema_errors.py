"""A JSON Schema's errors about a definition, said in a process owner's words, each at its place.

The schema's ``description`` texts double as the hints, so there is one place to word them; what the
schema is and how a document is checked against it is ``engine.schema``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from engine.errors import Problem
from engine.loader import LocatedDocument
from engine.pointers import lookup
from engine.source import DocumentPath

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError


_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping (`key: value` lines)",
    "array": "a list",
    "null": "empty",
}


def is_unknown_key(error: ValidationError) -> bool:
    return error.validator == "additionalProperties" and error.validator_value is False


def is_forbidden_key(error: ValidationError) -> bool:
    return error.validator is None or error.schema is False


def offending_paths(error: ValidationError, data: Any) -> Iterator[DocumentPath]:
    """The keys an unknown-key or forbidden-key error is about."""
    path: DocumentPath = tuple(error.absolute_path)
    if is_unknown_key(error):
        allowed = _as_mapping(error.schema).get("properties", {})
        yield from (path + (key,) for key in _as_mapping(error.instance) if key not in allowed)
    elif is_forbidden_key(error):
        # A false subschema reports the object's path; the key is the one holding the rejected value.
        yield from (path + (key,) for key, value in _as_mapping(lookup(data, path)).items() if value is error.instance)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` — did you mean `x`?`` when a choice is close to ``word``, else an empty string."""
    import difflib  # only for a name that is wrong

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" — did you mean `{close[0]}`?" if close else ""


class ErrorTranslator:
    def __init__(self, document: LocatedDocument, unknown_keys: set[DocumentPath], root: Mapping[str, Any]):
        self.document = document
        self.root = root
        """The process schema: its ``description`` texts word the hints."""
        self.unknown_key_paths = unknown_keys

    def translate(self, error: ValidationError) -> Iterator[Problem]:
        path: DocumentPath = tuple(error.absolute_path)
        where = self.where(path)
        validator = error.validator
        if _under_property_names(error):
            name = str(error.instance)
            yield self.problem(
                path + (name,),
                f"{where}`{name}` is not a valid name: {_description(error.schema, self.root)}",
                "bad-name",
                key=True,
            )
        elif validator == "additionalProperties" and error.validator_value is False:
            yield from self.unknown_keys(error, path, where)
        elif validator is None or error.schema is False:
            yield from self.forbidden_keys(error, path, where)
        elif validator == "required":
            yield from self.missing_keys(error, path, where)
        elif validator in ("anyOf", "oneOf"):
            yield from self.alternatives(error, path, where)
        elif validator == "pattern" and "format" in _as_mapping(error.schema):
            return  # the format error says it better (`2026/10/01` fails both)
        else:
            code, message = self.simple_message(error)
            yield self.problem(path, where + message, code)

    def unknown_keys(self, error: ValidationError, path: DocumentPath, where: str) -> Iterator[Problem]:
        allowed = sorted(_as_mapping(error.schema).get("properties", {}))
        kind = _as_mapping(error.instance).get("type")
        for key in _as_mapping(error.instance):
            if key in allowed:
                continue
            if _is_state(path) and key in _FORBIDDEN_HINTS and isinstance(kind, str):  # another kind's key
                yield self.not_allowed(path + (key,), where, kind)
                continue
            cut = self.value_cut_before(path, key)
            if cut is not None and not (key.isidentifier() and did_you_mean(key, allowed)):
                label, text = cut
                yield self.problem(
                    path + (key,),
                    f"{where}`{key}` was read as a key because the comma before it ended the value of `{label}`: "
                    "inside `{...}` a comma ends a value; to keep the comma in the text, put the text in quotes: "
                    f'{label}: "{text}"',
                    "comma-in-value",
                    key=True,
                )
                continue
            hint = did_you_mean(key, allowed) or (f" — allowed here: {', '.join(allowed)}" if allowed else "")
            yield self.problem(path + (key,), f"{where}unknown key `{key}`{hint}", "unknown-key", key=True)

    def value_cut_before(self, path: DocumentPath, key: str) -> tuple[str, str] | None:
        """``(label, whole text)`` when ``key`` has no value and follows a text on its line, perhaps
        past other keys with no value: what ``{en: Repair, service, station}`` gives, a flow
        mapping whose value the commas cut apart."""
        mapping = _as_mapping(self.value_at(path))
        names = list(mapping)
        if key not in names or mapping[key] is not None:
            return None
        line = self.document.locate(path + (key,), key=True).line

        def cut_piece(index: int) -> bool:
            name = names[index]
            return mapping[name] is None and self.document.locate(path + (name,), key=True).line == line

        first = last = names.index(key)
        while first > 0 and cut_piece(first - 1):
            first -= 1
        while last + 1 < len(names) and cut_piece(last + 1):
            last += 1
        if first == 0:
            return None
        label = names[first - 1]
        text = mapping[label]
        if not isinstance(text, str) or self.document.locate(path + (label,), key=True).line != line:
            return None
        return label, ", ".join([text, *names[first : last + 1]])

    def forbidden_keys(self, error: ValidationError, path: DocumentPath, where: str) -> Iterator[Problem]:
        kind = _as_mapping(self.value_at(path)).get("type")
        for key_path in offending_paths(error, self.document.data):
            yield self.not_allowed(key_path, where, kind if isinstance(kind, str) else None)

    def not_allowed(self, key_path: DocumentPath, where: str, kind: str | None) -> Problem:
        key = str(key_path[-1])
        suffix = f" in a `{kind}` state" if kind else " here"
        message = f"{where}`{key}` is not allowed{suffix}{_FORBIDDEN_HINTS.get(key, '')}"
        return self.problem(key_path, message, "not-allowed", key=True)

    def missing_keys(self, error: ValidationError, path: DocumentPath, where: str) -> Iterator[Problem]:
        properties = _as_mapping(error.schema).get("properties", {})
        present = _as_mapping(error.instance)
        for name in _as_list(error.validator_value):
            misspelt = [key for key in present if path + (key,) in self.unknown_key_paths and did_you_mean(key, [name])]
            if name in present or misspelt:  # the unknown-key message already says "did you mean"
                continue
            about = _description(properties.get(name, {}), self.root) or _description(
                self.schema_for(error, name), self.root
            )
            yield self.problem(
                path, f"{where}missing `{name}`" + (f": {about}" if about else ""), "missing-key", key=True
            )

    def alternatives(self, error: ValidationError, path: DocumentPath, where: str) -> Iterator[Problem]:
        """anyOf/oneOf: explain the branch the value was meant for, or else list what would do."""
        context = list(error.context or ())
        depth = len(error.absolute_path)
        kind_errors = [e for e in context if e.validator in ("type", "const") and len(e.absolute_path) == depth]
        meant = [e for e in context if e not in kind_errors]
        from jsonschema.exceptions import best_match

        best = best_match(meant) if meant else None
        if best is not None:
            yield from self.translate(best)
            return
        wanted = [
            _TYPE_WORDS.get(t, t) for e in kind_errors if e.validator == "type" for t in _as_list(e.validator_value)
        ]
        wanted = [f"`{e.validator_value}`" for e in kind_errors if e.validator == "const"] + wanted
        expected = " or ".join(dict.fromkeys(wanted)) or "something else"
        about = _description(error.schema, self.root)
        types = [t for e in kind_errors if e.validator == "type" for t in _as_list(e.validator_value)]
        yield self.problem(
            path,
            f"{where}expected {expected}, got {_show(error.instance)}{_quote_hint(types, error.instance)}"
            + (f". {about}" if about else ""),
            "wrong-type",
        )

    def simple_message(self, error: ValidationError) -> tuple[str, str]:
        """A stable problem code and the message, for errors about a single value."""
        validator, value, instance = error.validator, error.validator_value, error.instance
        about = _description(error.schema, self.root)
        if validator == "type":
            wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in _as_list(value))
            return "wrong-type", (
                f"must be {wanted}, got {_show(instance)}{_quote_hint(_as_list(value), instance)}"
                + (f". {about}" if about else "")
            )
        if validator == "enum":
            choices = [_literal(c) for c in _as_list(value)]
            return "not-a-choice", (
                f"must be one of {', '.join(choices)}; got {_show(instance)}"
                + did_you_mean(_literal(instance), choices)
            )
        if validator == "const":
            return "wrong-value", f"must be {json.dumps(value, ensure_ascii=False)}, got {_show(instance)}"
        if validator == "pattern":
            if (
                value == _duration_pattern(self.root)
                and isinstance(instance, str)
                and _zero_duration().match(instance.strip())
            ):
                return "zero-time-limit", zero_time_limit(instance)
            rule = _IDENTIFIER_RULE if value == _IDENTIFIER_PATTERN else ""
            return "bad-format", f"{_show(instance)} is not valid here.{rule} {about}".rstrip()
        if validator == "format":
            return "bad-format", f"{_show(instance)} is not a valid {value}" + (
                " (write YYYY-MM-DD)" if value == "date" else ""
            )
        if validator in ("minItems", "minProperties", "minLength"):
            return "too-few", "must not be empty" if value == 1 else f"needs at least {value} entries"
        if validator in ("maxLength", "maxItems", "maxProperties"):
            return "too-many", f"is too long (at most {value})"
        if validator == "uniqueItems":
            return "duplicate-item", "lists the same value twice"
        if validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
            bound = {
                "minimum": "at least",
                "exclusiveMinimum": "more than",
                "maximum": "at most",
                "exclusiveMaximum": "less than",
            }[str(validator)]
            return "out-of-range", f"must be {bound} {value}"
        worded = _python_literal().sub(lambda found: _literal(_PYTHON_VALUES[found.group()]), error.message)
        return str(validator), worded

    def where(self, path: DocumentPath) -> str:
        """``state `diagnose`, transition `approve`, `payload`: `` — the path, in the reader's terms."""
        parts: list[str] = []
        index = 0
        while index < len(path):
            part, following = path[index], path[index + 1] if index + 1 < len(path) else None
            if index == 0 and isinstance(part, str) and part in _COLLECTIONS and following is not None:
                parts.append(f"{_COLLECTIONS[part]} `{following}`")
            elif isinstance(part, str) and part in _ITEMS and isinstance(following, int):
                trigger = self.value_at(path[: index + 2] + ("trigger",))
                name = f"`{trigger}`" if isinstance(trigger, str) else f"#{following + 1}"
                parts.append(f"{_ITEMS[part]} {name}")
            else:
                parts.append(f"`{part}`" if isinstance(part, str) else f"item #{part + 1}")
                index += 1
                continue
            index += 2
        return (", ".join(parts) + ": ") if parts else ""

    def value_at(self, path: DocumentPath) -> Any:
        return lookup(self.document.data, path)

    def schema_for(self, error: ValidationError, name: str) -> Mapping[str, Any]:
        """The subschema describing property ``name`` where an ``if/then`` made it required."""
        root = self.root
        for definition in root.get("$defs", {}).values():
            if isinstance(definition, dict) and "allOf" in definition and name in definition.get("properties", {}):
                found: Mapping[str, Any] = definition["properties"][name]
                return found
        found_top: Mapping[str, Any] = root.get("properties", {}).get(name, {})
        return found_top

    def problem(self, path: DocumentPath, message: str, code: str, *, key: bool = False) -> Problem:
        return Problem(self.document.locate(path, key=key), message, code=code)


_IDENTIFIER_PATTERN = "^[a-z][a-z0-9_]*$"

_IDENTIFIER_RULE = " Names are lower-case letters, digits and underscores, starting with a letter."

_COLLECTIONS = {
    "states": "state",
    "roles": "role",
    "records": "record",
    "departments": "department",
    "sources": "source",
    "fields": "field name",
}

_ITEMS = {
    "on": "transition",
    "transitions": "transition",
    "branches": "branch",
    "deadlines": "deadline",
    "signoffs": "sign-off",
    "parts": "part",
}

_FORBIDDEN_HINTS = {
    "on": "; a decision leaves by its `branches` and `default`, a final state does not leave",
    "branches": "; only a `decision` has branches — a task leaves by the transitions under `on`",
    "default": "; only a `decision` has a default branch",
    "deadlines": "; only a state that takes time (task, wait, start) has deadlines",
    "time_limit": "; only a state that takes time (task, wait, start) has a time limit",
    "parts": "; only a step someone works in (task, wait, start) has parts",
}


@functools.cache
def _zero_duration() -> re.Pattern[str]:
    return re.compile(r"^(?:0+\s*[a-z]|0+\s+working|P[0WDTHMS]*$)")


_PYTHON_VALUES = {"None": None, "True": True, "False": False}


@functools.cache
def _python_literal() -> re.Pattern[str]:
    """Compiled, as ``_zero_duration`` is, for the first problem worded with it: not on a valid definition's way."""
    return re.compile(r"\b(?:None|True|False)\b")


def zero_time_limit(text: str) -> str:
    """Why ``0m`` (or ``PT0S``) is refused, in words; the schema's pattern and the checks both say it."""
    return (
        f"`{text}` is no time at all: a time limit of zero would be over the moment it began; "
        "write how long the step may take, at least `1m`, or leave the time limit out; if the source "
        "really says it is due at once (立即), write `at once`"
    )


def _duration_pattern(root: Mapping[str, Any]) -> Any:
    return root.get("$defs", {}).get("duration", {}).get("pattern")


def _literal(value: Any) -> str:
    """A value as YAML writes it: ``null``, ``true`` and ``false``, not Python's None, True and False."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return str(value)


def _quote_hint(types: Sequence[Any], value: Any) -> str:
    """Where text is wanted and YAML read a number or true/false, say how to write it as text."""
    if "string" not in types or not isinstance(value, (int, float)):  # bool is an int
        return ""
    return f' — to write it as text, put it in quotes: "{_literal(value)}"'


def _is_state(path: DocumentPath) -> bool:
    return len(path) == 2 and path[0] == "states"


def _under_property_names(error: ValidationError) -> bool:
    return "propertyNames" in error.relative_schema_path


def _description(schema: Any, root: Mapping[str, Any]) -> str:
    if isinstance(schema, Mapping):
        text = schema.get("description")
        if isinstance(text, str):
            return str(text)
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = root.get("$defs", {}).get(ref[len("#/$defs/") :], {})
            return _description(target, root)
    return ""


def _as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _as_list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else [value]


def _show(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return f"`{json.dumps(value)}`"
    if isinstance(value, str):
        return f"text `{value}`" if len(value) <= 60 else f"text `{value[:57]}…`"
    if isinstance(value, (int, float)):
        return f"the number `{value}`"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"`{value}`"
