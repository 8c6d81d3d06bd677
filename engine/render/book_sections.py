"""The audit book's sections on what a procedure carries beside its steps: declared additions,
notifications, sign-offs, parts, roles, records and their fields, and the cited sources. Text only,
every value escaped."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engine.model import (
    Deadline,
    FrozenJson,
    Notification,
    Process,
    SignOff,
    Text,
    thaw_json,
)
from engine.render import Lang
from engine.render.book_controls import (
    clock_notifications,
)
from engine.render.book_html import (
    cells,
    esc,
    heads,
    html_list,
    label,
    none,
    party,
    per_language_heads,
    table_section,
    texts,
)
from engine.render.book_words import (
    ADDITIONS,
    ALWAYS,
    AMENDS,
    ARCHIVED,
    DEADLINE,
    DEPARTMENT,
    DONE_BY,
    EXTERNAL,
    FIELDS,
    FILE,
    FOR_EACH,
    ID,
    KEY,
    MESSAGE,
    NAME,
    NEEDED,
    NO,
    NO_ADDITIONS,
    NOT_ACTOR_OF,
    NOTIFICATIONS,
    ON_ENTERING,
    ONLY_WHEN,
    OPTIONAL,
    PARTS,
    RECORDS,
    REQUIRED,
    REQUIRED_BY,
    ROLES,
    SAME_ACTOR_AS,
    SECTIONS,
    SEE,
    SOURCES,
    STEP,
    STEP_LABEL,
    THIS_ROUND,
    TITLE,
    TOLD,
    TRANSITION,
    WHAT,
    WHEN,
    WHERE,
    WHY,
    WRITTEN_BY,
    YES,
)


def additions_section(process: Process, lang: Lang) -> str:
    """Every step, transition and deadline declared as not in the source, with where it is and why."""
    rows = []
    for state in process.states.values():
        if state.addition is not None:
            rows.append(
                _addition_row(label(STEP, lang), state.label, f"<code>{esc(state.id)}</code>", state.addition, lang)
            )
        for deadline in state.deadlines:
            if deadline.addition is not None:
                after = deadline_after(deadline)
                where = f"<code>{esc(state.id)}</code>: {esc(after)} → <code>{esc(deadline.fire)}</code>"
                named = Text(f"{after} → {deadline.fire}", f"{after} → {deadline.fire}")
                rows.append(_addition_row(label(DEADLINE, lang), named, where, deadline.addition, lang))
    for transition in process.transitions:
        if transition.addition is not None:
            where = " ".join(f"<code>{esc(s)}</code>" for s in transition.sources)
            where += f" → <code>{esc(transition.dest)}</code> (<code>{esc(transition.trigger)}</code>)"
            rows.append(_addition_row(label(TRANSITION, lang), transition.label, where, transition.addition, lang))
    title = label(ADDITIONS, lang)
    if not rows:
        return f'<section id="additions"><h2>{title}</h2>\n<p>{label(NO_ADDITIONS, lang)}</p></section>'
    head = heads(lang, WHAT) + per_language_heads(STEP_LABEL, lang) + heads(lang, WHERE) + per_language_heads(WHY, lang)
    return table_section("additions", title, head, rows)


def _addition_row(kind: str, named: Text, where: str, why: Text, lang: Lang) -> str:
    return f'<tr class="addition"><td>{kind}</td>{cells(named, lang)}<td>{where}</td>{cells(why, lang)}</tr>'


def notifications_section(process: Process, lang: Lang) -> str:
    """Which step or transition notifies whom, with the text as declared (placeholders shown as written)."""
    rows: list[str] = []
    for state in process.states.values():
        when = f"{label(ON_ENTERING, lang)} <code>{esc(state.id)}</code>"
        rows.extend(_notification_row(process, when, n, lang) for n in state.notify)
    for transition in process.transitions:
        sources = " ".join(f"<code>{esc(s)}</code>" for s in transition.sources)
        when = f"<code>{esc(transition.trigger)}</code> ({sources} → <code>{esc(transition.dest)}</code>)"
        rows.extend(_notification_row(process, when, n, lang) for n in transition.notify)
    rows.extend(_notification_row(process, when, n, lang) for when, n in clock_notifications(process, lang))
    title = label(NOTIFICATIONS, lang)
    if not rows:
        return f'<section id="notifications"><h2>{title}</h2>\n<p>{none()}</p></section>'
    head = heads(lang, WHEN, TOLD) + per_language_heads(MESSAGE, lang)
    return table_section("notifications", title, head, rows)


def _notification_row(process: Process, when: str, notification: Notification, lang: Lang) -> str:
    told = html_list(party(process, role, lang) for role in notification.roles)
    texts = cells(notification.text, lang)
    return f"<tr><td>{when}</td><td>{told}</td>{texts}</tr>"


def signoff_cell(process: Process, signoff: SignOff, lang: Lang) -> str:
    text = party(process, signoff.role, lang)
    if signoff.label:
        text += f'<span class="sub">{texts(signoff.label, lang, sep=" / ")}</span>'
    round_ = f" ({label(THIS_ROUND, lang)})" if signoff.scope == "round" else ""
    if signoff.not_actor_of:
        states = " ".join(f"<code>{esc(state)}</code>" for state in signoff.not_actor_of)
        text += f'<span class="sub">{label(NOT_ACTOR_OF, lang)} {states}{round_}</span>'
    if signoff.same_actor_as:
        states = " ".join(f"<code>{esc(state)}</code>" for state in signoff.same_actor_as)
        text += f'<span class="sub">{label(SAME_ACTOR_AS, lang)} {states}{round_}</span>'
    if signoff.when:
        text += f'<span class="sub">{label(ONLY_WHEN, lang)} <code>{esc(signoff.when)}</code></span>'
    return text


def parts_section(process: Process, lang: Lang) -> str:
    """Every part of every step: who does it, whether it is required, per item of which list, its form."""
    head = heads(lang, STEP, ID) + per_language_heads(NAME, lang) + heads(lang, DONE_BY, NEEDED, FIELDS)
    rows = []
    for state in process.states.values():
        for part in state.parts:
            labels = cells(part.label, lang)
            who = html_list(party(process, role, lang) for role in part.roles)
            needed = [label(OPTIONAL, lang)] if not part.required else []
            if part.required and part.required_when:
                needed.append(f"{label(ONLY_WHEN, lang)} <code>{esc(part.required_when)}</code>")
            if part.for_each:
                key = f" ({esc(part.key)})" if part.key else ""
                needed.append(f"{label(FOR_EACH, lang)} <code>data.{esc(part.for_each)}</code>{key}")
            fields = _required_fields(process, part.payload_schema, lang)
            rows.append(
                f'<tr><td><a href="#step-{esc(state.id)}"><code>{esc(state.id)}</code></a></td>'
                f"<td><code>{esc(part.id)}</code></td>{labels}<td>{who}</td>"
                f"<td>{'<br>'.join(needed) or label(ALWAYS, lang)}</td>"
                f"<td>{' '.join(fields) or none()}</td></tr>"
            )
    return table_section("parts", label(PARTS, lang), head, rows)


def _required_fields(process: Process, schema: Any, lang: Lang) -> list[str]:
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    if not isinstance(properties, Mapping):
        return []
    return [_field_key(process, str(name), field, lang) for name, field in properties.items()]


def _field_key(process: Process, name: str, field: FrozenJson, lang: Lang) -> str:
    """A field's key with its name beside it (the property's ``title``, else the glossary's)."""
    named = process.field_label(name, field)
    if named is None:
        return f"<code>{esc(name)}</code>"
    shown = esc(named.zh) if named.zh == named.en else texts(named, lang, sep=" / ")
    return f"<code>{esc(name)}</code> ({shown})"


