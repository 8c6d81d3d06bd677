"""Notifications: their roles are declared and their texts read fields that exist where they are sent."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from engine.checks.support import declared_properties, reference_problems
from engine.digraph import Digraph
from engine.errors import ExpressionSyntaxError, Problem
from engine.messages import parse_message
from engine.model import (
    Notification,
    Process,
)
from engine.schema_errors import did_you_mean


def check_notifications(process: Process, graph: Digraph) -> Iterator[Problem]:
    data_fields = declared_properties(process, process.data_schema)
    for state in process.states.values():
        for notification in state.notify:
            yield from _notification(process, notification, {"data": data_fields}, f"state `{state.id}`")
    for transition in process.transitions:
        scope = {"data": data_fields, "payload": declared_properties(process, transition.payload_schema)}
        for notification in transition.notify:
            yield from _notification(process, notification, scope, f"transition `{transition.trigger}`")


def _notification(
    process: Process, notification: Notification, fields: Mapping[str, Mapping[str, Any] | None], owner: str
) -> Iterator[Problem]:
    for index, role in enumerate(notification.roles):
        yield from reference_problems(process, notification.path + ("roles", index), role, process.roles, "role")
    for language in ("zh", "en"):
        path = notification.path + ("text", language)
        text = getattr(notification.text, language)
        try:
            message = parse_message(text)
        except ExpressionSyntaxError as exc:
            yield Problem(process.source_map.locate_within(path, exc.offset), exc.message, code="notification-text")
            continue
        for placeholder in message.placeholders:
            name = placeholder.fields[0]
            known = fields.get(placeholder.root)
            if known is not None and name in known:
                continue
            place = process.source_map.locate_within(path, placeholder.offset)
            if placeholder.root not in fields:
                yield Problem(
                    place,
                    f"`{{{placeholder.name}}}`: a notification on entering a state reads only `data` "
                    "(the payload of the event that entered it is not known here); "
                    "copy the field into the data with `set:`, or notify on the transition",
                    code="unknown-field",
                )
                continue
            if known is None:
                if placeholder.root == "payload":
                    yield Problem(
                        place,
                        f"`{{{placeholder.name}}}`: {owner} takes no payload; declare `payload:` with the fields "
                        "its notification reads",
                        code="unknown-field",
                    )
                continue
            where = "`data.properties`" if placeholder.root == "data" else f"the `payload.properties` of {owner}"
            yield Problem(
                place,
                f"the notification of {owner} names `{{{placeholder.name}}}`, but `{name}` is not declared "
                f"under {where}{did_you_mean(name, known)}",
                code="unknown-field",
            )
