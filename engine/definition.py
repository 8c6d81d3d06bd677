"""The one place that turns a located document into the definition model.

It trusts the shape the schema guarantees and nothing more: references between states, roles,
records and triggers are kept as written, and ``engine.checks`` proves they resolve.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeVar, cast

from engine.loader import LocatedDocument
from engine.model import (
    END_OF_DAY,
    Assignment,
    Branch,
    Calendar,
    Clock,
    ClockAction,
    ClockPoint,
    DataLimit,
    Deadline,
    Department,
    Duration,
    FieldName,
    FrozenJson,
    Limit,
    Notification,
    Part,
    Process,
    Record,
    RecordBinding,
    Role,
    SignOff,
    SourceDocument,
    SourceRef,
    State,
    StateKind,
    SubProcess,
    Text,
    TimeUnit,
    Transition,
    WhenRead,
    freeze_json,
)
from engine.pointers import lookup
from engine.source import DocumentPath
from engine.timing import parse_duration

try:  # the standard library's own SHA-256: hashlib's loads OpenSSL's libcrypto, 2 ms of `procflow validate`
    from _sha256 import sha256  # type: ignore[import-not-found]
except ImportError:  # a Python that names it otherwise (3.12: `_sha2`)
    from hashlib import sha256

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})
"""The exact types of a document's scalars: kept as they are when it is frozen."""
_T = TypeVar("_T")


def build_process(document: LocatedDocument) -> Process:
    """The model of a document that has passed ``engine.schema``."""
    data: dict[str, Any] = document.data  # type: ignore[assignment]
    names: set[Any] = set()
    frozen = _frozen_mapping(data, names)
    sources = {key: _source_document(key, value) for key, value in data["sources"].items()}
    builder = _StateBuilder(next(iter(sources)), tuple(data.get("records", {})), frozen)
    shared = tuple(
        builder.shared_transition(t, ("transitions", i), data["states"])
        for i, t in enumerate(data.get("transitions", []))
    )
    # Each state's shared transitions, in the order they are written: one pass over their sources, not
    # a search of every `source: "*"` list per state (which made 10,000 states take seconds).
    shared_from: dict[str, list[Transition]] = {}
    for transition in shared:
        for source in transition.sources:
            listed = shared_from.setdefault(source, [])
            if not listed or listed[-1] is not transition:
                listed.append(transition)
    states = {sid: builder.state(sid, raw, tuple(shared_from.get(sid, ()))) for sid, raw in data["states"].items()}
    return Process(
        id=data["id"],
        version=data["version"],
        title=_text(data["title"]),
        description=_optional_text(data.get("description")),
        owner=data["owner"],
        sources=_frozen(sources),
        calendar=_calendar(data.get("calendar", {})),
        departments=_frozen(
            {k: Department(k, _text(v), ("departments", k)) for k, v in data.get("departments", {}).items()}
        ),
        roles=_frozen(
            {
                k: Role(k, _text(v), v.get("department"), v.get("external", False), ("roles", k))
                for k, v in data["roles"].items()
            }
        ),
        records=_frozen(
            {
                k: Record(
                    k,
                    _text(v),
                    builder.frozen(("records", k, "fields")),
                    v.get("archived", False),
                    builder.source_ref(v.get("source")),
                    ("records", k),
                )
                for k, v in data.get("records", {}).items()
            }
        ),
        data_schema=builder.frozen(("data",)),
        states=_frozen(states),
        shared_transitions=shared,
        document=frozen,
        content_hash=cast(str, WhenRead(lambda: content_hash(frozen))),
        source_map=document.source_map,
        clocks=_frozen({k: builder.clock(k, v) for k, v in data.get("clocks", {}).items()}),
        administrators=tuple(data.get("administrators", ())),
        fields=_frozen(
            {k: FieldName(k, _text(v), v.get("description"), ("fields", k)) for k, v in data.get("fields", {}).items()}
        ),
        schema_field_names=None if _PASSED_OVER in names else frozenset(names),
    )


def content_hash(data: Any) -> str:
    """SHA-256 of the document's data as canonical JSON: comments, quoting and layout do not change it.
    The order of keys does: states, roles and records are shown in the order they are written. The data
    as loaded or frozen (``freeze_json``: a tuple is written as the list it was, a read-only mapping as
    its dict), the same text either way."""
    # A document holds no cycle (an alias names a complete anchor), so the encoder need not look for one.
    canonical = json.dumps(
        data, ensure_ascii=False, separators=(",", ":"), check_circular=False, default=_thawed_mapping
    )
    hashed: str = sha256(canonical.encode("utf-8")).hexdigest()
    return hashed


