"""Forms generated from a trigger's JSON Schema: what to show, and turning what was posted back into JSON.

Pure and free of I/O. ``form_for`` reads a ``Choice`` (what an actor may fire now) and its procedure:
each field's name comes from the property's ``title``, else the procedure's glossary (``fields:``),
else its key. ``payload_from`` converts the posted strings to JSON types and says, in both languages,
what it could not convert; the server then validates the payload for real, and ``at_fields`` puts
the problems it names (each at a JSON pointer) at their fields.

Inputs, by the field's schema:

- ``enum`` (or ``oneOf``/``anyOf`` of ``const``\\ s, their ``title`` the option's label): ``select``;
  an array of such: ``checkboxes``, posted in the options' order.
- ``boolean``: ``checkbox`` when required (unchecked is ``false``); otherwise a ``select`` of
  yes / no / not given, so that "not given" stays possible. ``const: true``: a checkbox that must be ticked.
- ``integer`` / ``number``: ``number`` with ``min``, ``max`` and ``step`` (1, or ``any``).
- ``string`` with ``format: date``: ``date``; ``date-time``: ``datetime-local`` in the procedure's
  calendar timezone (sent back with its offset).
- other strings: ``textarea`` when ``maxLength`` is over 200, or when there is no ``maxLength`` and the
  key names free text (``_LONG_TEXT_WORDS``: ``reason``, ``note``, ``description``...); else ``text``.
- ``object`` with ``properties``: a ``fieldset`` of its fields; an array of anything else: a ``list``
  of rows named ``/pointer/0``, ``/pointer/1``... (blank rows are dropped).
- any other shape: ``json``, a textarea holding the value as JSON.

An input's ``name`` is its JSON pointer into the payload (``/parts/0/name``). A blank optional
input is "not given" (the field is left out, or ``null`` where the schema allows null).
"""

from __future__ import annotations

import datetime
import json
import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from engine.model import Process, Text, thaw_json
from engine.pointers import escape, follow
from engine.runtime import Choice

Kind = Literal[
    "text",
    "textarea",
    "number",
    "checkbox",
    "select",
    "checkboxes",
    "date",
    "datetime-local",
    "fieldset",
    "list",
    "json",
]
Posted = Mapping[str, Sequence[str]]

_LONG_TEXT_WORDS = (
    "description", "note", "notes", "comment", "comments", "opinion", "reason", "remarks", "content", "details",
    "findings", "plan", "problem", "handling", "answer", "information", "summary", "breakdown", "measures",
    "symptom", "cause", "terms", "agreement", "improvement", "instructions", "address",
)  # fmt: skip
_LONG_TEXT = 200
_MAX_DEPTH = 12
_YES, _NO = "true", "false"


@dataclass(frozen=True)
class Option:
    token: str
    """What the input posts for it."""
    value: Any
    label: Text


@dataclass(frozen=True)
class Field:
    key: str
    pointer: str
    """The JSON pointer into the payload; also the input's ``name``."""
    label: Text
    kind: Kind
    required: bool = False
    nullable: bool = False
    description: str | None = None
    default: Any = None
    options: tuple[Option, ...] = ()
    minimum: int | float | None = None
    maximum: int | float | None = None
    step: str | None = None
    integer: bool = False
    min_length: int | None = None
    max_length: int | None = None
    children: tuple[Field, ...] = ()
    """A fieldset's fields; a list's one item (its pointer ends in ``/-``)."""
    must_check: bool = False


@dataclass(frozen=True)
class Signer:
    """A signature firing this trigger gives: the signer confirms with their password."""

    role: str
    role_label: Text
    label: Text | None


@dataclass(frozen=True)
class Form:
    trigger: str
    label: Text
    fields: tuple[Field, ...]
    signers: tuple[Signer, ...] = ()
    timezone: str = "UTC"
    part: str | None = None
    items: tuple[str, ...] = ()

    def walk(self) -> Iterable[Field]:
        """Every field, fieldsets' and lists' own included, outermost first."""
        pending = list(reversed(self.fields))
        while pending:
            current = pending.pop()
            yield current
            pending.extend(reversed(current.children))


@dataclass(frozen=True)
class FieldProblem:
    pointer: str
    message: Text


@dataclass(frozen=True)
class PlacedProblems:
    """Problems by the pointer of the field they belong to, and the rest, for the top of the form."""

    at: Mapping[str, tuple[Text, ...]] = field(default_factory=dict)
    form: tuple[Text, ...] = ()


# --- building ---------------------------------------------------------------------------------------


