"""An instance of a process and its history: a mutable record that the runtime changes in place
(only after an event has passed every check), that stores save and load, and that renderers overlay
on a chart. No behaviour lives here beyond reading and writing JSON; firing events is
``engine.runtime``'s job.

The JSON form (``instance_to_json``) is the history file ``procflow history --json`` writes and
``procflow render --instance`` reads::

    {"format": "procflow-instance/1", "id": "...",
     "process": {"id": "return_repair", "version": 1, "content_hash": "…"},
     "state": "repair", "data": {...}, "entered_at": "2026-11-23T09:00:00+08:00",
     "deadlines": [{"state": "repair", "due": "…", "fire": "escalate"}],
     "history": [{"at": "…", "actor": "li", "roles": ["engineer"], "trigger": "repaired",
                  "source": "repair", "dest": "quality_check", "payload": {...},
                  "branches": [{"decision": "check_charge", "branch": 0, "dest": "inform_customer"}],
                  "signatures": [{"role": "engineer", "actor": "li", "at": "…"}],
                  "by_deadline": false, "key": null,
                  "notifications": [{"cause": "enter:quality_check", "roles": ["qc"], "zh": "…", "en": "…",
                                     "at": "…"}]}]}

An entry that did a part of its step (``engine.model.Part``) says which: ``"part": {"id": "…",
"item": "…" or null}``; the key is left out on other entries. So is ``"assignment": {"action":
"claim" | "release" | "assign", "to": "…" or null, "roles": [...]}``, written only on an entry that
claimed, released or assigned the step (``engine.work``): its trigger is null, its source and dest
the step. And ``"correction": {"reason": "…"}``, written only on an administrator's move by hand
(``Runtime.move``): its trigger is null, its dest the step the case was put in.

An entry that moved the case onto another revision of its definition (``procflow migrate``) says so in
``"migration"``: ``{"format": "procflow-migration/1", "plan": "…", "from": {"revision": 1, "version": 1,
"content_hash": "…"}, "to": {…}, "steps": {"old": "new"}}``; its ``payload`` holds the data the plan set.
The key is left out on every other entry, so entries written before migrations keep their text and digests.

``notifications`` is written only on an entry that made some due (so the entries written before it
existed keep their text and digests).
                  "records": [{"record": "repair_record", "version": 1, "fields": {...}}]}],
     "records": {"repair_record": [{"record": "repair_record", "version": 1, "fields": {...},
                                    "actor": "li", "roles": ["engineer"], "at": "…", "event": 9,
                                    "trigger": "repaired", "amended": false}]}}

Times are ISO 8601 with their UTC offset. The first history entry is the start: its ``trigger`` and
``source`` are null and its ``dest`` is the start state.

Records live in the history: an entry lists the record versions its event wrote (the key is left
out when it wrote none, so entries written before records existed keep their text and digest).
The top-level ``records`` is a view of them for readers, by record and version with author, time
and event; reading checks that it agrees with the history.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Mapping
from copy import deepcopy
from dataclasses import dataclass, field, fields, replace
from typing import Any

from engine.errors import InstanceFormatError
from engine.frozen import quick_init
from engine.inputs import check_name, json_copy
from engine.model import CLOCK_THRESHOLDS, Duration, TimeUnit
from engine.timing import amount_duration

FORMAT = "procflow-instance/1"


@quick_init
@dataclass(frozen=True, slots=True)
class Signature:
    """A named person's signature given with an event: who, as which role, when."""

    role: str
    actor: str
    at: datetime.datetime


@quick_init
@dataclass(frozen=True, slots=True)
class BranchTaken:
    """The branch a decision took on entry."""

    decision: str
    branch: int | None
    """The index of the branch in the decision's ``branches``; ``None`` for its ``default``."""
    dest: str


CLOCK_EVENTS = ("started", "restarted", "paused", "resumed", "stopped", "warning", "limit", "ceiling")
"""What can happen to a clock: the first five at an event, the last three when its running time reaches
that threshold (``limit`` and ``ceiling`` are breaches)."""


