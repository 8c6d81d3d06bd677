"""Two definition models → what changed between them, element by element and field by field.

Compares models, never YAML text: comments, layout, key order and the way a duration is written
(``1d`` or ``24 hours``) change nothing. Each ``Change`` is one element added, removed, renamed or
changed, with the fields that differ (``FieldChange``: field, old, new) in plain JSON values.

Elements and their ids (ids are unique within one element type):

* ``process`` (its id): title, description, owner, version, calendar, the data schema's keywords
* ``source document`` (its key), ``department``, ``role``, ``record``, ``clock`` (their ids)
* ``record field`` ``record.field``, ``data field`` ``field`` (the data schema's properties)
* ``step`` (the state's id); ``transition`` ``step.trigger`` (``*.trigger`` for a shared one, and
  ``step.trigger#2`` for a second transition of a step with the same trigger); ``part`` ``step.part``
* ``form field`` ``step.trigger.field`` (or ``step.part.field``): a property of a payload schema

Renames. A step removed and one added are one step renamed when their similarity reaches
``RENAME_THRESHOLD`` (0.5): the mean of the labels' score (1 when zh and en are both the same, 0.5
when one is) and the transitions' score (how many of their transitions in and out, as
``(trigger, destination)`` and ``(source, trigger)`` pairs, the two share, over how many either has;
a transition from a step to itself counts as the same wherever the step is). So the same zh and en
labels alone, or the very same transitions alone, make a rename; a new label and half the same
transitions do not (0.25). A department, role, record or clock is renamed when its zh and en labels
are both the same. Pairs are matched best first. Once a step (or role, record…) is known renamed,
references to its old id count as references to the new one: a transition into it is not reported
as changed for the rename alone, and its transitions and parts are compared with the old ones.

Old values are compared in the new definition's names but shown as the old one writes them, so
``diff_processes(b, a)`` is ``diff_processes(a, b)`` with each change ``reversed()``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from engine.model import (
    Clock,
    ClockPoint,
    DataLimit,
    Department,
    Duration,
    Limit,
    Notification,
    Part,
    Process,
    Record,
    RecordBinding,
    Role,
    SourceDocument,
    SourceRef,
    State,
    Text,
    Transition,
    thaw_json,
)
from engine.pointers import is_local, resolve

ChangeKind = Literal["added", "removed", "renamed", "changed"]
CHANGE_KINDS: tuple[ChangeKind, ...] = get_args(ChangeKind)
ElementType = Literal[
    "process",
    "source document",
    "department",
    "role",
    "record",
    "record field",
    "data field",
    "step",
    "transition",
    "part",
    "form field",
    "clock",
]
ELEMENT_TYPES: tuple[ElementType, ...] = get_args(ElementType)
"""In the order changes are listed."""

RENAME_THRESHOLD = 0.5
"""The similarity (0 to 1) from which a removed step and an added one are taken for one renamed."""

DIFF_FORMAT = 1
"""The version of the JSON document ``changes_json`` gives (``schemas/diff.schema.json``)."""

Json = Any
"""Plain JSON: None, bool, int, float, str, lists and dicts of them."""


@dataclass(frozen=True)
class FieldChange:
    field: str
    """What differs, in words (``time limit``, ``roles``, ``required``)."""
    old: Json
    new: Json
    """``None`` on the side where the field (or the whole element) is not there."""


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    element: ElementType
    id: str
    """The element's id in the new definition; in the old one for a removed element."""
    fields: tuple[FieldChange, ...] = ()
    """Changed and renamed: the fields that differ. Added and removed: every field the element has."""
    old_id: str | None = None
    """Its id in the old definition's names, when that is another: renamed, or in a renamed step,
    record or form (for an added element, the id it would have had)."""
    score: float | None = None
    """Renamed: how alike the two were (see ``RENAME_THRESHOLD``)."""
    parent: str | None = None
    """The element it belongs to: a transition's or part's step, a field's record or form."""
    old_parent: str | None = None
    """With ``old_id``: the parent's id in the old definition."""

    def reversed(self) -> Change:
        """The same change seen from the new definition to the old one."""
        kind: ChangeKind = {"added": "removed", "removed": "added"}.get(self.kind, self.kind)  # type: ignore[assignment]
        flipped = tuple(FieldChange(f.field, f.new, f.old) for f in self.fields)
        if self.old_id is None:
            return Change(kind, self.element, self.id, flipped, None, self.score, self.parent)
        return Change(kind, self.element, self.old_id, flipped, self.id, self.score, self.old_parent, self.parent)

    def as_json(self) -> dict[str, Json]:
        document: dict[str, Json] = {"kind": self.kind, "element": self.element, "id": self.id}
        for name in ("old_id", "score", "parent", "old_parent"):
            if getattr(self, name) is not None:
                document[name] = getattr(self, name)
        document["fields"] = [{"field": f.field, "old": _plain(f.old), "new": _plain(f.new)} for f in self.fields]
        return document

    def lines(self) -> list[str]:
        """The change in plain words, one line per fact: ``step `review`: time limit 24h → 12h``."""
        if self.element in FIELD_ELEMENTS:
            owner = {"form field": "form of", "record field": "fields of record", "data field": "data"}[self.element]
            where = f"{owner} `{self.parent}`" if self.parent is not None else owner
            return [f"{where}: {note}" for note in self.notes()]
        what = f"{self.element} `{self.id}`"
        if self.kind in ("added", "removed"):
            return [f"{what} {self.kind}{_summary(self)}"]
        lines = []
        if self.kind == "renamed" and self.element in ("transition", "part") and not self.fields:
            return []  # renamed only with its step, which says so
        if self.kind == "renamed":
            lines.append(f"{self.element} `{self.old_id}` renamed to `{self.id}` (similarity {self.score:.2f})")
        return lines + [f"{what}: {note}" for note in self._field_notes()]

    def notes(self) -> list[str]:
        """The change in words that do not name the element (a chart writes them on it)."""
        if self.element in FIELD_ELEMENTS:
            return [_field_words(self)]
        if self.kind in ("added", "removed"):
            return [self.kind]
        renamed = [f"renamed from `{self.old_id}`"] if self.kind == "renamed" else []
        return renamed + self._field_notes()

    def _field_notes(self) -> list[str]:
        return [f"{f.field} {show(f.old)} → {show(f.new)}" for f in self.fields]