def frozen_document(data: dict[str, Any]) -> Mapping[str, FrozenJson]:
    """``freeze_json`` of a loaded document, a third cheaper: its mappings are dicts whose keys are text
    and its lists are lists (the loader makes no other kind), so each value's exact type says what it is
    and no key needs ``str``. Anything else is frozen by ``freeze_json``."""
    return _frozen_mapping(data, set())


def _frozen_mapping(data: dict[str, Any], names: set[Any]) -> Mapping[str, FrozenJson]:
    """``frozen_document``, putting in ``names`` the keys under each ``properties`` it meets (what
    ``Process.schema_field_names`` holds), and ``_PASSED_OVER`` if it left a part to ``freeze_json``."""
    properties = data.get(_PROPERTIES)
    if type(properties) is dict:
        names.update(properties)
    frozen: dict[str, FrozenJson] = {}
    for key, value in data.items():
        kind = type(value)
        if kind is dict:
            value = _frozen_mapping(value, names)
        elif kind is list:
            value = _frozen_list(value, names)
        elif kind not in _JSON_SCALARS:
            names.add(_PASSED_OVER)
            value = freeze_json(value)
        frozen[key] = value
    return MappingProxyType(frozen)


def _frozen_list(items: list[Any], names: set[Any]) -> tuple[FrozenJson, ...]:
    frozen: list[FrozenJson] = []
    for item in items:
        kind = type(item)
        if kind is dict:
            item = _frozen_mapping(item, names)
        elif kind is list:
            item = _frozen_list(item, names)
        elif kind not in _JSON_SCALARS:
            names.add(_PASSED_OVER)
            item = freeze_json(item)
        frozen.append(item)
    return tuple(frozen)


_PROPERTIES = "properties"
"""JSON Schema's keyword, looked up in every mapping: not a key of the definition language, which the
model reads (``tests/test_architecture.py`` holds those to the schema's)."""
_PASSED_OVER = object()
"""Among the names ``_frozen_mapping`` found: a part it did not walk (it is not a loaded document's)."""


_thawed_mapping = MappingProxyType.copy
"""The dict under a frozen mapping, for the encoder, which writes dicts (and lists and tuples) only."""