def form_for(choice: Choice, process: Process, lang: str = "both") -> Form:
    """The form for firing ``choice``: its fields (none when the trigger takes no input) and signers.
    ``lang`` is kept for the template; labels carry both languages."""
    schema = _resolve(process, choice.payload_schema)
    fields = _object_fields(process, schema, "", 0) if isinstance(schema, Mapping) else ()
    signers = tuple(
        Signer(s.role, process.roles[s.role].label if s.role in process.roles else Text(s.role, s.role), s.label)
        for s in choice.signoffs
    )
    return Form(choice.trigger, choice.label, fields, signers, process.calendar.timezone, choice.part, choice.items)


def _resolve(process: Process, schema: Any) -> Any:
    """``schema`` with what its top-level ``$ref``s lead to written in, the keys beside a reference
    taking precedence (a schema the runtime left a ``$ref`` in refers back into itself)."""
    chain = follow(process.document, schema)
    if len(chain) == 1:
        return schema
    merged: dict[str, Any] = {}
    for each in reversed(chain):
        if isinstance(each, Mapping):
            merged.update((key, thaw_json(value)) for key, value in each.items() if key != "$ref")
    return merged


def _object_fields(process: Process, schema: Mapping[str, Any], pointer: str, depth: int) -> tuple[Field, ...]:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return ()
    required = set(schema.get("required") or ())
    return tuple(
        _field(process, str(key), _resolve(process, sub), f"{pointer}/{escape(str(key))}", key in required, depth)
        for key, sub in properties.items()
    )


def _field(process: Process, key: str, schema: Any, pointer: str, required: bool, depth: int) -> Field:
    label = process.field_label(key, schema) or Text(key, key)
    entry = process.fields.get(key)
    schema = schema if isinstance(schema, Mapping) else {}
    description = schema.get("description") if isinstance(schema.get("description"), str) else None
    if description is None and entry is not None:
        description = entry.description
    types = _types(schema)
    nullable = "null" in types
    types.discard("null")
    default = thaw_json(schema.get("default"))
    base = Field(key, pointer, label, "json", required, nullable, description, default)
    options = _options(schema)
    if options is not None:
        return replace(base, kind="select", options=options)
    if schema.get("const") is True:
        return replace(base, kind="checkbox", must_check=True)
    if types == {"boolean"}:
        if required and not nullable:
            return replace(base, kind="checkbox")
        yes_no = (Option(_YES, True, Text("是", "Yes")), Option(_NO, False, Text("否", "No")))
        return replace(base, kind="select", options=yes_no)
    if types in ({"integer"}, {"number"}, {"integer", "number"}):
        integer = types == {"integer"}
        return replace(
            base,
            kind="number",
            integer=integer,
            step="1" if integer else "any",
            minimum=_number(schema.get("minimum")),
            maximum=_number(schema.get("maximum")),
        )
    if types == {"string"}:
        fmt = schema.get("format")
        kind: Kind = "date" if fmt == "date" else "datetime-local" if fmt == "date-time" else "text"
        if kind == "text" and _long_text(key, schema):
            kind = "textarea"
        return replace(
            base, kind=kind, min_length=_length(schema, "minLength"), max_length=_length(schema, "maxLength")
        )
    if types == {"object"} and isinstance(schema.get("properties"), Mapping) and depth < _MAX_DEPTH:
        return replace(base, kind="fieldset", children=_object_fields(process, schema, pointer, depth + 1))
    if types == {"array"} and depth < _MAX_DEPTH:
        items = _resolve(process, schema.get("items", {}))
        item_options = _options(items) if isinstance(items, Mapping) else None
        if item_options is not None:
            return replace(base, kind="checkboxes", options=item_options)
        item = _field(process, key, items, f"{pointer}/-", True, depth + 1)
        return replace(base, kind="list", children=(item,))
    return base


def _length(schema: Mapping[str, Any], keyword: str) -> int | None:
    value = schema.get(keyword)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, (list, tuple)):
        return {str(k) for k in kind}
    if "properties" in schema:
        return {"object"}
    if isinstance(schema.get("format"), str):
        return {"string"}
    return set()


def _number(value: Any) -> int | float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _long_text(key: str, schema: Mapping[str, Any]) -> bool:
    limit = schema.get("maxLength")
    if isinstance(limit, int):
        return limit > _LONG_TEXT
    return key.split("_")[-1] in _LONG_TEXT_WORDS or key in _LONG_TEXT_WORDS