@quick_init
@dataclass(frozen=True, slots=True)
class ClockMark:
    """Something that happened to one of the process's clocks, recorded on the history entry of the
    moment it happened. ``notify`` lists the roles a notification became due to."""

    clock: str
    event: str
    notify: tuple[str, ...] = ()
    lengths: tuple[tuple[str, Duration], ...] = ()
    """On a ``started`` or ``restarted`` mark: the running time of each point of the clock taken from the
    data (``limit: {hours: data.quantity * 2}``), worked out then. It holds until the clock starts again, so a
    later change of the data does not move a running promise, and replay reads it from here."""
    moments: tuple[tuple[str, datetime.datetime], ...] = ()
    """On a ``started`` or ``restarted`` mark: the moment of each point taken from a date in the data
    (``limit: {at: data.pickup_at}``), worked out then and held like ``lengths``."""


@quick_init
@dataclass(frozen=True, slots=True)
class NotificationDue:
    """Someone to tell something, recorded with the event that made it due; delivering it is not the
    engine's job. The text is rendered from the event's data and payload, in both languages."""

    cause: str
    """What made it due: ``enter:<state>`` or ``transition:<trigger>``."""
    roles: tuple[str, ...]
    zh: str
    en: str
    at: datetime.datetime


@quick_init
@dataclass(frozen=True, slots=True)
class RecordWritten:
    """A version of a record an event wrote: the record's whole content at that version."""

    record: str
    version: int
    """1 for the event that first made it; each later ``produces`` or ``amends`` adds one."""
    fields: Mapping[str, Any]
    amended: bool = False
    """Written by ``amends``: the previous version's fields with the payload's written over them."""


@quick_init
@dataclass(frozen=True, slots=True)
class RecordVersion:
    """One version of a record as the instance keeps it: its content, who wrote it (with the roles
    they held), when, and the event that did (its index in the history)."""

    record: str
    version: int
    fields: Mapping[str, Any]
    actor: str
    roles: tuple[str, ...]
    at: datetime.datetime
    event: int
    trigger: str | None
    amended: bool


@quick_init
@dataclass(frozen=True, slots=True)
class Link:
    """One end of the link between a step that started another procedure and the instance it started:
    the other instance's id and process, and a state (which one, the field holding the link says)."""

    instance: str
    process: str
    state: str


ASSIGNMENT_ACTIONS = ("claim", "release", "assign")


@quick_init
@dataclass(frozen=True, slots=True)
class Assignment:
    """Who holds a step (``engine.work``): its actor claimed it, released it, or assigned it to ``to``."""

    action: str
    """``claim``, ``release`` or ``assign``."""
    to: str | None
    """Who holds the step after it: the actor for a claim, the assignee, ``None`` once released."""
    roles: tuple[str, ...] = ()
    """The roles the holder was given the step with (an assignee's, as the supervisor named them)."""


MIGRATION_FORMAT = "procflow-migration/1"
"""The format of the ``migration`` of a history entry (``Migration``)."""


@quick_init
@dataclass(frozen=True, slots=True)
class RevisionMark:
    """One stored revision of a definition, as a migration entry names it."""

    revision: int
    version: int
    """The ``version:`` the definition declares."""
    content_hash: str


@quick_init
@dataclass(frozen=True, slots=True)
class Migration:
    """What a migration entry records besides who and when: the plan, the revision the case left and the
    one it went to, and the plan's mapping of old steps to new ones (those it names; any other step
    maps to the step of the same id)."""

    plan: str
    source: RevisionMark
    target: RevisionMark
    steps: tuple[tuple[str, str], ...] = ()


