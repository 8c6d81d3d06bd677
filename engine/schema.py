"""The bundled JSON Schema of the definition language, and its errors said in a process owner's words.

The schema file in ``schemas/`` is the single source of truth: editors complete from it through each
file's ``yaml-language-server`` modeline, and the loader validates with the very same file. Its
``description`` texts double as the hints in our messages, so there is one place to word them.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema
from jsonschema.exceptions import ValidationError
from jsonschema_specifications import REGISTRY as SPECIFICATIONS

from engine.errors import Problem
from engine.loader import LocatedDocument
from engine.source import DocumentPath

SCHEMA_FILE = "process.schema.json"

_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping (`key: value` lines)",
    "array": "a list",
    "null": "empty",
}


def schema_path() -> Path:
    """The schema file: inside the installed package, or ``schemas/`` beside ``engine/`` in a checkout."""
    installed = Path(__file__).parent / "_schemas" / SCHEMA_FILE
    if installed.is_file():
        return installed
    return Path(__file__).resolve().parent.parent / "schemas" / SCHEMA_FILE


@lru_cache(maxsize=1)
def process_schema() -> Mapping[str, Any]:
    with schema_path().open(encoding="utf-8") as handle:
        loaded: Mapping[str, Any] = json.load(handle)
    return loaded


@lru_cache(maxsize=1)
def bundled_registry() -> referencing.Registry[Any]:
    """The JSON Schema specifications and our own schema; nothing is ever fetched from a file or URL."""
    schema = process_schema()
    resource = referencing.Resource.from_contents(schema, default_specification=referencing.jsonschema.DRAFT202012)
    registry: referencing.Registry[Any] = SPECIFICATIONS.with_resource(schema["$id"], resource).crawl()
    return registry


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    # Entering through a one-line root keeps the (pre-crawled) registry intact: given the whole schema
    # as its root, the validator adds it as an uncrawled resource that every `$dynamicRef` re-crawls.
    return jsonschema.Draft202012Validator(
        {"$ref": process_schema()["$id"]},
        registry=bundled_registry(),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def schema_problems(document: LocatedDocument) -> list[Problem]:
    """Every way the document breaks the schema, each at its place and in plain words."""
    if document.data is None:
        return [Problem(document.locate(()), "the file is empty; a definition starts with `procflow: 1`", code="empty")]
    problems: dict[tuple[object, str], Problem] = {}
    for error in _validator().iter_errors(document.data):
        for problem in _ErrorTranslator(document).translate(error):
            problems.setdefault((problem.location, problem.message), problem)
    return list(problems.values())


def without_invalid_nodes(data: Any) -> Any:
    """A copy of ``data`` without the mapping entries the schema rejects, if the copy then passes; else None.

    This lets the semantic checks run past a misspelt key or a bad optional value, so one pass
    reports every problem. Errors in list items or required entries leave nothing checkable.
    """
    offending: set[DocumentPath] = set()
    for error in _validator().iter_errors(data):
        offending.update(_offending_paths(error))
    pruned = copy.deepcopy(data)
    for path in offending:
        parent = _get(pruned, path[:-1])
        if not path or not isinstance(parent, dict) or not isinstance(path[-1], str):
            return None
        parent.pop(path[-1], None)
    return pruned if _validator().is_valid(pruned) else None


def _offending_paths(error: ValidationError) -> Iterator[DocumentPath]:
    path: DocumentPath = tuple(error.absolute_path)
    if _under_property_names(error):
        yield path + (str(error.instance),)
    elif error.validator == "additionalProperties" and error.validator_value is False:
        allowed = _as_mapping(error.schema).get("properties", {})
        yield from (path + (key,) for key in _as_mapping(error.instance) if key not in allowed)
    elif error.validator is None or error.schema is False:
        yield path  # a key that is not allowed here; its value's own path is where the error is raised
    else:
        yield path


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` — did you mean `x`?`` when a choice is close to ``word``, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" — did you mean `{close[0]}`?" if close else ""


class _ErrorTranslator:
    def __init__(self, document: LocatedDocument):
        self.document = document

    def translate(self, error: ValidationError) -> Iterator[Problem]:
        path: DocumentPath = tuple(error.absolute_path)
        where = self.where(path)
        validator = error.validator
        if _under_property_names(error):
            name = str(error.instance)
            yield self.problem(path + (name,), f"{where}`{name}` is not a valid name: {_description(error.schema)}",
                               "bad-name", key=True)
        elif validator == "additionalProperties" and error.validator_value is False:
            yield from self.unknown_keys(error, path, where)
        elif validator is None or error.schema is False:
            yield from self.forbidden_keys(error, path, where)
        elif validator == "required":
            yield from self.missing_keys(error, path, where)
        elif validator in ("anyOf", "oneOf"):
            yield from self.alternatives(error, path, where)
        else:
            yield self.problem(path, where + self.simple_message(error), str(validator))

    def unknown_keys(self, error: ValidationError, path: DocumentPath, where: str) -> Iterator[Problem]:
        allowed = sorted(_as_mapping(error.schema).get("properties", {}))
        for key in _as_mapping(error.instance):
            if key in allowed:
                continue
            hint = did_you_mean(key, allowed) or (f" — allowed here: {', '.join(allowed)}" if allowed else "")
            yield self.problem(path + (key,), f"{where}unknown key `{key}`{hint}", "unknown-key", key=True)

    def forbidden_keys(self, error: ValidationError, path: DocumentPath, where: str) -> Iterator[Problem]:
        parent = self.value_at(path)
        kind = parent.get("type") if isinstance(parent, dict) else None
        keys = [k for k, v in parent.items() if v is error.instance] if isinstance(parent, dict) else []
        for key in keys or [""]:
            what = f"`{key}` is" if key else "this is"
            suffix = f" in a `{kind}` state" if kind else " here"
            hint = _FORBIDDEN_HINTS.get(key, "")
            yield self.problem(path + (key,) if key else path, f"{where}{what} not allowed{suffix}{hint}", "not-allowed",
                               key=bool(key))

    def missing_keys(self, error: ValidationError, path: DocumentPath, where: str) -> Iterator[Problem]:
        properties = _as_mapping(error.schema).get("properties", {})
        present = _as_mapping(error.instance)
        for name in _as_list(error.validator_value):
            misspelt = [key for key in present if did_you_mean(key, [name])]
            if name in present or misspelt:  # the unknown-key message already says "did you mean"
                continue
            about = _description(properties.get(name, {})) or _description(self.schema_for(error, name))
            yield self.problem(path, f"{where}missing `{name}`" + (f": {about}" if about else ""), "missing-key",
                               key=True)

    def alternatives(self, error: ValidationError, path: DocumentPath, where: str) -> Iterator[Problem]:
        context = list(error.context or ())
        type_errors = [e for e in context if e.validator == "type"]
        other = [e for e in context if e.validator != "type" and len(e.absolute_path) >= len(error.absolute_path)]
        if other:
            best = jsonschema.exceptions.best_match(other)
            if best is not None:
                yield from self.translate(best)
                return
        wanted = [w for e in type_errors for w in _as_list(e.validator_value)]
        wanted += ["`*`" for e in context if e.validator == "const"]
        expected = " or ".join(dict.fromkeys(_TYPE_WORDS.get(w, w) for w in wanted)) or "something else"
        about = _description(error.schema)
        yield self.problem(path, f"{where}expected {expected}, got {_show(error.instance)}" + (f". {about}" if about else ""),
                           "wrong-type")

    def simple_message(self, error: ValidationError) -> str:
        validator, value, instance = error.validator, error.validator_value, error.instance
        about = _description(error.schema)
        if validator == "type":
            wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in _as_list(value))
            return f"must be {wanted}, got {_show(instance)}" + (f". {about}" if about else "")
        if validator == "enum":
            choices = [str(c) for c in _as_list(value)]
            return f"must be one of {', '.join(choices)}; got {_show(instance)}" + did_you_mean(str(instance), choices)
        if validator == "const":
            return f"must be {json.dumps(value, ensure_ascii=False)}, got {_show(instance)}"
        if validator == "pattern":
            return f"{_show(instance)} is not valid here. {about}".strip()
        if validator == "format":
            return f"{_show(instance)} is not a valid {value}" + (" (write YYYY-MM-DD)" if value == "date" else "")
        if validator in ("minItems", "minProperties"):
            return "must not be empty" if value == 1 else f"needs at least {value} entries"
        if validator == "minLength":
            return "must not be empty"
        if validator in ("maxLength", "maxItems", "maxProperties"):
            return f"is too long (at most {value})"
        if validator == "uniqueItems":
            return "lists the same value twice"
        if validator in ("minimum", "exclusiveMinimum"):
            return f"must be at least {value}" if validator == "minimum" else f"must be more than {value}"
        if validator in ("maximum", "exclusiveMaximum"):
            return f"must be at most {value}" if validator == "maximum" else f"must be less than {value}"
        return error.message

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
        return _get(self.document.data, path)

    def schema_for(self, error: ValidationError, name: str) -> Mapping[str, Any]:
        """The subschema describing property ``name`` where an ``if/then`` made it required."""
        root = process_schema()
        for definition in root.get("$defs", {}).values():
            if isinstance(definition, dict) and "allOf" in definition and name in definition.get("properties", {}):
                found: Mapping[str, Any] = definition["properties"][name]
                return found
        found_top: Mapping[str, Any] = root.get("properties", {}).get(name, {})
        return found_top

    def problem(self, path: DocumentPath, message: str, code: str, *, key: bool = False) -> Problem:
        return Problem(self.document.locate(path, key=key), message, code=code)


_COLLECTIONS = {"states": "state", "roles": "role", "records": "record", "departments": "department",
                "sources": "source"}
_ITEMS = {"on": "transition", "transitions": "transition", "branches": "branch", "deadlines": "deadline",
          "signoffs": "sign-off"}

_FORBIDDEN_HINTS = {
    "on": "; a decision leaves by its `branches` and `default`, a final state does not leave",
    "branches": "; only a `decision` has branches — a task leaves by the transitions under `on`",
    "default": "; only a `decision` has a default branch",
    "deadlines": "; only a state that takes time (task, wait, start) has deadlines",
    "time_limit": "; only a state that takes time (task, wait, start) has a time limit",
}


def _under_property_names(error: ValidationError) -> bool:
    return "propertyNames" in error.relative_schema_path


def _description(schema: Any) -> str:
    if isinstance(schema, Mapping):
        text = schema.get("description")
        if isinstance(text, str):
            return str(text)
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = process_schema().get("$defs", {}).get(ref[len("#/$defs/"):], {})
            return _description(target)
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


def _get(data: Any, path: DocumentPath) -> Any | None:
    for part in path:
        if isinstance(data, dict) and isinstance(part, str):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data