def _options(schema: Mapping[str, Any]) -> tuple[Option, ...] | None:
    """The choices of an ``enum`` (or of ``oneOf``/``anyOf`` consts): tokens are the strings
    themselves, or JSON when any value is not a string or two would post the same."""
    labelled: list[tuple[Any, Text | None]]
    if isinstance(schema.get("enum"), (list, tuple)):
        labelled = [(thaw_json(v), None) for v in schema["enum"]]
    else:
        alternatives = schema.get("oneOf") or schema.get("anyOf")
        if not isinstance(alternatives, (list, tuple)) or not alternatives:
            return None
        if not all(isinstance(a, Mapping) and "const" in a for a in alternatives):
            return None
        labelled = [(thaw_json(a["const"]), _title(a)) for a in alternatives]
    as_json = not all(isinstance(v, str) for v, _ in labelled)
    tokens = [json.dumps(v, ensure_ascii=False, sort_keys=True) if as_json else v for v, _ in labelled]
    if len(set(tokens)) != len(tokens):
        return None
    return tuple(Option(t, v, shown or _value_text(v)) for t, (v, shown) in zip(tokens, labelled, strict=True))


def _title(schema: Mapping[str, Any]) -> Text | None:
    title = schema.get("title")
    return Text(title, title) if isinstance(title, str) and title else None


def _value_text(value: Any) -> Text:
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return Text(shown, shown)


# --- what a payload looks like in the form, and back ------------------------------------------------