@quick_init
@dataclass(frozen=True, slots=True)
class Entry:
    """One event applied to an instance. Entries are only ever appended."""

    at: datetime.datetime
    actor: str
    roles: tuple[str, ...]
    """The roles the actor held when acting."""
    trigger: str | None
    """``None`` for the entry that started the instance."""
    source: str | None
    dest: str
    """Where the transition led; when that is a decision, ``branches`` says where it went on to."""
    payload: Mapping[str, Any]
    branches: tuple[BranchTaken, ...] = ()
    signatures: tuple[Signature, ...] = ()
    by_deadline: bool = False
    """Fired by the engine when a deadline passed, not by a person."""
    key: str | None = None
    """The idempotency key the client sent with the event, if any."""
    notifications: tuple[NotificationDue, ...] = ()
    """The notifications the event made due, in the order declared: the transition's, then each state's entered."""
    records: tuple[RecordWritten, ...] = ()
    """The record versions this event wrote (``produces``, ``amends``)."""
    limit_reached: bool = False
    """The transition had been taken as often as its ``limit`` allows, so the event went to the
    limit's ``then`` (``dest``) instead."""
    child: Link | None = None
    """The event entered a step that starts another procedure: the instance it started (``state``:
    the step here that waits for it)."""
    parent: Link | None = None
    """On a start entry: the instance whose step started this one (``state``: that step)."""
    child_ended: Link | None = None
    """The event was fired by the engine because the child instance ended (``state``: its final state)."""
    clocks: tuple[ClockMark, ...] = ()
    """What happened to the process's clocks with this entry. An entry with clocks but no trigger (and a
    ``source``) is a clock's warning or breach on its own, recorded by the engine at that moment."""

    correction: str | None = None
    """An administrator moved the case to ``dest`` by hand (``Runtime.move``): the reason they gave.
    Such an entry has no trigger."""

    migration: Migration | None = None
    """The case was moved onto another revision of its definition (``procflow migrate``): from which to
    which, by which plan. Such an entry has no trigger; ``payload`` holds the data the plan set, and every
    entry after it runs on the new revision."""

    part: str | None = None
    """The part of its step this event did (its trigger is the part's id); ``None`` for any other event."""
    item: str | None = None
    """For a part done per item of a list (``for_each``), the key of the item it was done for."""
    assignment: Assignment | None = None
    """The event claimed, released or assigned the step (it has no trigger and stays in the step)."""

    @property
    def clock_only(self) -> bool:
        """A clock's warning or breach recorded on its own: no transition was taken."""
        return (
            self.trigger is None
            and self.source is not None
            and self.assignment is None
            and self.correction is None
            and self.migration is None
        )

    @property
    def state(self) -> str:
        """The state the instance rested in after this event."""
        return self.branches[-1].dest if self.branches else self.dest

    def steps(self) -> Iterator[tuple[str, str]]:
        """The edges this event walked: the transition, then each decision's branch."""
        if self.source is not None and self.trigger is not None:
            yield self.source, self.dest
        for taken in self.branches:
            yield taken.decision, taken.dest


@quick_init
@dataclass(frozen=True, slots=True)
class OpenDeadline:
    """A time limit of the current stay. ``fire`` is the trigger to fire when it passes, or
    ``None`` for a time limit that only makes the instance overdue."""

    state: str
    due: datetime.datetime
    fire: str | None
    clock: str | None = None
    """For a clock's point: the clock (``engine.clocks``); ``state`` is then the state the case was in
    when it was last worked out, and ``fire`` is ``CLOCK_FIRE``, or ``None`` for the mark that keeps a
    breached clock's instance overdue until the clock stops."""
    threshold: str | None = None
    """The clock's point: ``warning``, ``limit`` or ``ceiling``."""


CLOCK_FIRE = "procflow:clock"
"""The ``fire`` of a clock's point: workers claim it like any deadline, and the runtime records it."""