FIELD_ELEMENTS = frozenset({"form field", "record field", "data field"})
"""Elements that are fields of a schema: a form (payload), a record, the data."""


def _plain(value: Json) -> Json:
    return str(value) if isinstance(value, Written) else value


def diff_processes(old: Process, new: Process) -> tuple[Change, ...]:
    """Every change from ``old`` to ``new``, in ``ELEMENT_TYPES`` order, then by id."""
    changes = _Differ(old, new).changes()
    rank = {element: index for index, element in enumerate(ELEMENT_TYPES)}
    return tuple(sorted(changes, key=lambda c: (rank[c.element], c.id, c.kind)))


def changes_json(old: Process, new: Process, changes: Iterable[Change]) -> dict[str, Json]:
    """The document ``procflow diff --format json`` prints (``schemas/diff.schema.json``)."""
    listed = list(changes)
    return {
        "format": DIFF_FORMAT,
        "old": _side(old),
        "new": _side(new),
        "identical": not listed,
        "summary": {kind: sum(1 for c in listed if c.kind == kind) for kind in CHANGE_KINDS},
        "changes": [c.as_json() for c in listed],
    }


def _side(process: Process) -> dict[str, Json]:
    return {
        "file": process.file,
        "id": process.id,
        "version": process.version,
        "content_hash": process.content_hash,
    }


# --- showing values ---------------------------------------------------------------------------