class _StateBuilder:
    def __init__(self, default_document: str, records: tuple[str, ...], document: FrozenJson):
        self.default_document = default_document
        self.records = records
        """Every declared record, in order: what ``requires: all`` stands for."""
        self.document = document
        """The whole document, frozen once: the model's schemas are its parts, not copies."""

    def frozen(self, path: DocumentPath) -> Any:
        """The frozen node at ``path``, or ``None`` where the document has none."""
        return lookup(self.document, path)

    def state(self, state_id: str, raw: Mapping[str, Any], shared: tuple[Transition, ...]) -> State:
        """The state ``state_id``; ``shared`` are the shared transitions that leave it."""
        path: DocumentPath = ("states", state_id)
        role = raw.get("role")
        own = tuple(self.transition(t, path + ("on", i), (state_id,), role) for i, t in enumerate(raw.get("on", [])))
        written_limit = raw.get("time_limit")
        time_limit = parse_duration(written_limit) if isinstance(written_limit, str) else None
        limit_from = _data_limit(written_limit, path + ("time_limit",)) if isinstance(written_limit, dict) else None
        return State(
            id=state_id,
            kind=StateKind(raw["type"]),
            label=_text(raw),
            description=_optional_text(raw.get("description")),
            role=role,
            time_limit=time_limit,
            deadlines=tuple(
                self.deadline(d, path + ("deadlines", i), time_limit, limit_from)
                for i, d in enumerate(raw.get("deadlines", []))
            ),
            produces=tuple(raw.get("produces", [])),
            source=self.source_ref(raw.get("source")),
            transitions=own + shared,
            branches=tuple(
                Branch(b["when"], b["dest"], _text(b), path + ("branches", i))
                for i, b in enumerate(raw.get("branches", []))
            ),
            default=Branch(None, raw["default"]["dest"], _text(raw["default"]), path + ("default",))
            if "default" in raw
            else None,
            path=path,
            addition=_optional_text(raw.get("addition")),
            notify=_notifications(raw.get("notify", ()), path + ("notify",)),
            time_limit_from=limit_from,
            requires=self.required_records(raw.get("requires")),
            starts=_sub_process(raw["starts"], path + ("starts",)) if "starts" in raw else None,
            limit=_limit(raw["limit"], path + ("limit",)) if "limit" in raw else None,
            parts=tuple(self.part(p, path + ("parts", i)) for i, p in enumerate(raw.get("parts", []))),
        )

    def part(self, raw: Mapping[str, Any], path: DocumentPath) -> Part:
        for_each = raw.get("for_each")
        return Part(
            id=raw["id"],
            label=_text(raw),
            roles=tuple(raw["roles"]),
            payload_schema=self.frozen(path + ("payload",)),
            produces=tuple(
                self.record_binding(b, path + ("produces", i), amend=False)
                for i, b in enumerate(raw.get("produces", []))
            ),
            required=raw.get("required", True),
            required_when=raw.get("required_when"),
            for_each=for_each.split(".", 1)[1] if for_each is not None else None,
            key=raw.get("key"),
            source=self.source_ref(raw.get("source")),
            path=path,
        )

    def deadline(
        self, raw: Mapping[str, Any], path: DocumentPath, time_limit: Duration | None, limit_from: DataLimit | None
    ) -> Deadline:
        after = raw.get("after")
        addition = _optional_text(raw.get("addition"))
        if after is None:
            return Deadline(time_limit, raw["fire"], path, addition=addition, after_from=limit_from)
        if isinstance(after, dict):
            return Deadline(
                None, raw["fire"], path, addition=addition, after_from=_data_limit(after, path + ("after",))
            )
        return Deadline(parse_duration(after), raw["fire"], path, addition=addition)

    def transition(
        self,
        raw: Mapping[str, Any],
        path: DocumentPath,
        sources: tuple[str, ...],
        source_role: str | None,
        shared: bool = False,
    ) -> Transition:
        conditions = raw.get("conditions", ())
        roles = raw.get("roles") or ([source_role] if source_role else [])
        return Transition(
            trigger=raw["trigger"],
            label=_text(raw),
            sources=sources,
            dest=raw["dest"],
            conditions=(conditions,) if isinstance(conditions, str) else tuple(conditions),
            roles=tuple(roles),
            payload_schema=self.frozen(path + ("payload",)),
            assignments=tuple(
                _assignment(name, value, path + ("set", name)) for name, value in raw.get("set", {}).items()
            ),
            signoffs=tuple(
                SignOff(
                    s["role"],
                    Text(s["zh"], s["en"]) if "zh" in s and "en" in s else None,
                    tuple(s.get("not_actor_of", ())),
                    path + ("signoffs", i),
                    when=s.get("when"),
                    same_actor_as=_names(s.get("same_actor_as", ())),
                    scope=s.get("scope", "history"),
                )
                for i, s in enumerate(raw.get("signoffs", []))
            ),
            shared=shared,
            path=path,
            addition=_optional_text(raw.get("addition")),
            notify=_notifications(raw.get("notify", ()), path + ("notify",)),
            produces=tuple(
                self.record_binding(b, path + ("produces", i), amend=False)
                for i, b in enumerate(raw.get("produces", []))
            )
            + tuple(
                self.record_binding(b, path + ("amends", i), amend=True) for i, b in enumerate(raw.get("amends", []))
            ),
            requires=self.required_records(raw.get("requires")),
            limit=_limit(raw["limit"], path + ("limit",)) if "limit" in raw else None,
            cancels=raw.get("cancels", False),
        )

    def shared_transition(self, raw: Mapping[str, Any], path: DocumentPath, states: Mapping[str, Any]) -> Transition:
        if raw["source"] == "*":
            sources = tuple(sid for sid, s in states.items() if s.get("type") != "final")
        else:
            sources = tuple(raw["source"])
        return self.transition(raw, path, sources, None, shared=True)

    def record_binding(self, raw: Any, path: DocumentPath, *, amend: bool) -> RecordBinding:
        if isinstance(raw, str):
            return RecordBinding(raw, None, amend, path)
        fields = raw.get("fields")
        if fields is None:
            return RecordBinding(raw["record"], None, amend, path)
        if isinstance(fields, list):
            return RecordBinding(raw["record"], tuple((f, "payload", f) for f in fields), amend, path)
        pairs = ((name, *source.split(".", 1)) for name, source in fields.items())
        return RecordBinding(raw["record"], tuple((n, root, field) for n, root, field in pairs), amend, path)

    def required_records(self, raw: Any) -> tuple[str, ...]:
        if raw is None:
            return ()
        return self.records if raw == "all" else tuple(raw)

    def clock(self, clock_id: str, raw: Mapping[str, Any]) -> Clock:
        path: DocumentPath = ("clocks", clock_id)
        points = (
            ("warning", raw.get("warning"), raw.get("on_warning"), "on_warning"),
            ("limit", raw.get("limit"), raw.get("on_breach"), "on_breach"),
            ("ceiling", raw.get("ceiling"), raw.get("on_ceiling"), "on_ceiling"),
        )
        thresholds = {
            name: (
                _data_limit(written, path + (name,)) if isinstance(written, dict) else parse_duration(written),
                _clock_action(action or {}, name, path + (key,)),
            )
            for name, written, action, key in points
            if written is not None
        }
        return Clock(
            id=clock_id,
            label=_text(raw),
            source=self.source_ref(raw.get("source")),
            starts=_clock_point(raw["starts"]),
            stops=_clock_point(raw["stops"]),
            pauses=tuple(raw.get("pauses", ())),
            restart=raw.get("restart", False),
            thresholds=_frozen(thresholds),
            path=path,
        )

    def source_ref(self, raw: Any) -> SourceRef | None:
        if raw is None:
            return None
        if isinstance(raw, str):
            return SourceRef(self.default_document, raw)
        return SourceRef(raw.get("document", self.default_document), raw["section"])