@dataclass(slots=True, eq=True)
class Instance:
    """A running (or finished) instance. The runtime replaces ``state``, ``data``, ``entered_at`` and
    ``deadlines`` and appends to ``history`` only once an event has passed every check, so a refused
    event leaves an instance exactly as it was."""

    id: str
    process_id: str
    process_version: int
    content_hash: str
    state: str
    data: dict[str, Any]
    entered_at: datetime.datetime
    """When the current stay in ``state`` began (a transition back into the same state keeps it)."""
    deadlines: tuple[OpenDeadline, ...] = ()
    history: list[Entry] = field(default_factory=list)
    facts_cache: dict[Any, Any] | None = field(default=None, init=False, repr=False, compare=False)
    """What ``engine.history_facts`` has worked out of ``history`` so far, by kind, for the next event
    to read only the entries after it: a cache that module alone reads, checked against the history's
    last entry. ``history`` is only ever appended to; code that changes it otherwise sets this to
    ``None``. Not an argument: a copy (``dataclasses.replace``, ``copy.copy``, ``copy.deepcopy``)
    starts without it, since its answers are this instance's (and hold the definitions they read)."""

    def __copy__(self) -> Instance:
        return replace(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Instance:
        return replace(self, **{f.name: deepcopy(getattr(self, f.name), memo) for f in fields(self) if f.init})

    @property
    def version(self) -> int:
        """The number of events applied, the start included; stores use it for optimistic concurrency."""
        return len(self.history)

    def overdue(self, now: datetime.datetime) -> tuple[OpenDeadline, ...]:
        """The open deadlines and time limits that have passed at ``now``."""
        return tuple(d for d in self.deadlines if d.due <= now)

    @property
    def records(self) -> Mapping[str, tuple[RecordVersion, ...]]:
        """Every record the instance holds, by id in the order first made, each with all its versions
        (oldest first). Read from the history, whose entries are only appended: replaying the history
        rebuilds them exactly, and a store that keeps the history keeps them."""
        return record_versions(self.history)


def record_versions(history: Iterable[Entry]) -> dict[str, tuple[RecordVersion, ...]]:
    kept: dict[str, list[RecordVersion]] = {}
    for index, entry in enumerate(history):
        for written in entry.records:
            kept.setdefault(written.record, []).append(
                RecordVersion(
                    written.record,
                    written.version,
                    written.fields,
                    entry.actor,
                    entry.roles,
                    entry.at,
                    index,
                    entry.trigger,
                    written.amended,
                )
            )
    return {record: tuple(versions) for record, versions in kept.items()}


def record_version_to_json(version: RecordVersion) -> dict[str, Any]:
    return {
        "record": version.record,
        "version": version.version,
        "fields": version.fields,
        "actor": version.actor,
        "roles": list(version.roles),
        "at": version.at.isoformat(),
        "event": version.event,
        "trigger": version.trigger,
        "amended": version.amended,
    }


def instance_to_json(instance: Instance) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "id": instance.id,
        "process": {
            "id": instance.process_id,
            "version": instance.process_version,
            "content_hash": instance.content_hash,
        },
        "state": instance.state,
        "data": instance.data,
        "entered_at": instance.entered_at.isoformat(),
        "deadlines": [deadline_to_json(d) for d in instance.deadlines],
        "history": [entry_to_json(e) for e in instance.history],
        "records": {
            record: [record_version_to_json(v) for v in versions] for record, versions in instance.records.items()
        },
    }


def deadline_to_json(deadline: OpenDeadline) -> dict[str, Any]:
    document: dict[str, Any] = {"state": deadline.state, "due": deadline.due.isoformat(), "fire": deadline.fire}
    if deadline.clock is not None:
        document["clock"], document["threshold"] = deadline.clock, deadline.threshold
    return document


def entry_to_json(entry: Entry) -> dict[str, Any]:
    document = _entry_json(entry)
    if entry.clocks:  # written only when there are some, so entries from before clocks read the same
        document["clocks"] = [_mark_json(m) for m in entry.clocks]
    return document


