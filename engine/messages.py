"""The text of a notification: literal text with ``{data.field}`` / ``{payload.field}`` placeholders.

``parse_message`` reads a text once (``ExpressionSyntaxError`` with the offset of a malformed
placeholder); ``Message.render`` fills it in from an event's data and payload. ``{{`` and ``}}``
are literal braces. A placeholder names a root (``data`` or ``payload``) and a field, or a path of
fields (``{data.customer.name}``); a field the event does not have renders as ``—``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from engine.errors import ExpressionSyntaxError
from engine.frozen import frozen

ROOTS = ("data", "payload")
MISSING = "—"
"""What a placeholder renders as when the event has no such field."""

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@frozen
class Placeholder:
    root: str
    fields: tuple[str, ...]
    offset: int
    """Where its name starts in the text (after the ``{``)."""

    @property
    def name(self) -> str:
        return ".".join((self.root, *self.fields))


@frozen
class Message:
    text: str
    parts: tuple[str | Placeholder, ...]

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        return tuple(p for p in self.parts if isinstance(p, Placeholder))

    def render(self, scope: Mapping[str, Any]) -> str:
        """The text with each placeholder filled in from ``scope`` (``{"data": ..., "payload": ...}``)."""
        return "".join(part if isinstance(part, str) else _value(part, scope) for part in self.parts)


def parse_message(text: str) -> Message:
    parts: list[str | Placeholder] = []
    literal: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        literal.append(text[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
            continue
        if match.group(1) is None:
            raise ExpressionSyntaxError(
                f"a lone `{token}`: write `{token * 2}` for a literal brace, or `{{data.field}}` for a field",
                match.start(),
            )
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(_placeholder(match.group(1), match.start(1)))
    literal.append(text[position:])
    if any(literal):
        parts.append("".join(literal))
    return Message(text, tuple(parts))


def _placeholder(name: str, offset: int) -> Placeholder:
    root, *fields = name.strip().split(".")
    if root not in ROOTS or not fields:
        raise ExpressionSyntaxError(
            f"the placeholder `{{{name}}}` must name a field of the data or the payload, "
            f"e.g. `{{data.customer}}` or `{{payload.reason}}`",
            offset,
        )
    for field in fields:
        if not _FIELD.fullmatch(field):
            raise ExpressionSyntaxError(f"`{field}` in the placeholder `{{{name}}}` is not a field name", offset)
    return Placeholder(root, tuple(fields), offset)


def _value(placeholder: Placeholder, scope: Mapping[str, Any]) -> str:
    value: Any = scope.get(placeholder.root, {})
    for field in placeholder.fields:
        if (type(value) is not dict and not isinstance(value, Mapping)) or field not in value:
            return MISSING
        value = value[field]
    if value is None:
        return MISSING
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
