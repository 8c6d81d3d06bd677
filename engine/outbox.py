"""The outbox: what each history entry tells other systems, as rows the store writes in the event's own
transaction, and the retry policy the worker delivers them by. No I/O here; ``engine.delivery`` sends.

Every entry gives one ``event`` message; an entry fired by a deadline gives a ``deadline`` message too;
each clock mark of a warning or breach (``warning``, ``limit``, ``ceiling``) a ``clock`` message; each
notification the event made due (``Entry.notifications``) a ``notification`` message. Their delivery
ids are ``<instance id>/<entry index>/<n>``, n counting the entry's messages in that order, so the same
entry always gives the same ids: a receiver drops a delivery whose id it has already seen (delivery is
at least once).

Each message's payload (``procflow-outbox/1``)::

    {"format": "procflow-outbox/1", "delivery": "case-1/3/0", "kind": "event",
     "instance": "case-1", "process": {"id": "return_repair", "version": 1, "content_hash": "…"},
     "entry": 3, "at": "…", "state": "quality_check",
     "event": {...}}          # kind event: the history entry as ``procflow history --json`` writes it
     "deadline": {"trigger": "escalate", "source": "repair", "dest": "…"}  # kind deadline
     "clock": {"clock": "repair_time", "event": "warning", "notify": ["lead"]}  # kind clock
     "notification": {"cause": "enter:quality_check", "roles": ["qc"], "zh": "…", "en": "…", "at": "…"}
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.instances import Entry, Instance, entry_to_json, notification_to_json

FORMAT = "procflow-outbox/1"
KINDS = ("event", "deadline", "clock", "notification")
CLOCK_ALERTS = ("warning", "limit", "ceiling")
"""The clock marks that are told: a warning, and the two breaches."""

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
OUTBOX_STATES = (PENDING, DELIVERED, DEAD)


@dataclass(frozen=True, slots=True)
class Message:
    """One outbox row as written with its event."""

    id: str
    """The delivery id: ``<instance id>/<entry index>/<n>``, the same every time for the same entry."""
    kind: str
    instance_id: str
    process_id: str
    entry_index: int
    payload: Mapping[str, Any]
    roles: tuple[str, ...] = ()
    """Whom a ``notification`` or ``clock`` message is for (the address book turns roles into addresses)."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A stored message with its delivery state, as a worker claims it or ``procflow outbox`` lists it."""

    message: Message
    created_at: datetime.datetime
    attempts: int
    next_attempt: datetime.datetime
    state: str
    """``pending``, ``delivered`` or ``dead`` (dead-lettered after ``RetryPolicy.attempts`` failures)."""
    sent_to: tuple[str, ...] = ()
    """The targets that have accepted it already: a retry sends only to the others."""
    last_error: str | None = None


def messages(instance: Instance, first: int = 0, documents: Sequence[Mapping[str, Any]] | None = None) -> list[Message]:
    """The messages of the instance's entries from ``first`` on, in order; ``documents``, if given,
    holds those entries' ``entry_to_json`` already built (the store has just encoded them)."""
    return [
        m
        for index in range(first, len(instance.history))
        for m in _entry_messages(
            instance, index, entry_to_json(instance.history[index]) if documents is None else documents[index - first]
        )
    ]


def payload_text(message: Message, encode: Callable[[Any], str], entry_text: str) -> str:
    """``encode(message.payload)`` for an encoder of compact JSON (separators ``,`` and ``:``, keys in
    order), given ``entry_text``, the entry's JSON as that encoder wrote it: an ``event`` message's last
    member is the entry, set in as already encoded instead of encoded a second time."""
    if message.kind != "event":
        return encode(message.payload)
    head = encode({name: value for name, value in message.payload.items() if name != "event"})
    return f'{head[:-1]},"event":{entry_text}}}'


def _entry_messages(instance: Instance, index: int, document: Mapping[str, Any]) -> list[Message]:
    entry = instance.history[index]
    found: list[tuple[str, Mapping[str, Any], tuple[str, ...]]] = [("event", {"event": document}, ())]
    if entry.by_deadline:
        found.append(("deadline", {"deadline": _deadline(entry)}, ()))
    for mark in entry.clocks:
        if mark.event in CLOCK_ALERTS:
            found.append(
                (
                    "clock",
                    {"clock": {"clock": mark.clock, "event": mark.event, "notify": list(mark.notify)}},
                    mark.notify,
                )
            )
    for notification in entry.notifications:
        found.append(("notification", {"notification": notification_to_json(notification)}, notification.roles))
    result = []
    for n, (kind, body, roles) in enumerate(found):
        delivery = f"{instance.id}/{index}/{n}"
        payload = {
            "format": FORMAT,
            "delivery": delivery,
            "kind": kind,
            "instance": instance.id,
            "process": {
                "id": instance.process_id,
                "version": instance.process_version,
                "content_hash": instance.content_hash,
            },
            "entry": index,
            "at": document["at"],  # the entry's own text of its moment
            "state": entry.state,
            **body,
        }
        result.append(Message(delivery, kind, instance.id, instance.process_id, index, payload, tuple(roles)))
    return result


def _deadline(entry: Entry) -> dict[str, Any]:
    return {"trigger": entry.trigger, "source": entry.source, "dest": entry.state}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter: after the n-th failure the next attempt waits a random time
    up to ``min(longest, first * 2 ** (n - 1))``, at least ``first / 2``; after ``attempts`` failures the
    row is dead-lettered (``procflow outbox --retry`` puts it back)."""

    attempts: int = 8
    first: datetime.timedelta = datetime.timedelta(seconds=10)
    longest: datetime.timedelta = datetime.timedelta(hours=1)

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> datetime.timedelta:
        ceiling = min(self.longest, self.first * (2 ** max(0, failures - 1)))
        floor = min(ceiling, self.first / 2)
        wait: datetime.timedelta = floor + (ceiling - floor) * rand()
        return wait

    def gives_up(self, failures: int) -> bool:
        return failures >= self.attempts