def show(value: Json) -> str:
    """A field's value in words: lists joined by commas, ``none`` for nothing, JSON for the rest."""
    if value is None or value == [] or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _summary(change: Change) -> str:
    facts = {f.field: f.new if change.kind == "added" else f.old for f in change.fields}
    said = [show(facts[name]) for name in ("kind", "label") if name in facts]
    return f" ({'; '.join(said)})" if said else ""


def _field_words(change: Change) -> str:
    """``new required field `amount` (number)``, ``field `amount`: type string → number``."""
    name = change.id[len(change.parent) + 1 :] if change.parent is not None else change.id
    facts = {f.field: f.new if change.kind == "added" else f.old for f in change.fields}
    kind = f" ({show(facts['type'])})" if facts.get("type") is not None else ""
    required = "required " if facts.get("required") else ""
    if change.kind == "added":
        return f"new {required}field `{name}`{kind}"
    if change.kind == "removed":
        return f"{required}field `{name}` removed"
    said = "; ".join(f"{f.field} {show(f.old)} → {show(f.new)}" for f in change.fields)
    return f"field `{name}`: {said}"


# --- the comparison ---------------------------------------------------------------------------

Facts = dict[str, Json]
"""An element's comparable fields, by name; a field that is not there is absent (or ``None``)."""
Names = Callable[[str, str], str]
"""``(namespace, id) → id``: how an old definition's references read in the new one."""
Keyed = dict[str, tuple[str, Facts, Facts]]
"""Elements of the old definition by their id in the new one's names: ``(id as written, facts in the
new one's names, facts as written)``: compared by the first, shown by the second."""

_SELF = "<self>"


@dataclass(frozen=True)
class _Ids:
    """How one kind of element's ids read on each side."""

    old_id: Callable[[str], str]
    """The id in the old definition's names of what ``key`` names in the new one."""
    parent: Callable[[str], str | None]
    old_parent: Callable[[str], str | None]


def _no_parent(key: str) -> str | None:
    return None


def _step_of(key: str) -> str | None:
    return key.split(".", 1)[0]