def _mark_json(mark: ClockMark) -> dict[str, Any]:
    document: dict[str, Any] = {"clock": mark.clock, "event": mark.event, "notify": list(mark.notify)}
    if mark.lengths:  # written only when there are some, so marks from before read the same
        document["lengths"] = {
            name: {"amount": d.amount, "unit": d.unit, "working": d.working} for name, d in mark.lengths
        }
    if mark.moments:  # likewise
        document["moments"] = {name: moment.isoformat() for name, moment in mark.moments}
    return document


def _entry_json(entry: Entry) -> dict[str, Any]:
    return (
        {
            "at": entry.at.isoformat(),
            "actor": entry.actor,
            "roles": list(entry.roles),
            "trigger": entry.trigger,
            "source": entry.source,
            "dest": entry.dest,
            "payload": entry.payload,
            "branches": [{"decision": b.decision, "branch": b.branch, "dest": b.dest} for b in entry.branches],
            "signatures": [{"role": s.role, "actor": s.actor, "at": s.at.isoformat()} for s in entry.signatures],
            "by_deadline": entry.by_deadline,
            "key": entry.key,
        }
        | ({"notifications": [notification_to_json(n) for n in entry.notifications]} if entry.notifications else {})
        | (
            # Written only when there are some, so an entry's text (and its digest) is what it was before records.
            {"records": [_written_to_json(r) for r in entry.records]} if entry.records else {}
        )
        | ({"part": {"id": entry.part, "item": entry.item}} if entry.part is not None else {})
        | ({"limit_reached": True} if entry.limit_reached else {})
        | ({"correction": {"reason": entry.correction}} if entry.correction is not None else {})
        | ({"assignment": _assignment_to_json(entry.assignment)} if entry.assignment is not None else {})
        | ({"migration": _migration_to_json(entry.migration)} if entry.migration is not None else {})
        | {name: _link_to_json(link) for name, link in _links(entry) if link is not None}
    )


def _migration_to_json(migration: Migration) -> dict[str, Any]:
    return {
        "format": MIGRATION_FORMAT,
        "plan": migration.plan,
        "from": _revision_to_json(migration.source),
        "to": _revision_to_json(migration.target),
        "steps": dict(migration.steps),
    }


def _revision_to_json(mark: RevisionMark) -> dict[str, Any]:
    return {"revision": mark.revision, "version": mark.version, "content_hash": mark.content_hash}


def _migration_from_json(value: Any, where: str) -> Migration:
    doc = _mapping(value, where)
    if doc.get("format") != MIGRATION_FORMAT:
        raise InstanceFormatError(f'{where}.format must be "{MIGRATION_FORMAT}", got {doc.get("format")!r}')
    steps = _mapping(doc.get("steps", {}), f"{where}.steps")
    return Migration(
        plan=_string(doc.get("plan"), f"{where}.plan"),
        source=_revision_from_json(doc.get("from"), f"{where}.from"),
        target=_revision_from_json(doc.get("to"), f"{where}.to"),
        steps=tuple((_text(old, f"{where}.steps"), _text(new, f"{where}.steps.{old}")) for old, new in steps.items()),
    )


def _revision_from_json(value: Any, where: str) -> RevisionMark:
    doc = _mapping(value, where)
    return RevisionMark(
        revision=_integer(doc.get("revision"), f"{where}.revision"),
        version=_integer(doc.get("version"), f"{where}.version"),
        content_hash=_text(doc.get("content_hash"), f"{where}.content_hash"),
    )


def _links(entry: Entry) -> tuple[tuple[str, Link | None], ...]:
    return (("child", entry.child), ("parent", entry.parent), ("child_ended", entry.child_ended))


def _assignment_to_json(assignment: Assignment) -> dict[str, Any]:
    return {"action": assignment.action, "to": assignment.to, "roles": list(assignment.roles)}