def roles_section(process: Process, lang: Lang) -> str:
    head = heads(lang, ID) + per_language_heads(NAME, lang) + heads(lang, DEPARTMENT, EXTERNAL)
    rows = []
    for role in process.roles.values():
        labels = cells(role.label, lang)
        department = process.departments.get(role.department) if role.department else None
        department_cell = texts(department.label, lang, sep=" / ") if department else none()
        external = label(YES, lang) if role.external else label(NO, lang)
        rows.append(
            f'<tr id="role-{esc(role.id)}"><td><code>{esc(role.id)}</code></td>{labels}'
            f"<td>{department_cell}</td><td>{external}</td></tr>"
        )
    return table_section("roles", label(ROLES, lang), head, rows)


def records_section(process: Process, lang: Lang) -> str:
    head = heads(lang, ID) + per_language_heads(NAME, lang) + heads(lang, ARCHIVED, FIELDS, WRITTEN_BY, REQUIRED_BY)
    rows = []
    for record in process.records.values():
        labels = cells(record.label, lang)
        archived = label(YES, lang) if is_archived(process, record.id) else label(NO, lang)
        rows.append(
            f'<tr id="record-{esc(record.id)}"><td><code>{esc(record.id)}</code></td>{labels}'
            f"<td>{archived}</td><td>{fields_table(process, record.fields, lang)}</td>"
            f"<td>{_writers(process, record.id, lang)}</td><td>{_requirers(process, record.id)}</td></tr>"
        )
    return table_section("records", label(RECORDS, lang), head, rows)