class _Differ:
    def __init__(self, old: Process, new: Process):
        self.old, self.new = old, new
        self.renames: dict[str, dict[str, str]] = {ns: {} for ns in ("state", "role", "record", "department", "clock")}
        self.scores: dict[tuple[str, str], float] = {}

    def old_names(self, namespace: str, name: str) -> str:
        return self.renames[namespace].get(name, name)

    def written(self, namespace: str, new_id: str) -> str:
        """The old definition's id of what is ``new_id`` in the new one."""
        return next((o for o, n in self.renames[namespace].items() if n == new_id), new_id)

    def changes(self) -> list[Change]:
        old, new = self.old, self.new
        for namespace, before, after in (
            ("department", old.departments, new.departments),
            ("role", old.roles, new.roles),
            ("record", old.records, new.records),
            ("clock", old.clocks, new.clocks),
        ):
            self._match(namespace, before, after, lambda a, b: _label_score(a.label, b.label))
        self._match("state", old.states, new.states, lambda a, b: _state_score(old, a, new, b))
        facts = _process_facts(old)
        found = _compare("process", {new.id: (old.id, facts, facts)}, {new.id: _process_facts(new)}, {})
        found += self._elements("source document", None, old.sources, new.sources, _source_facts)
        found += self._elements("department", "department", old.departments, new.departments, _department_facts)
        found += self._elements("role", "role", old.roles, new.roles, _role_facts)
        found += self._elements("record", "record", old.records, new.records, _record_facts)
        for record_id in dict.fromkeys([*new.records, *(self.old_names("record", r) for r in old.records)]):
            written = self.written("record", record_id)
            was, now = old.records.get(written), new.records.get(record_id)
            found += self._fields(
                "record field", (record_id, written), was.fields if was else None, now.fields if now else None
            )
        found += self._fields("data field", None, old.data_schema, new.data_schema)
        found += self._elements("step", "state", old.states, new.states, _state_facts)
        found += self._transitions()
        found += self._parts()
        found += self._elements("clock", "clock", old.clocks, new.clocks, _clock_facts)
        return found

    def _match(
        self, namespace: str, old: Mapping[str, Any], new: Mapping[str, Any], score: Callable[[Any, Any], float]
    ) -> None:
        removed = [k for k in old if k not in new]
        added = [k for k in new if k not in old]
        pairs = [(score(old[a], new[b]), a, b) for a in removed for b in added]
        taken_old: set[str] = set()
        taken_new: set[str] = set()
        # Best first; ties broken by the pair's names, the same whichever side is called old.
        for value, a, b in sorted(pairs, key=lambda p: (-p[0], sorted((p[1], p[2])))):
            if value >= RENAME_THRESHOLD and a not in taken_old and b not in taken_new:
                taken_old.add(a)
                taken_new.add(b)
                self.renames[namespace][a] = b
                self.scores[(namespace, b)] = round(value, 3)

    def _elements(
        self,
        element: ElementType,
        namespace: str | None,
        old: Mapping[str, Any],
        new: Mapping[str, Any],
        facts: Callable[[Any, Names, Process], Facts],
    ) -> list[Change]:
        rename = self.renames[namespace] if namespace else {}
        before = {
            rename.get(k, k): (k, facts(v, self.old_names, self.old), facts(v, _same_name, self.old))
            for k, v in old.items()
        }
        after = {k: facts(v, _same_name, self.new) for k, v in new.items()}
        scores = {n: self.scores[(namespace, n)] for n in rename.values()} if namespace else {}
        ids = _Ids(lambda k: self.written(namespace, k) if namespace else k, _no_parent, _no_parent)
        return _compare(element, before, after, scores, ids)

    def _child_ids(self) -> _Ids:
        """Ids of a step's transitions and parts (``step.trigger``): the step's part renamed with it."""

        def old_id(key: str) -> str:
            step, rest = key.split(".", 1)
            return f"{self.written('state', step) if step != '*' else step}.{rest}"

        return _Ids(old_id, _step_of, _step_of)

    def _child_scores(self, keys: Iterable[str]) -> dict[str, float]:
        """A renamed step's transitions and parts are renamed with it, by its score."""
        found = {}
        for key in keys:
            step = key.split(".", 1)[0]
            if ("state", step) in self.scores:
                found[key] = self.scores[("state", step)]
        return found

    def _transitions(self) -> list[Change]:
        before = transition_keys(self.old, self.old_names)
        after = transition_keys(self.new, _same_name)
        ids = self._child_ids()
        changes = _compare(
            "transition",
            {
                k: (written, _transition_facts(t, self.old_names, self.old), _transition_facts(t, _same_name, self.old))
                for k, (t, written) in before.items()
            },
            {k: _transition_facts(t, _same_name, self.new) for k, (t, _) in after.items()},
            self._child_scores(k for k in after if k in before),
            ids,
        )
        for key in dict.fromkeys([*after, *before]):
            old_t, new_t = before.get(key), after.get(key)
            changes += self._fields(
                "form field",
                (key, ids.old_id(key)),
                old_t[0].payload_schema if old_t else None,
                new_t[0].payload_schema if new_t else None,
            )
        return changes

    def _parts(self) -> list[Change]:
        rename = self.renames["state"]
        before = {
            f"{rename.get(s.id, s.id)}.{p.id}": (f"{s.id}.{p.id}", p) for s in self.old.states.values() for p in s.parts
        }
        after = {f"{s.id}.{p.id}": p for s in self.new.states.values() for p in s.parts}
        ids = self._child_ids()
        changes = _compare(
            "part",
            {
                k: (written, _part_facts(p, self.old_names), _part_facts(p, _same_name))
                for k, (written, p) in before.items()
            },
            {k: _part_facts(p, _same_name) for k, p in after.items()},
            self._child_scores(k for k in after if k in before),
            ids,
        )
        for key in dict.fromkeys([*after, *before]):
            old_p, new_p = before.get(key), after.get(key)
            changes += self._fields(
                "form field",
                (key, ids.old_id(key)),
                old_p[1].payload_schema if old_p else None,
                new_p.payload_schema if new_p else None,
            )
        return changes

    def _fields(self, element: ElementType, owner: tuple[str, str] | None, old: Any, new: Any) -> list[Change]:
        """The fields (top-level properties) of two versions of one schema, compared one by one;
        ``owner``: the record, transition or part the schema belongs to, as each side names it."""
        before, after = _fields_of(self.old, old), _fields_of(self.new, new)
        if owner is None:
            return _compare(element, {k: (k, v, v) for k, v in before.items()}, after, {})
        key, written = owner
        cut = len(key) + 1
        ids = _Ids(lambda k: f"{written}.{k[cut:]}", lambda k: key, lambda k: written)
        return _compare(
            element,
            {f"{key}.{k}": (f"{written}.{k}", v, v) for k, v in before.items()},
            {f"{key}.{k}": v for k, v in after.items()},
            {},
            ids,
        )