def _sub_process(raw: Mapping[str, Any], path: DocumentPath) -> SubProcess:
    return SubProcess(
        process=raw["process"],
        data=tuple((name, str(expression)) for name, expression in raw.get("data", {}).items()),
        role=raw.get("as"),
        on_end=tuple(raw["on_end"].items()),
        returns=tuple(raw.get("returns", {}).items()),
        path=path,
    )


def _assignment(name: str, value: Any, path: DocumentPath) -> Assignment:
    if isinstance(value, dict):  # {from: payload.notes, if_present: true}
        return Assignment(name, value["from"], None, path, bool(value.get("if_present", False)))
    return Assignment(name, value if isinstance(value, str) else None, None if isinstance(value, str) else value, path)


def _limit(raw: Mapping[str, Any], path: DocumentPath) -> Limit:
    """``{times: 3, then: escalate}``, or ``times`` from the data: ``{times: data.max_reworks}``."""
    times = raw["times"]
    if isinstance(times, str):
        return Limit(None, raw.get("then"), path, times_from=times)
    return Limit(times, raw.get("then"), path)


def _data_limit(raw: Mapping[str, Any], path: DocumentPath) -> DataLimit:
    """``{at: data.requested_date, before: 5 days}`` or ``{hours: data.quantity * 2}`` (the schema
    allows exactly one of these forms)."""
    if "at" in raw:
        before = parse_duration(raw["before"]) if "before" in raw else None
        return DataLimit(str(raw["at"]), None, False, before, path)
    amounts: tuple[tuple[Any, TimeUnit, bool], ...] = (
        (raw.get("minutes"), "minute", False),
        (raw.get("hours"), "hour", False),
        (raw.get("days"), "day", False),
        (raw.get("weeks"), "week", False),
        (raw.get("working_days"), "day", True),
        (raw.get("working_hours"), "hour", True),
    )
    expression, unit, working = next(amount for amount in amounts if amount[0] is not None)
    return DataLimit(str(expression), unit, working, None, path)


def _source_document(key: str, raw: Mapping[str, Any]) -> SourceDocument:
    return SourceDocument(key, raw["file"], _text(raw["title"]), raw.get("sections"))


def _names(raw: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """One name or a list of them, as a tuple."""
    return (raw,) if isinstance(raw, str) else tuple(raw)


def _clock_action(raw: Mapping[str, Any], name: str, path: DocumentPath) -> ClockAction:
    """What reaching a point does; only the limit and the ceiling mark the instance overdue by default."""
    return ClockAction(
        raw.get("overdue", name != "warning"), _names(raw.get("fire", ())), tuple(raw.get("notify", ())), path
    )


def _clock_point(raw: Mapping[str, Any]) -> ClockPoint:
    return ClockPoint(tuple(raw.get("enter", ())), tuple(raw.get("leave", ())), tuple(raw.get("on", ())))


def _calendar(raw: Mapping[str, Any]) -> Calendar:
    default = Calendar()
    hours = tuple(_working_period(p) for p in raw["working_hours"]) if "working_hours" in raw else default.working_hours
    return Calendar(
        timezone=raw.get("timezone", default.timezone),
        working_days=frozenset(_WEEKDAYS.index(d) for d in raw["working_days"])
        if "working_days" in raw
        else default.working_days,
        working_hours=hours,
        holidays=frozenset(datetime.date.fromisoformat(d) for d in raw.get("holidays", [])),
        extra_working_days=frozenset(datetime.date.fromisoformat(d) for d in raw.get("extra_working_days", [])),
    )


def _working_period(text: str) -> tuple[datetime.time, datetime.time]:
    start, end = text.split("-")
    return _clock(start), _clock(end)


def _clock(text: str) -> datetime.time:
    hour, minute = (int(part) for part in text.split(":"))
    return END_OF_DAY if (hour, minute) == (24, 0) else datetime.time(hour, minute)  # the schema allows no 24:xx


def _text(raw: Mapping[str, Any]) -> Text:
    return Text(raw["zh"], raw["en"])


def _optional_text(raw: Mapping[str, Any] | None) -> Text | None:
    return _text(raw) if raw is not None else None


def _notifications(raw: Any, path: DocumentPath) -> tuple[Notification, ...]:
    return tuple(Notification(tuple(n["roles"]), _text(n["text"]), path + (i,)) for i, n in enumerate(raw))


def _frozen(mapping: dict[str, _T]) -> Mapping[str, _T]:
    return MappingProxyType(mapping)