def _assignment_from_json(value: Any, where: str) -> Assignment | None:
    if value is None:
        return None
    doc = _mapping(value, where)
    action = doc.get("action")
    if action not in ASSIGNMENT_ACTIONS:
        raise InstanceFormatError(f"{where}.action must be one of {', '.join(ASSIGNMENT_ACTIONS)}, got {action!r}")
    to = doc.get("to")
    return Assignment(
        action=action,
        to=None if to is None else _name(to, f"{where}.to"),
        roles=tuple(_name(r, f"{where}.roles") for r in _list(doc.get("roles", []), f"{where}.roles")),
    )


def _link_to_json(link: Link) -> dict[str, str]:
    return {"instance": link.instance, "process": link.process, "state": link.state}


def _link_from_json(value: Any, where: str) -> Link | None:
    if value is None:
        return None
    doc = _mapping(value, where)
    return Link(
        instance=_text(doc.get("instance"), f"{where}.instance"),
        process=_text(doc.get("process"), f"{where}.process"),
        state=_text(doc.get("state"), f"{where}.state"),
    )


def notification_to_json(notification: NotificationDue) -> dict[str, Any]:
    return {
        "cause": notification.cause,
        "roles": list(notification.roles),
        "zh": notification.zh,
        "en": notification.en,
        "at": notification.at.isoformat(),
    }


def _written_to_json(written: RecordWritten) -> dict[str, Any]:
    return {"record": written.record, "version": written.version, "fields": written.fields} | (
        {"amended": True} if written.amended else {}
    )


def instance_from_json(document: Any) -> Instance:
    """The instance a JSON document describes; ``InstanceFormatError`` says what is wrong with it.

    Its data, payloads and names are held to the limits the runtime holds what it records to
    (``engine.inputs``), so an instance read is one that can be written out again."""
    doc = _mapping(document, "the document")
    if doc.get("format") != FORMAT:
        found = doc.get("format")
        raise InstanceFormatError(f'not a procflow instance record: "format" must be "{FORMAT}", got {found!r}')
    process = _mapping(doc.get("process"), '"process"')
    history = doc.get("history")
    if not isinstance(history, list) or not history:
        raise InstanceFormatError('"history" must be a list holding at least the start entry')
    deadlines = doc.get("deadlines", [])
    if not isinstance(deadlines, list):
        raise InstanceFormatError('"deadlines" must be a list')
    data = doc.get("data")
    if not isinstance(data, dict):
        raise InstanceFormatError('"data" must be an object')
    instance = Instance(
        id=_text(doc.get("id"), '"id"'),
        process_id=_text(process.get("id"), '"process.id"'),
        process_version=_integer(process.get("version"), '"process.version"'),
        content_hash=_text(process.get("content_hash"), '"process.content_hash"'),
        state=_text(doc.get("state"), '"state"'),
        data=json_copy(data, '"data"', InstanceFormatError, sized=False),
        entered_at=_time(doc.get("entered_at"), '"entered_at"'),
        deadlines=tuple(deadline_from_json(d, f'"deadlines"[{i}]') for i, d in enumerate(deadlines)),
        history=[entry_from_json(e, f'"history"[{i}]') for i, e in enumerate(history)],
    )
    if "records" in doc:  # a view of the history, written for readers: it must agree with it
        shown = {record: [record_version_to_json(v) for v in vs] for record, vs in instance.records.items()}
        if doc["records"] != shown:
            raise InstanceFormatError('"records" does not agree with the records the history\'s entries wrote')
    return instance


def deadline_from_json(document: Any, where: str = "the deadline") -> OpenDeadline:
    doc = _mapping(document, where)
    fire = doc.get("fire")
    return OpenDeadline(
        state=_text(doc.get("state"), f"{where}.state"),
        due=_time(doc.get("due"), f"{where}.due"),
        fire=None if fire is None else _text(fire, f"{where}.fire"),
        clock=None if doc.get("clock") is None else _text(doc.get("clock"), f"{where}.clock"),
        threshold=None if doc.get("threshold") is None else _text(doc.get("threshold"), f"{where}.threshold"),
    )