def _same_name(namespace: str, name: str) -> str:
    return name


_PLAIN_IDS = _Ids(lambda k: k, _no_parent, _no_parent)


def _compare(
    element: ElementType,
    old: Keyed,
    new: Mapping[str, Facts],
    scores: Mapping[str, float],
    ids: _Ids = _PLAIN_IDS,
) -> list[Change]:
    """Added, removed, renamed and changed elements, all keyed by the new definition's ids (a renamed
    element's old facts under its new id); ``scores``: the renamed ones, with how alike they are."""
    found = []
    for key in dict.fromkeys([*new, *old]):
        written = old[key][0] if key in old else ids.old_id(key)
        moved = written != key
        old_id = written if moved else None
        old_parent = ids.old_parent(written) if moved else None
        parent = ids.parent(key)
        if key not in old:
            fields = _all_fields(new[key], new=True)
            found.append(Change("added", element, key, fields, old_id, None, parent, old_parent))
        elif key not in new:
            fields = _all_fields(old[key][2], new=False)
            found.append(Change("removed", element, key, fields, old_id, None, parent, old_parent))
        else:
            fields = _differing(old[key][1], new[key], old[key][2])
            if key in scores:
                found.append(Change("renamed", element, key, fields, old_id, scores[key], parent, old_parent))
            elif fields:
                found.append(Change("changed", element, key, fields, old_id, None, parent, old_parent))
    return found


def _all_fields(facts: Facts, *, new: bool) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(name, None, value) if new else FieldChange(name, value, None)
        for name, value in facts.items()
        if not _empty(value)
    )


def _differing(old: Facts, new: Facts, written: Facts) -> tuple[FieldChange, ...]:
    """The fields whose value differs (``old`` in the new definition's names); old values shown as
    ``written``, in the old definition's names."""
    found = []
    for name in dict.fromkeys([*old, *new]):
        after = new.get(name)
        if _key(old.get(name)) != _key(after):
            before = written.get(name)
            found.append(FieldChange(name, None if _empty(before) else before, None if _empty(after) else after))
    return tuple(found)


def _empty(value: Json) -> bool:
    return value is None or value == [] or value == {}


class Written(str):
    """A value shown as written (``24h``) but compared by what it means (``86400 s``), so that
    writing ``1d`` for ``24 hours`` is no change."""

    meaning: str

    def __new__(cls, text: str, meaning: str) -> Written:
        value = super().__new__(cls, text)
        value.meaning = meaning
        return value


def _key(value: Json) -> str:
    """What two values are compared by: their canonical JSON, an empty list the same as nothing."""
    if isinstance(value, Written):
        return "means " + value.meaning
    return "null" if _empty(value) else json.dumps(value, sort_keys=True, ensure_ascii=False)


# --- rename scores ----------------------------------------------------------------------------


def _label_score(a: Text, b: Text) -> float:
    return ((a.zh == b.zh) + (a.en == b.en)) / 2