def is_archived(process: Process, record_id: str) -> bool:
    """Marked ``archived``, or required by a final step (the engine then holds every finished case to it)."""
    record = process.records[record_id]
    return record.archived or any(s.is_final and record_id in s.requires for s in process.states.values())


def _writers(process: Process, record_id: str, lang: Lang) -> str:
    """The transitions that write the record, as ``state · trigger`` (those that amend it marked)."""
    items = []
    for state in process.states.values():
        for transition in state.transitions:
            for binding in transition.produces:
                if binding.record == record_id:
                    line = f"<code>{esc(state.id)}</code> · <code>{esc(transition.trigger)}</code>"
                    if binding.fields is not None:
                        line += " (" + ", ".join(_bound_field(*f) for f in binding.fields) + ")"
                    if binding.amend:
                        line += f" {label(AMENDS, lang)}"
                    items.append(line)
    return html_list(items) if items else none()


def _bound_field(name: str, root: str, field: str) -> str:
    same = root == "payload" and field == name
    return f"<code>{esc(name)}</code>" if same else f"<code>{esc(name)}</code> ← <code>{esc(root)}.{esc(field)}</code>"


def _requirers(process: Process, record_id: str) -> str:
    """The steps and transitions that require the record."""
    items = [f"<code>{esc(s.id)}</code>" for s in process.states.values() if record_id in s.requires]
    items += [
        f"<code>{esc(source)}</code> · <code>{esc(t.trigger)}</code>"
        for t in process.transitions
        if record_id in t.requires
        for source in t.sources
    ]
    return html_list(items) if items else none()


def fields_table(process: Process, schema: FrozenJson | None, lang: Lang) -> str:
    """A record's fields as a list: name, type, required; a nested schema is named, not expanded."""
    if not isinstance(schema, Mapping):
        return none()
    reference = schema.get("$ref")
    if isinstance(reference, str):
        return f"{label(SEE, lang)} <code>{esc(reference)}</code>"
    properties = schema.get("properties")
    if not isinstance(properties, Mapping) or not properties:
        return none()
    required = schema.get("required")
    required_names = set(required) if isinstance(required, tuple) else set()
    items = []
    for name, field in properties.items():
        details = [_field_type(field)]
        if name in required_names:
            details.append(label(REQUIRED, lang))
        description = field.get("description") if isinstance(field, Mapping) else None
        line = f"{_field_key(process, name, field, lang)} " + ", ".join(d for d in details if d)
        if isinstance(description, str):
            line += f' <span class="sub">{esc(description)}</span>'
        items.append(line)
    return html_list(items)


def _field_type(field: FrozenJson) -> str:
    if not isinstance(field, Mapping):
        return ""
    enum = field.get("enum")
    if isinstance(enum, tuple):
        return esc(" | ".join(v if isinstance(v, str) else json.dumps(thaw_json(v), ensure_ascii=False) for v in enum))
    kind = field.get("type")
    kinds = " | ".join(str(k) for k in kind) if isinstance(kind, tuple) else str(kind) if kind is not None else ""
    fmt = field.get("format")
    if isinstance(fmt, str):
        kinds = f"{kinds} ({fmt})" if kinds else fmt
    if isinstance(field.get("$ref"), str):
        kinds = f"→ {field['$ref']}"
    return esc(kinds)


def sources_section(process: Process, lang: Lang) -> str:
    head = heads(lang, KEY) + per_language_heads(TITLE, lang) + heads(lang, FILE, SECTIONS)
    rows = []
    for source in process.sources.values():
        sections = esc(source.sections) if source.sections else none()
        rows.append(
            f'<tr id="source-{esc(source.key)}"><td><code>{esc(source.key)}</code></td>{cells(source.title, lang)}'
            f"<td><code>{esc(source.file)}</code></td><td>{sections}</td></tr>"
        )
    return table_section("sources", label(SOURCES, lang), head, rows)


def deadline_after(deadline: Deadline) -> str:
    """A deadline's time as written: a duration, or the data field it is read from."""
    if deadline.after_from is not None:
        return deadline.after_from.text
    return deadline.after.text if deadline.after is not None else "?"