def encode(form: Form, payload: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """The posted values that give ``payload`` back (also what an input shows for it)."""
    values: dict[str, list[str]] = {}
    _encode_fields(form, form.fields, payload or {}, "", values)
    return values


def defaults(form: Form) -> dict[str, list[str]]:
    """What the inputs show before anything is filled in: each field's ``default``."""
    payload: dict[str, Any] = {}
    for f in form.fields:
        if f.default is not None:
            payload[f.key] = f.default
    return encode(form, payload)


def _encode_fields(form: Form, fields: Sequence[Field], value: Any, prefix: str, out: dict[str, list[str]]) -> None:
    if not isinstance(value, Mapping):
        return
    for f in fields:
        if f.key in value:
            _encode(form, f, value[f.key], prefix + "/" + escape(f.key), out)


def _encode(form: Form, f: Field, value: Any, name: str, out: dict[str, list[str]]) -> None:
    if f.kind == "fieldset":
        _encode_fields(form, f.children, value, name, out)
    elif f.kind == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            _encode(form, f.children[0], item, f"{name}/{index}", out)
    elif f.kind == "checkboxes" and isinstance(value, list):
        out[name] = [o.token for o in f.options if any(_same(o.value, v) for v in value)]
    elif value is None:
        out[name] = [""]
    elif f.kind == "select":
        out[name] = [o.token for o in f.options if _same(o.value, value)][:1]
    elif f.kind == "checkbox":
        out[name] = ["on"] if value is True else []
    elif f.kind == "number":
        out[name] = [repr(value) if isinstance(value, float) else str(value)]
    elif f.kind == "datetime-local" and isinstance(value, str):
        out[name] = [_local_time(value, form.timezone)]
    elif f.kind == "json":
        out[name] = [json.dumps(value, ensure_ascii=False)]
    else:
        out[name] = [str(value)]


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _local_time(value: str, timezone: str) -> str:
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(zoneinfo.ZoneInfo(timezone))
    return moment.replace(tzinfo=None).isoformat(timespec="seconds" if moment.second else "minutes")


def payload_from(form: Form, posted: Posted) -> tuple[dict[str, Any], tuple[FieldProblem, ...]]:
    """The payload the posted strings give, and what could not be converted, each at its field."""
    problems: list[FieldProblem] = []
    payload = _read_fields(form, form.fields, "", posted, problems)
    return payload, tuple(problems)


def _read_fields(
    form: Form, fields: Sequence[Field], prefix: str, posted: Posted, problems: list[FieldProblem]
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for f in fields:
        name = prefix + "/" + escape(f.key)
        found, value = _read(form, f, name, posted, problems)
        if found:
            result[f.key] = value
    return result


def _read(form: Form, f: Field, name: str, posted: Posted, problems: list[FieldProblem]) -> tuple[bool, Any]:
    """``(given, value)`` for one field posted under ``name``."""
    if f.kind == "fieldset":
        if not f.required and not _filled(name, posted):
            return False, None  # an optional group with nothing filled in is not given
        return True, _read_fields(form, f.children, name, posted, problems)
    if f.kind == "list":
        indexes = sorted({int(m.group(1)) for k in posted if (m := re.match(re.escape(name) + r"/(\d+)(?:/|$)", k))})
        items = []
        for index in indexes:
            row = f"{name}/{index}"
            if not _filled(row, posted):
                continue  # a blank row (the one left for adding an item) is no item
            given, item = _read(form, f.children[0], row, posted, problems)
            if given:
                items.append(item)
        return bool(items) or f.required, items
    raw = list(posted.get(name, ()))
    if f.kind == "checkboxes":
        chosen = [o.value for o in f.options if o.token in raw]
        unknown = [r for r in raw if r not in {o.token for o in f.options}]
        if unknown:
            problems.append(FieldProblem(name, _not_a_choice(unknown[0])))
        return bool(chosen) or f.required or name in posted, chosen
    if f.kind == "checkbox":
        return True, bool(raw) and raw[-1] != ""
    text = raw[-1] if raw else ""
    if text.strip() == "" and f.kind != "textarea" and f.kind != "text":
        return (True, None) if f.nullable and name in posted else (False, None)
    if text == "" and f.kind in ("text", "textarea"):
        if f.nullable and name in posted:
            return True, None
        if f.required:  # a person who leaves a required box blank has not given it
            problems.append(FieldProblem(name, Text("此项必填", "This is required")))
        return False, None
    converted = _convert(form, f, text)
    if isinstance(converted, Text):
        problems.append(FieldProblem(name, converted))
        return False, None
    return True, converted[0]


def _filled(name: str, posted: Posted) -> bool:
    """Whether any input at or under ``name`` holds something."""
    inside = name + "/"
    return any((k == name or k.startswith(inside)) and any(v != "" for v in vs) for k, vs in posted.items())


def _convert(form: Form, f: Field, text: str) -> tuple[Any] | Text:
    if f.kind == "select":
        for option in f.options:
            if option.token == text:
                return (option.value,)
        return _not_a_choice(text)
    if f.kind == "number":
        try:
            number: int | float = int(text) if re.fullmatch(r"[+-]?\d+", text.strip()) else float(text)
        except ValueError:
            return Text(f"“{text}”不是数字", f"“{text}” is not a number")
        if f.integer and not isinstance(number, int):
            if number.is_integer():
                return (int(number),)
            return Text(f"“{text}”不是整数", f"“{text}” is not a whole number")
        if number != number or number in (float("inf"), float("-inf")):
            return Text(f"“{text}”不是数字", f"“{text}” is not a number")
        return (number,)
    if f.kind == "date":
        try:
            return (datetime.date.fromisoformat(text.strip()).isoformat(),)
        except ValueError:
            return Text(f"“{text}”不是日期（年-月-日）", f"“{text}” is not a date (year-month-day)")
    if f.kind == "datetime-local":
        return _moment(text.strip(), form.timezone)
    if f.kind == "json":
        try:
            return (json.loads(text),)
        except ValueError:
            return Text("不是有效的 JSON", "is not valid JSON")
    return (text.replace("\r\n", "\n") if f.kind == "textarea" else text,)


def _moment(text: str, timezone: str) -> tuple[str] | Text:
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return Text(f"“{text}”不是日期时间", f"“{text}” is not a date and time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(timezone))
    return (moment.isoformat(),)


def _not_a_choice(text: str) -> Text:
    return Text(f"“{text}”不是可选项之一", f"“{text}” is not one of the choices")


# --- the server's problems at their fields ----------------------------------------------------------


def at_fields(form: Form, problems: Iterable[FieldProblem | Mapping[str, Any] | str]) -> PlacedProblems:
    """Each problem at the field its pointer names (or the nearest field holding that place: a list's
    row at the list); the rest at the top of the form. A problem is a ``FieldProblem``, an HTTP
    problem's ``errors`` item (``{"pointer": ..., "detail": ...}``) or a message."""
    pointers = {f.pointer for f in form.walk()}
    at: dict[str, list[Text]] = {}
    general: list[Text] = []
    for problem in problems:
        pointer, message = _pointer_and_message(problem)
        place = _nearest(pointer, pointers)
        if place is None:
            general.append(message)
        else:
            at.setdefault(place, []).append(message)
    return PlacedProblems({k: tuple(v) for k, v in at.items()}, tuple(general))


def _pointer_and_message(problem: FieldProblem | Mapping[str, Any] | str) -> tuple[str, Text]:
    if isinstance(problem, FieldProblem):
        return problem.pointer, problem.message
    if isinstance(problem, Mapping):
        detail = str(problem.get("detail", ""))
        return str(problem.get("pointer", "")), Text(detail, detail)
    return "", Text(str(problem), str(problem))


def _nearest(pointer: str, pointers: set[str]) -> str | None:
    """The field at ``pointer``: itself, a list item's template (``/parts/-/name`` for ``/parts/0/name``
    the row is kept), else its closest enclosing field."""
    current = pointer
    while current:
        if current in pointers:
            return current
        template = re.sub(r"/\d+(?=/|$)", "/-", current)
        if template in pointers:
            return current  # a list row's input: the problem stays at that row
        current = current.rsplit("/", 1)[0]
    return None