def _state_score(old: Process, a: State, new: Process, b: State) -> float:
    edges_a, edges_b = _state_edges(old, a), _state_edges(new, b)
    union = edges_a | edges_b
    edges = len(edges_a & edges_b) / len(union) if union else 0.0
    return (_label_score(a.label, b.label) + edges) / 2


def _state_edges(process: Process, state: State) -> set[tuple[str, str, str]]:
    """The step's transitions and branches out and in, without its shared ones (every step has those)."""

    def name(other: str) -> str:
        return _SELF if other == state.id else other

    edges = {("out", t.trigger, name(t.dest)) for t in state.transitions if not t.shared}
    edges |= {("out", f"branch:{b.label.en}", name(b.dest)) for b in state.branches}
    if state.default is not None:
        edges.add(("out", "default", name(state.default.dest)))
    for other in process.states.values():
        if other.id == state.id:
            continue
        edges |= {("in", other.id, t.trigger) for t in other.transitions if t.dest == state.id and not t.shared}
        edges |= {("in", other.id, f"branch:{b.label.en}") for b in other.branches if b.dest == state.id}
        if other.default is not None and other.default.dest == state.id:
            edges.add(("in", other.id, "default"))
    edges |= {("in", "*", t.trigger) for t in process.shared_transitions if t.dest == state.id}
    return edges


# --- facts of each element --------------------------------------------------------------------


def _text(label: Text | None) -> str | None:
    if label is None:
        return None
    return label.zh if label.zh == label.en else f"{label.zh} / {label.en}"


def _duration_meaning(duration: Duration) -> str:
    if duration.working:
        return f"{duration.amount} working {duration.unit}"
    return f"{int(duration.as_timedelta().total_seconds())} s"


def _source(ref: SourceRef | None) -> str | None:
    return f"{ref.document}: {ref.section}" if ref is not None else None


def _limit_text(limit: Limit | None, names: Names) -> str | None:
    if limit is None:
        return None
    then = f", then {names('state', limit.then)}" if limit.then else ", then refused"
    return f"{limit.text} times{then}"


def _notify(notifications: tuple[Notification, ...], names: Names) -> list[str]:
    return [f"{', '.join(names('role', r) for r in n.roles)}: {_text(n.text)}" for n in notifications]


def _bindings(bindings: tuple[RecordBinding, ...], names: Names) -> list[str]:
    said = []
    for b in bindings:
        verb = "amends" if b.amend else "writes"
        fields = "" if b.fields is None else " (" + ", ".join(f"{n} ← {r}.{f}" for n, r, f in b.fields) + ")"
        said.append(f"{verb} {names('record', b.record)}{fields}")
    return said


def _source_facts(source: SourceDocument, names: Names, process: Process) -> Facts:
    return {"file": source.file, "title": _text(source.title), "sections": source.sections}


def _department_facts(department: Department, names: Names, process: Process) -> Facts:
    return {"label": _text(department.label)}


def _role_facts(role: Role, names: Names, process: Process) -> Facts:
    return {
        "label": _text(role.label),
        "department": names("department", role.department) if role.department else None,
        "external": role.external,
    }


def _record_facts(record: Record, names: Names, process: Process) -> Facts:
    return {
        "label": _text(record.label),
        "archived": record.archived,
        "source": _source(record.source),
        "fields schema": _schema_rest(process, record.fields),
    }


def _process_facts(process: Process) -> Facts:
    calendar = process.calendar
    return {
        "title": _text(process.title),
        "description": _text(process.description),
        "owner": process.owner,
        "version": process.version,
        "calendar": {
            "timezone": calendar.timezone,
            "working days": sorted(calendar.working_days),
            "working hours": [f"{a:%H:%M}-{b:%H:%M}" for a, b in calendar.working_hours],
            "holidays": sorted(d.isoformat() for d in calendar.holidays),
            "extra working days": sorted(d.isoformat() for d in calendar.extra_working_days),
        },
        "data schema": _schema_rest(process, process.data_schema),
        "administrators": sorted(process.administrators),
    }