def entry_from_json(document: Any, where: str = "the entry") -> Entry:
    doc = _mapping(document, where)
    payload = doc.get("payload", {})
    if not isinstance(payload, dict):
        raise InstanceFormatError(f"{where}.payload must be an object")
    branches = []
    for i, raw in enumerate(_list(doc.get("branches", []), f"{where}.branches")):
        taken = _mapping(raw, f"{where}.branches[{i}]")
        index = taken.get("branch")
        branches.append(
            BranchTaken(
                decision=_text(taken.get("decision"), f"{where}.branches[{i}].decision"),
                branch=None if index is None else _integer(index, f"{where}.branches[{i}].branch"),
                dest=_text(taken.get("dest"), f"{where}.branches[{i}].dest"),
            )
        )
    signatures = []
    for i, raw in enumerate(_list(doc.get("signatures", []), f"{where}.signatures")):
        signed = _mapping(raw, f"{where}.signatures[{i}]")
        signatures.append(
            Signature(
                role=_text(signed.get("role"), f"{where}.signatures[{i}].role"),
                actor=_name(signed.get("actor"), f"{where}.signatures[{i}].actor"),
                at=_time(signed.get("at"), f"{where}.signatures[{i}].at"),
            )
        )
    notifications = []
    for i, raw in enumerate(_list(doc.get("notifications", []), f"{where}.notifications")):
        due = _mapping(raw, f"{where}.notifications[{i}]")
        at = f"{where}.notifications[{i}]"
        notifications.append(
            NotificationDue(
                cause=_text(due.get("cause"), f"{at}.cause"),
                roles=tuple(_name(r, f"{at}.roles") for r in _list(due.get("roles", []), f"{at}.roles")),
                zh=_string(due.get("zh"), f"{at}.zh"),
                en=_string(due.get("en"), f"{at}.en"),
                at=_time(due.get("at"), f"{at}.at"),
            )
        )
    records = []
    for i, raw in enumerate(_list(doc.get("records", []), f"{where}.records")):
        written = _mapping(raw, f"{where}.records[{i}]")
        fields = written.get("fields")
        if not isinstance(fields, dict):
            raise InstanceFormatError(f"{where}.records[{i}].fields must be an object")
        version = _integer(written.get("version"), f"{where}.records[{i}].version")
        if version < 1:
            raise InstanceFormatError(f"{where}.records[{i}].version must be 1 or more, got {version}")
        records.append(
            RecordWritten(
                record=_text(written.get("record"), f"{where}.records[{i}].record"),
                version=version,
                fields=json_copy(fields, f"{where}.records[{i}].fields", InstanceFormatError, sized=False),
                amended=written.get("amended", False) is True,
            )
        )
    clocks = []
    for i, raw in enumerate(_list(doc.get("clocks", []), f"{where}.clocks")):
        mark = _mapping(raw, f"{where}.clocks[{i}]")
        event = mark.get("event")
        if event not in CLOCK_EVENTS:
            raise InstanceFormatError(
                f"{where}.clocks[{i}].event must be one of {', '.join(CLOCK_EVENTS)}, got {event!r}"
            )
        notify = _list(mark.get("notify", []), f"{where}.clocks[{i}].notify")
        clocks.append(
            ClockMark(
                clock=_text(mark.get("clock"), f"{where}.clocks[{i}].clock"),
                event=event,
                notify=tuple(_name(r, f"{where}.clocks[{i}].notify") for r in notify),
                lengths=_lengths(mark.get("lengths", {}), f"{where}.clocks[{i}].lengths"),
                moments=_moments(mark.get("moments", {}), f"{where}.clocks[{i}].moments"),
            )
        )
    trigger, source, key = doc.get("trigger"), doc.get("source"), doc.get("key")
    part, item = None, None
    if "part" in doc:
        done = _mapping(doc["part"], f"{where}.part")
        part = _text(done.get("id"), f"{where}.part.id")
        item = None if done.get("item") is None else _string(done.get("item"), f"{where}.part.item")
    correction = None
    if "correction" in doc:
        correction = _string(
            _mapping(doc["correction"], f"{where}.correction").get("reason"), f"{where}.correction.reason"
        )
    migration = None if "migration" not in doc else _migration_from_json(doc["migration"], f"{where}.migration")
    return Entry(
        at=_time(doc.get("at"), f"{where}.at"),
        actor=_name(doc.get("actor"), f"{where}.actor"),
        roles=tuple(_name(r, f"{where}.roles") for r in _list(doc.get("roles", []), f"{where}.roles")),
        trigger=None if trigger is None else _text(trigger, f"{where}.trigger"),
        source=None if source is None else _text(source, f"{where}.source"),
        dest=_text(doc.get("dest"), f"{where}.dest"),
        payload=json_copy(payload, f"{where}.payload", InstanceFormatError, sized=False),
        branches=tuple(branches),
        signatures=tuple(signatures),
        by_deadline=doc.get("by_deadline", False) is True,
        key=None if key is None else _text(key, f"{where}.key"),
        notifications=tuple(notifications),
        records=tuple(records),
        limit_reached=doc.get("limit_reached", False) is True,
        child=_link_from_json(doc.get("child"), f"{where}.child"),
        parent=_link_from_json(doc.get("parent"), f"{where}.parent"),
        child_ended=_link_from_json(doc.get("child_ended"), f"{where}.child_ended"),
        clocks=tuple(clocks),
        part=part,
        item=item,
        correction=correction,
        assignment=_assignment_from_json(doc.get("assignment"), f"{where}.assignment"),
        migration=migration,
    )