def _time_limit(duration: Duration | None, from_data: DataLimit | None) -> Json:
    if duration is not None:
        return Written(duration.text, _duration_meaning(duration))
    if from_data is not None:
        return from_data.text
    return None


def _state_facts(state: State, names: Names, process: Process) -> Facts:
    deadlines = []
    for d in state.deadlines:
        follows = d.after is not None and d.after is state.time_limit
        if follows or d.after_from is not None and d.after_from is state.time_limit_from:
            after = "at the time limit"  # no `after` of its own: it follows the step's time limit
        else:
            after = f"after {d.after_from.text if d.after_from is not None else d.after.text if d.after else '?'}"
        deadlines.append(f"{after}: fire {d.fire}")
    starts = state.starts
    return {
        "kind": state.kind.value,
        "label": _text(state.label),
        "description": _text(state.description),
        "role": names("role", state.role) if state.role else None,
        "time limit": _time_limit(state.time_limit, state.time_limit_from),
        "deadlines": deadlines,
        "produces": [names("record", r) for r in state.produces],
        "requires": [names("record", r) for r in state.requires],
        "branches": [f"when {b.condition} → {names('state', b.dest)}" for b in state.branches],
        "default": names("state", state.default.dest) if state.default else None,
        "entry limit": _limit_text(state.limit, names),
        "sub-procedure": starts.process if starts else None,
        "sub-procedure started as": starts.role if starts else None,
        "sub-procedure data": [f"{k} = {v}" for k, v in starts.data] if starts else None,
        "sub-procedure ends": [f"{k} → fire {v}" for k, v in starts.on_end] if starts else None,
        "sub-procedure returns": [f"{k} ← {v}" for k, v in starts.returns] if starts else None,
        "notifications": _notify(state.notify, names),
        "source": _source(state.source),
        "addition": _text(state.addition),
    }


def transition_keys(process: Process, names: Names | None = None) -> dict[str, tuple[Transition, str]]:
    """Each transition by its key in the new definition's names, with its key as written."""
    found: dict[str, tuple[Transition, str]] = {}
    groups = [(state.id, [t for t in state.transitions if not t.shared]) for state in process.states.values()]
    for step, transitions in [*groups, ("*", list(process.shared_transitions))]:
        seen: dict[str, int] = {}
        for t in transitions:
            seen[t.trigger] = seen.get(t.trigger, 0) + 1
            suffix = f"#{seen[t.trigger]}" if seen[t.trigger] > 1 else ""
            named = names("state", step) if names is not None and step != "*" else step
            found[f"{named}.{t.trigger}{suffix}"] = (t, f"{step}.{t.trigger}{suffix}")
    return found


def _shared_sources(t: Transition, names: Names, process: Process) -> Json:
    """A shared transition's sources as written: ``*`` (every step not final), or the steps listed."""
    document = process.document
    written = document["transitions"][t.path[1]]["source"] if isinstance(document, Mapping) else None  # type: ignore[index, call-overload]
    return "*" if written == "*" else [names("state", s) for s in t.sources]


def _transition_facts(t: Transition, names: Names, process: Process) -> Facts:
    signoffs = []
    for s in t.signoffs:
        said = names("role", s.role)
        if s.not_actor_of:
            said += f", not the actor of {', '.join(names('state', x) for x in s.not_actor_of)}"
        if s.same_actor_as:
            said += f", the actor of {', '.join(names('state', x) for x in s.same_actor_as)}"
        if s.when:
            said += f", when {s.when}"
        if s.scope != "history":
            said += f", within the {s.scope}"
        signoffs.append(said)
    sets = [
        f"{a.field} = {a.expression if a.expression is not None else json.dumps(a.constant)}" for a in t.assignments
    ]
    return {
        "label": _text(t.label),
        "sources": _shared_sources(t, names, process) if t.shared else None,
        "destination": names("state", t.dest),
        "conditions": list(t.conditions),
        "roles": [names("role", r) for r in t.roles],
        "sign-offs": signoffs,
        "sets": sets,
        "records": _bindings(t.produces, names),
        "requires": [names("record", r) for r in t.requires],
        "limit": _limit_text(t.limit, names),
        "cancels the case": t.cancels,
        "notifications": _notify(t.notify, names),
        "addition": _text(t.addition),
    }


def _part_facts(p: Part, names: Names) -> Facts:
    return {
        "label": _text(p.label),
        "roles": [names("role", r) for r in p.roles],
        "required": p.required,
        "required when": p.required_when,
        "for each": p.for_each,
        "key": p.key,
        "records": _bindings(p.produces, names),
        "source": _source(p.source),
    }


def _point(point: ClockPoint, names: Names) -> list[str]:
    return (
        [f"enter {names('state', s)}" for s in point.enter]
        + [f"leave {names('state', s)}" for s in point.leave]
        + [f"on {t}" for t in point.on]
    )


def _clock_facts(clock: Clock, names: Names, process: Process) -> Facts:
    facts: Facts = {
        "label": _text(clock.label),
        "starts": _point(clock.starts, names),
        "stops": _point(clock.stops, names),
        "pauses": [names("state", s) for s in clock.pauses],
        "restart": clock.restart,
        "source": _source(clock.source),
    }
    for name, (duration, action) in clock.thresholds.items():
        facts[name] = _time_limit(*((None, duration) if isinstance(duration, DataLimit) else (duration, None)))
        facts[f"on {name}"] = {
            "overdue": action.overdue,
            "fire": list(action.fire),
            "notify": [names("role", r) for r in action.notify],
        }
    return facts


# --- payload, record and data schemas ---------------------------------------------------------

_STRUCTURE = ("properties", "required", "$ref", "allOf")


def _resolved(process: Process, schema: Any) -> tuple[dict[str, Any], set[str], dict[str, Any]]:
    """A schema's properties, required names and other keywords, following ``$ref`` and ``allOf``."""
    properties: dict[str, Any] = {}
    required: set[str] = set()
    rest: dict[str, Any] = {}
    todo, seen = [schema], 0
    while todo and seen < 64:
        seen += 1
        current = todo.pop(0)
        if not isinstance(current, Mapping):
            continue
        found = current.get("properties")
        if isinstance(found, Mapping):
            properties.update(found)
        names = current.get("required")
        if isinstance(names, tuple):
            required |= {n for n in names if isinstance(n, str)}
        rest.update({k: v for k, v in current.items() if k not in _STRUCTURE})
        ref = current.get("$ref")
        if isinstance(ref, str) and is_local(ref):  # both definitions loaded: their references resolve
            todo.append(resolve(process.document, ref))
        parts = current.get("allOf")
        todo.extend(parts if isinstance(parts, tuple) else ())
    return properties, required, rest


def _schema_rest(process: Process, schema: Any) -> Json:
    """The schema's keywords other than its fields (``additionalProperties``…), as plain JSON."""
    if schema is None:
        return None
    return thaw_json(_resolved(process, schema)[2]) or None


def _field_facts(schema: Any, required: bool) -> Facts:
    plain = thaw_json(schema) if isinstance(schema, Mapping) else {}
    kind = plain.get("type")
    if kind is None and "enum" in plain:
        kind = "one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in plain["enum"])
    elif kind is None and "const" in plain:
        kind = f"exactly {json.dumps(plain['const'], ensure_ascii=False)}"
    rest = {k: v for k, v in plain.items() if k not in ("type", "enum", "const", "description")}
    return {
        "type": kind,
        "required": required,
        "constraints": rest or None,
        "description": plain.get("description"),
    }


def _fields_of(process: Process, schema: Any) -> dict[str, Facts]:
    if schema is None:
        return {}
    properties, required, _ = _resolved(process, schema)
    return {name: _field_facts(value, name in required) for name, value in properties.items()}