_LENGTH_UNITS: tuple[TimeUnit, ...] = ("minute", "hour", "day", "week")


def _lengths(value: Any, where: str) -> tuple[tuple[str, Duration], ...]:
    lengths = []
    for name, raw in _mapping(value, where).items():
        if name not in CLOCK_THRESHOLDS:
            raise InstanceFormatError(f"{where} names `{name}`, not one of {', '.join(CLOCK_THRESHOLDS)}")
        length = _mapping(raw, f"{where}.{name}")
        unit, working = length.get("unit"), length.get("working", False)
        if unit not in _LENGTH_UNITS or not isinstance(working, bool):
            raise InstanceFormatError(
                f"{where}.{name} must have a `unit` of {', '.join(_LENGTH_UNITS)} and `working` true or false, "
                f"got {dict(length)!r}"
            )
        amount = _integer(length.get("amount"), f"{where}.{name}.amount")
        if amount < 0:
            raise InstanceFormatError(f"{where}.{name}.amount must be 0 or more, got {amount}")
        lengths.append((name, amount_duration(amount, unit, working)))
    return tuple(lengths)


def _moments(value: Any, where: str) -> tuple[tuple[str, datetime.datetime], ...]:
    moments = []
    for name, raw in _mapping(value, where).items():
        if name not in CLOCK_THRESHOLDS:
            raise InstanceFormatError(f"{where} names `{name}`, not one of {', '.join(CLOCK_THRESHOLDS)}")
        moments.append((name, _time(raw, f"{where}.{name}")))
    return tuple(moments)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InstanceFormatError(f"{where} must be an object, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InstanceFormatError(f"{where} must be a list, got {type(value).__name__}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InstanceFormatError(f"{where} must be a non-empty string, got {value!r}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InstanceFormatError(f"{where} must be a string, got {value!r}")
    return value


def _name(value: Any, where: str) -> str:
    return check_name(value, where, InstanceFormatError)


def _integer(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InstanceFormatError(f"{where} must be an integer, got {value!r}")
    return value


def _time(value: Any, where: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(_text(value, where))
    except ValueError:
        raise InstanceFormatError(f"{where} must be an ISO 8601 time, got {value!r}") from None
    if moment.tzinfo is None:
        raise InstanceFormatError(f"{where} must carry its UTC offset (…+08:00 or …Z), got {value!r}")
    return moment
