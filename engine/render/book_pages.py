"""The audit book's HTML: the index and one page per procedure, as text. No I/O, no layout.

Every value from a definition passes through ``html.escape``; the only markup that is not built here
is the diagram's SVG, which Graphviz wrote from escaped labels. Pages carry no script and fetch
nothing, so a book copied anywhere and opened from disk shows the same.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from engine.errors import RenderError
from engine.model import FrozenJson, Notification, Process, SignOff, State, StateKind, Text, Transition, thaw_json
from engine.render import Lang
from engine.render.book_style import CSS

HTML_LANG = {"zh": "zh-Hans", "en": "en"}
SHORT_HASH = 12


PROCEDURES = "procedures"
"""The folder of the procedures' pages, apart from the index, so that no process id can collide with it."""


@dataclass(frozen=True)
class DiagramFiles:
    """The names, beside the page, of the diagram's downloadable forms."""

    svg: str
    mermaid: str
    dot: str


def page_path(process: Process) -> str:
    """The page's path from the book's folder. Ids match ^[a-z][a-z0-9_]*$ (the schema holds this)."""
    return f"{PROCEDURES}/{process.id}.html"


def diagram_files(process: Process) -> DiagramFiles:
    return DiagramFiles(svg=f"{process.id}.svg", mermaid=f"{process.id}.mmd", dot=f"{process.id}.dot")


# --- the index -------------------------------------------------------------------------------------


def index_page(processes: Sequence[Process], lang: Lang) -> str:
    rows = []
    for process in processes:
        link = _e(page_path(process))
        title_cells = "".join(
            f'<td{_lang_attr(code)}><a href="{link}">{_e(_pick(process.title, code))}</a></td>' for code in _codes(lang)
        )
        rows.append(
            "<tr>"
            f'{title_cells}<td><a href="{link}"><code>{_e(process.id)}</code></a></td>'
            f"<td>{process.version}</td>"
            f'<td><code class="hash" title="{_e(process.content_hash)}">{_e(process.content_hash[:SHORT_HASH])}'
            "</code></td>"
            f"<td>{len(process.states)}</td>"
            "</tr>"
        )
    head = _per_language_heads(_TITLE, lang)
    body = (
        f"<header><h1>{_label(_BOOK_TITLE, lang)}</h1>"
        f'<p class="description">{_label(_BOOK_INTRO, lang)}</p></header>\n'
        '<main>\n<table id="procedures">\n'
        f"<thead><tr>{head}{_heads(lang, _ID, _VERSION, _HASH, _STEP_COUNT)}</tr></thead>\n"
        "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n</main>\n"
    )
    return _document(_plain(_BOOK_TITLE, lang), body, lang)


# --- a procedure's page ----------------------------------------------------------------------------


def procedure_page(process: Process, svg: str, files: DiagramFiles, lang: Lang) -> str:
    """The page of one procedure; ``svg`` is Graphviz's output, inlined without its XML prologue."""
    sections = [
        _header(process, lang),
        "<main>",
        _diagram_section(svg, files, lang),
        _steps_section(process, lang),
        _transitions_section(process, lang),
        *([_parts_section(process, lang)] if any(s.parts for s in process.states.values()) else []),
        _additions_section(process, lang),
        _notifications_section(process, lang),
        _roles_section(process, lang),
        _records_section(process, lang),
        _sources_section(process, lang),
        "</main>",
        f"<footer>{_label(_FOOTER, lang)} <code>{_e(Path(process.file).name)}</code> · "
        f'<span class="hash">{_e(process.content_hash)}</span></footer>',
    ]
    return _document(f"{_plain(process.title, lang)} · {_plain(_BOOK_TITLE, lang)}", "\n".join(sections) + "\n", lang)


def inline_svg(svg: str) -> str:
    """Graphviz's SVG file without the XML declaration and doctype, which HTML does not allow inside a page."""
    start = svg.find("<svg")
    if start < 0:
        raise RenderError("Graphviz's SVG output holds no <svg> element; the diagram cannot be put in the book")
    return svg[start:].strip()


def _header(process: Process, lang: Lang) -> str:
    description = (
        f'<p class="description">{_text(process.description, lang, sep="<br>")}</p>' if process.description else ""
    )
    return (
        f'<header><nav><a href="../index.html">← {_label(_ALL, lang)}</a></nav>\n'
        f"<h1>{_text(process.title, lang, sep=' ')}</h1>\n{description}\n"
        '<dl class="facts">'
        f"<dt>{_label(_ID, lang)}</dt><dd><code>{_e(process.id)}</code></dd>"
        f"<dt>{_label(_VERSION, lang)}</dt><dd>{process.version}</dd>"
        f'<dt>{_label(_HASH, lang)}</dt><dd><code class="hash" id="content-hash">{_e(process.content_hash)}</code></dd>'
        f"<dt>{_label(_OWNER, lang)}</dt><dd>{_party(process, process.owner, lang)}</dd>"
        f"<dt>{_label(_DEFINITION, lang)}</dt><dd><code>{_e(Path(process.file).name)}</code></dd>"
        "</dl></header>"
    )


def _diagram_section(svg: str, files: DiagramFiles, lang: Lang) -> str:
    links = " · ".join(
        f'<a href="{_e(name)}">{kind}</a>'
        for kind, name in ((_label(_FULL_SIZE_SVG, lang), files.svg), ("Mermaid", files.mermaid), ("DOT", files.dot))
    )
    return (
        f'<section id="diagram"><h2>{_label(_DIAGRAM, lang)}</h2>\n'
        f'<figure class="diagram">\n{inline_svg(svg)}\n'
        f"<figcaption>{_label(_DOWNLOAD, lang)}: {links}</figcaption></figure></section>"
    )


def _steps_section(process: Process, lang: Lang) -> str:
    head = (
        _heads(lang, _STEP, _KIND)
        + _per_language_heads(_STEP_LABEL, lang)
        + _heads(lang, _ROLE, _TIME_LIMIT, _RECORDS_PRODUCED, _SOURCE)
    )
    rows = [_step_row(process, state, lang) for state in process.states.values()]
    return _table_section("steps", _label(_STEPS, lang), head, rows)


def _step_row(process: Process, state: State, lang: Lang) -> str:
    labels = "".join(f"<td{_lang_attr(code)}>{_e(_pick(state.label, code))}</td>" for code in _codes(lang))
    role = _party(process, state.role, lang) if state.role else _none()
    written = state.records_written
    records = _list(_record_label(process, r, lang) for r in written) if written else _none()
    source = _source_ref(process, state, lang)
    return (
        f'<tr id="step-{_e(state.id)}"><td><code>{_e(state.id)}</code></td><td>{_label(_KINDS[state.kind], lang)}</td>'
        f"{labels}<td>{role}</td><td>{_time_limit(state)}</td><td>{records}</td><td>{source}</td></tr>"
    )


def _time_limit(state: State) -> str:
    parts = []
    if state.time_limit is not None:
        parts.append(_e(state.time_limit.text))
    elif state.time_limit_from is not None:
        parts.append(_e(state.time_limit_from.text))
    for deadline in state.deadlines:
        after = deadline.after.text if deadline.after is not None else "?"
        if deadline.after_from is not None:
            after = deadline.after_from.text
        parts.append(f'<span class="sub">{_e(after)} → <code>{_e(deadline.fire)}</code></span>')
    return "".join(parts) if parts else "—"


def _source_ref(process: Process, state: State, lang: Lang) -> str:
    if state.addition is not None:
        return f'<a class="addition" href="#additions">{_label(_NOT_IN_SOURCE, lang)}</a>'
    if state.source is None:
        return _none()
    document = process.sources.get(state.source.document)
    title = _text(document.title, lang, sep=" / ") if document else _e(state.source.document)
    return f'{_e(state.source.section)}<span class="sub">{title}</span>'


def _transitions_section(process: Process, lang: Lang) -> str:
    head = (
        _heads(lang, _FROM, _TRIGGER)
        + _per_language_heads(_CHOICE, lang)
        + _heads(lang, _TO, _WHO, _CONDITION, _SIGNOFFS)
    )
    rows = [_transition_row(process, transition, lang) for transition in process.transitions]
    for state in process.states.values():
        branches = [*state.branches, *([state.default] if state.default else [])]
        for number, branch in enumerate(branches, start=1):
            is_default = branch is state.default
            labels = "".join(f"<td{_lang_attr(code)}>{_e(_pick(branch.label, code))}</td>" for code in _codes(lang))
            condition = _label(_OTHERWISE, lang) if is_default else f"<code>{_e(branch.condition or '')}</code>"
            trigger = _label(_DEFAULT_BRANCH, lang) if is_default else f"{_label(_BRANCH, lang)} {number}"
            rows.append(
                f"<tr><td><code>{_e(state.id)}</code></td><td>{trigger}</td>{labels}"
                f"<td><code>{_e(branch.dest)}</code></td><td>{_label(_BY_DATA, lang)}</td><td>{condition}</td>"
                f"<td>{_none()}</td></tr>"
            )
    return _table_section("transitions", _label(_TRANSITIONS, lang), head, rows)


def _transition_row(process: Process, transition: Transition, lang: Lang) -> str:
    labels = "".join(f"<td{_lang_attr(code)}>{_e(_pick(transition.label, code))}</td>" for code in _codes(lang))
    sources = " ".join(f"<code>{_e(s)}</code>" for s in transition.sources)
    if transition.shared:
        sources = f'{_label(_ANY_OF, lang)}<span class="sub">{sources}</span>'
    who = _list(_party(process, role, lang) for role in transition.roles) if transition.roles else _none()
    conditions = _list(f"<code>{_e(c)}</code>" for c in transition.conditions) if transition.conditions else "—"
    signoffs = _list(_signoff(process, s, lang) for s in transition.signoffs) if transition.signoffs else "—"
    return (
        f"<tr><td>{sources}</td><td><code>{_e(transition.trigger)}</code></td>{labels}"
        f"<td><code>{_e(transition.dest)}</code></td><td>{who}</td><td>{conditions}</td><td>{signoffs}</td></tr>"
    )


def _additions_section(process: Process, lang: Lang) -> str:
    """Every step, transition and deadline declared as not in the source, with where it is and why."""
    rows = []
    for state in process.states.values():
        if state.addition is not None:
            rows.append(
                _addition_row(_label(_STEP, lang), state.label, f"<code>{_e(state.id)}</code>", state.addition, lang)
            )
        for deadline in state.deadlines:
            if deadline.addition is not None:
                after = deadline.after.text if deadline.after is not None else "?"
                where = f"<code>{_e(state.id)}</code>: {_e(after)} → <code>{_e(deadline.fire)}</code>"
                label = Text(f"{after} → {deadline.fire}", f"{after} → {deadline.fire}")
                rows.append(_addition_row(_label(_DEADLINE, lang), label, where, deadline.addition, lang))
    for transition in process.transitions:
        if transition.addition is not None:
            where = " ".join(f"<code>{_e(s)}</code>" for s in transition.sources)
            where += f" → <code>{_e(transition.dest)}</code> (<code>{_e(transition.trigger)}</code>)"
            rows.append(_addition_row(_label(_TRANSITION, lang), transition.label, where, transition.addition, lang))
    title = _label(_ADDITIONS, lang)
    if not rows:
        return f'<section id="additions"><h2>{title}</h2>\n<p>{_label(_NO_ADDITIONS, lang)}</p></section>'
    head = (
        _heads(lang, _WHAT)
        + _per_language_heads(_STEP_LABEL, lang)
        + _heads(lang, _WHERE)
        + _per_language_heads(_WHY, lang)
    )
    return _table_section("additions", title, head, rows)


def _addition_row(kind: str, label: Text, where: str, why: Text, lang: Lang) -> str:
    labels = "".join(f"<td{_lang_attr(code)}>{_e(_pick(label, code))}</td>" for code in _codes(lang))
    reasons = "".join(f"<td{_lang_attr(code)}>{_e(_pick(why, code))}</td>" for code in _codes(lang))
    return f'<tr class="addition"><td>{kind}</td>{labels}<td>{where}</td>{reasons}</tr>'


def _notifications_section(process: Process, lang: Lang) -> str:
    """Which step or transition notifies whom, with the text as declared (placeholders shown as written)."""
    rows: list[str] = []
    for state in process.states.values():
        when = f"{_label(_ON_ENTERING, lang)} <code>{_e(state.id)}</code>"
        rows.extend(_notification_row(process, when, n, lang) for n in state.notify)
    for transition in process.transitions:
        sources = " ".join(f"<code>{_e(s)}</code>" for s in transition.sources)
        when = f"<code>{_e(transition.trigger)}</code> ({sources} → <code>{_e(transition.dest)}</code>)"
        rows.extend(_notification_row(process, when, n, lang) for n in transition.notify)
    title = _label(_NOTIFICATIONS, lang)
    if not rows:
        return f'<section id="notifications"><h2>{title}</h2>\n<p>{_none()}</p></section>'
    head = _heads(lang, _WHEN, _TOLD) + _per_language_heads(_MESSAGE, lang)
    return _table_section("notifications", title, head, rows)


def _notification_row(process: Process, when: str, notification: Notification, lang: Lang) -> str:
    told = _list(_party(process, role, lang) for role in notification.roles)
    texts = "".join(f"<td{_lang_attr(code)}>{_e(_pick(notification.text, code))}</td>" for code in _codes(lang))
    return f"<tr><td>{when}</td><td>{told}</td>{texts}</tr>"


def _signoff(process: Process, signoff: SignOff, lang: Lang) -> str:
    text = _party(process, signoff.role, lang)
    if signoff.label:
        text += f'<span class="sub">{_text(signoff.label, lang, sep=" / ")}</span>'
    round_ = f" ({_label(_THIS_ROUND, lang)})" if signoff.scope == "round" else ""
    if signoff.not_actor_of:
        states = " ".join(f"<code>{_e(state)}</code>" for state in signoff.not_actor_of)
        text += f'<span class="sub">{_label(_NOT_ACTOR_OF, lang)} {states}{round_}</span>'
    if signoff.same_actor_as:
        states = " ".join(f"<code>{_e(state)}</code>" for state in signoff.same_actor_as)
        text += f'<span class="sub">{_label(_SAME_ACTOR_AS, lang)} {states}{round_}</span>'
    if signoff.when:
        text += f'<span class="sub">{_label(_ONLY_WHEN, lang)} <code>{_e(signoff.when)}</code></span>'
    return text


def _parts_section(process: Process, lang: Lang) -> str:
    """Every part of every step: who does it, whether it is required, per item of which list, its form."""
    head = _heads(lang, _STEP, _ID) + _per_language_heads(_NAME, lang) + _heads(lang, _DONE_BY, _NEEDED, _FIELDS)
    rows = []
    for state in process.states.values():
        for part in state.parts:
            labels = "".join(f"<td{_lang_attr(code)}>{_e(_pick(part.label, code))}</td>" for code in _codes(lang))
            who = _list(_party(process, role, lang) for role in part.roles)
            needed = [_label(_OPTIONAL, lang)] if not part.required else []
            if part.required and part.required_when:
                needed.append(f"{_label(_ONLY_WHEN, lang)} <code>{_e(part.required_when)}</code>")
            if part.for_each:
                key = f" ({_e(part.key)})" if part.key else ""
                needed.append(f"{_label(_FOR_EACH, lang)} <code>data.{_e(part.for_each)}</code>{key}")
            fields = _required_fields(part.payload_schema)
            rows.append(
                f'<tr><td><a href="#step-{_e(state.id)}"><code>{_e(state.id)}</code></a></td>'
                f"<td><code>{_e(part.id)}</code></td>{labels}<td>{who}</td>"
                f"<td>{'<br>'.join(needed) or _label(_ALWAYS, lang)}</td>"
                f"<td>{' '.join(f'<code>{_e(f)}</code>' for f in fields) or _none()}</td></tr>"
            )
    return _table_section("parts", _label(_PARTS, lang), head, rows)


def _required_fields(schema: Any) -> list[str]:
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    return [str(name) for name in properties] if isinstance(properties, Mapping) else []


def _roles_section(process: Process, lang: Lang) -> str:
    head = _heads(lang, _ID) + _per_language_heads(_NAME, lang) + _heads(lang, _DEPARTMENT, _EXTERNAL)
    rows = []
    for role in process.roles.values():
        labels = "".join(f"<td{_lang_attr(code)}>{_e(_pick(role.label, code))}</td>" for code in _codes(lang))
        department = process.departments.get(role.department) if role.department else None
        department_cell = _text(department.label, lang, sep=" / ") if department else _none()
        external = _label(_YES, lang) if role.external else _label(_NO, lang)
        rows.append(
            f'<tr id="role-{_e(role.id)}"><td><code>{_e(role.id)}</code></td>{labels}'
            f"<td>{department_cell}</td><td>{external}</td></tr>"
        )
    return _table_section("roles", _label(_ROLES, lang), head, rows)


def _records_section(process: Process, lang: Lang) -> str:
    head = (
        _heads(lang, _ID)
        + _per_language_heads(_NAME, lang)
        + _heads(lang, _ARCHIVED, _FIELDS, _WRITTEN_BY, _REQUIRED_BY)
    )
    rows = []
    for record in process.records.values():
        labels = "".join(f"<td{_lang_attr(code)}>{_e(_pick(record.label, code))}</td>" for code in _codes(lang))
        archived = _label(_YES, lang) if is_archived(process, record.id) else _label(_NO, lang)
        rows.append(
            f'<tr id="record-{_e(record.id)}"><td><code>{_e(record.id)}</code></td>{labels}'
            f"<td>{archived}</td><td>{_fields(record.fields, lang)}</td>"
            f"<td>{_writers(process, record.id, lang)}</td><td>{_requirers(process, record.id)}</td></tr>"
        )
    return _table_section("records", _label(_RECORDS, lang), head, rows)


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
                    line = f"<code>{_e(state.id)}</code> · <code>{_e(transition.trigger)}</code>"
                    if binding.fields is not None:
                        line += " (" + ", ".join(_bound_field(*f) for f in binding.fields) + ")"
                    if binding.amend:
                        line += f" {_label(_AMENDS, lang)}"
                    items.append(line)
    return _list(items) if items else _none()


def _bound_field(name: str, root: str, field: str) -> str:
    same = root == "payload" and field == name
    return f"<code>{_e(name)}</code>" if same else f"<code>{_e(name)}</code> ← <code>{_e(root)}.{_e(field)}</code>"


def _requirers(process: Process, record_id: str) -> str:
    """The steps and transitions that require the record."""
    items = [f"<code>{_e(s.id)}</code>" for s in process.states.values() if record_id in s.requires]
    items += [
        f"<code>{_e(source)}</code> · <code>{_e(t.trigger)}</code>"
        for t in process.transitions
        if record_id in t.requires
        for source in t.sources
    ]
    return _list(items) if items else _none()


def _fields(schema: FrozenJson | None, lang: Lang) -> str:
    """A record's fields as a list: name, type, required; a nested schema is named, not expanded."""
    if not isinstance(schema, Mapping):
        return _none()
    reference = schema.get("$ref")
    if isinstance(reference, str):
        return f"{_label(_SEE, lang)} <code>{_e(reference)}</code>"
    properties = schema.get("properties")
    if not isinstance(properties, Mapping) or not properties:
        return _none()
    required = schema.get("required")
    required_names = set(required) if isinstance(required, tuple) else set()
    items = []
    for name, field in properties.items():
        details = [_field_type(field)]
        if name in required_names:
            details.append(_label(_REQUIRED, lang))
        description = field.get("description") if isinstance(field, Mapping) else None
        line = f"<code>{_e(name)}</code> " + ", ".join(d for d in details if d)
        if isinstance(description, str):
            line += f' <span class="sub">{_e(description)}</span>'
        items.append(line)
    return _list(items)


def _field_type(field: FrozenJson) -> str:
    if not isinstance(field, Mapping):
        return ""
    enum = field.get("enum")
    if isinstance(enum, tuple):
        return _e(" | ".join(v if isinstance(v, str) else json.dumps(thaw_json(v), ensure_ascii=False) for v in enum))
    kind = field.get("type")
    kinds = " | ".join(str(k) for k in kind) if isinstance(kind, tuple) else str(kind) if kind is not None else ""
    fmt = field.get("format")
    if isinstance(fmt, str):
        kinds = f"{kinds} ({fmt})" if kinds else fmt
    if isinstance(field.get("$ref"), str):
        kinds = f"→ {field['$ref']}"
    return _e(kinds)


def _sources_section(process: Process, lang: Lang) -> str:
    head = _heads(lang, _KEY) + _per_language_heads(_TITLE, lang) + _heads(lang, _FILE, _SECTIONS)
    rows = []
    for document in process.sources.values():
        labels = "".join(f"<td{_lang_attr(code)}>{_e(_pick(document.title, code))}</td>" for code in _codes(lang))
        sections = _e(document.sections) if document.sections else _none()
        rows.append(
            f'<tr id="source-{_e(document.key)}"><td><code>{_e(document.key)}</code></td>{labels}'
            f"<td><code>{_e(document.file)}</code></td><td>{sections}</td></tr>"
        )
    return _table_section("sources", _label(_SOURCES, lang), head, rows)


# --- small pieces ----------------------------------------------------------------------------------


def _document(title: str, body: str, lang: Lang) -> str:
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{HTML_LANG["zh"] if lang == "zh" else "en"}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="procflow">\n'
        '<link rel="icon" href="data:,">\n'  # no favicon request, so no failed fetch when opened from disk
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )


def _table_section(anchor: str, title: str, head: str, rows: Sequence[str]) -> str:
    return (
        f'<section id="{anchor}"><h2>{title}</h2>\n<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody>\n</table></section>"
    )


def _heads(lang: Lang, *headings: Text) -> str:
    return "".join(f"<th>{_label(heading, lang)}</th>" for heading in headings)


def _per_language_heads(heading: Text, lang: Lang) -> str:
    """One column heading per language shown: ``名称 Label (中文)``, ``名称 Label (English)``."""
    return "".join(f"<th>{_label(heading, lang)} {_pick_code_name(code)}</th>" for code in _codes(lang))


def _party(process: Process, key: str, lang: Lang) -> str:
    """A role (with its department) or a department, by id."""
    role = process.roles.get(key)
    if role is not None:
        text = _text(role.label, lang, sep=" / ")
        department = process.departments.get(role.department) if role.department else None
        if department is not None:
            text += f'<span class="sub">{_text(department.label, lang, sep=" / ")}</span>'
        elif role.external:
            text += f'<span class="sub">{_label(_EXTERNAL_PARTY, lang)}</span>'
        return text
    department = process.departments.get(key)
    if department is not None:
        return _text(department.label, lang, sep=" / ")
    return f"<code>{_e(key)}</code>"


def _record_label(process: Process, key: str, lang: Lang) -> str:
    record = process.records.get(key)
    return _text(record.label, lang, sep=" / ") if record else f"<code>{_e(key)}</code>"


def _list(items: Iterable[str]) -> str:
    return '<ul class="plain">' + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def _none() -> str:
    return "—"


def _e(value: str) -> str:
    return html.escape(value, quote=True)


def _codes(lang: Lang) -> tuple[Literal["zh", "en"], ...]:
    return ("zh", "en") if lang == "both" else (lang,)


def _pick(text: Text, code: str) -> str:
    return text.zh if code == "zh" else text.en


def _pick_code_name(code: str) -> str:
    return "(中文)" if code == "zh" else "(English)"


def _lang_attr(code: str) -> str:
    return f' lang="{HTML_LANG[code]}"'


def _text(text: Text, lang: Lang, *, sep: str) -> str:
    """A definition's label in the chosen language(s), each in an element that says its language."""
    spans = [f'<span class="{code}"{_lang_attr(code)}>{_e(_pick(text, code))}</span>' for code in _codes(lang)]
    return sep.join(spans)


def _label(text: Text, lang: Lang) -> str:
    """A heading of the book itself (not from a definition): already safe text."""
    return _text(text, lang, sep=" ")


def _plain(text: Text, lang: Lang) -> str:
    return " ".join(_pick(text, code) for code in _codes(lang))


_BOOK_TITLE = Text("流程审计手册", "Procedure audit book")
_BOOK_INTRO = Text(
    "每个流程:泳道流程图、步骤、转移、角色、记录及其来源文件。",
    "Each procedure: its swimlane flowchart, steps, transitions, roles, records and source documents.",
)
_ALL = Text("全部流程", "All procedures")
_TITLE = Text("标题", "Title")
_ID = Text("编号", "Id")
_VERSION = Text("版本", "Version")
_HASH = Text("内容哈希", "Content hash")
_STEP_COUNT = Text("步骤数", "Steps")
_OWNER = Text("负责部门", "Owner")
_DEFINITION = Text("定义文件", "Definition file")
_DIAGRAM = Text("流程图", "Flowchart")
_DOWNLOAD = Text("下载", "Download")
_FULL_SIZE_SVG = Text("SVG 原尺寸", "SVG at full size")
_STEPS = Text("步骤", "Steps")
_STEP = Text("步骤", "Step")
_KIND = Text("类型", "Kind")
_STEP_LABEL = Text("名称", "Label")
_ROLE = Text("角色(泳道)", "Role (lane)")
_TIME_LIMIT = Text("时限", "Time limit")
_RECORDS_PRODUCED = Text("产生记录", "Records produced")
_SOURCE = Text("来源章节", "Source section")
_TRANSITIONS = Text("转移与分支", "Transitions and branches")
_FROM = Text("从", "From")
_TRIGGER = Text("触发", "Trigger")
_CHOICE = Text("名称", "Label")
_TO = Text("到", "To")
_WHO = Text("执行角色", "Who may fire it")
_CONDITION = Text("条件", "Condition")
_SIGNOFFS = Text("签字", "Sign-offs")
_NOT_ACTOR_OF = Text("不得是执行人:", "not the actor of")
_SAME_ACTOR_AS = Text("须为执行人:", "the actor of")
_THIS_ROUND = Text("本轮", "this round")
_ONLY_WHEN = Text("仅当", "only when")
_PARTS = Text("分工协作(同一步骤的各部分)", "Parts of a step, done by several people")
_DONE_BY = Text("由谁完成", "Done by")
_NEEDED = Text("是否必需", "Required")
_OPTIONAL = Text("可选", "optional")
_ALWAYS = Text("必需", "always")
_FOR_EACH = Text("每项", "one per item of")
_ANY_OF = Text("共享转移,适用于", "Shared, from any of")
_BRANCH = Text("分支", "branch")
_DEFAULT_BRANCH = Text("默认分支", "default branch")
_OTHERWISE = Text("其他情况", "otherwise")
_BY_DATA = Text("由数据决定", "decided by the data")
_ADDITIONS = Text("来源文件未载的补充", "Additions not in the source")
_NOT_IN_SOURCE = Text("非来源文件所载", "not in the source document")
_NO_ADDITIONS = Text("无:每一步均出自来源文件。", "None: every step is taken from the source documents.")
_WHAT = Text("类别", "What")
_WHERE = Text("位置", "Where")
_WHY = Text("理由", "Why")
_DEADLINE = Text("期限", "deadline")
_TRANSITION = Text("转移", "transition")
_NOTIFICATIONS = Text("通知", "Notifications")
_WHEN = Text("何时", "When")
_TOLD = Text("通知对象", "Who is told")
_MESSAGE = Text("内容", "Text")
_ON_ENTERING = Text("进入", "on entering")
_ROLES = Text("角色", "Roles")
_NAME = Text("名称", "Name")
_DEPARTMENT = Text("部门", "Department")
_EXTERNAL = Text("外部", "External")
_EXTERNAL_PARTY = Text("外部", "external")
_RECORDS = Text("记录与表单", "Records and forms")
_ARCHIVED = Text("归档", "Archived")
_FIELDS = Text("字段", "Fields")
_WRITTEN_BY = Text("由哪些转移产生", "Written by (step · trigger)")
_REQUIRED_BY = Text("需要它的步骤", "Required by")
_AMENDS = Text("(修订)", "(amends)")
_REQUIRED = Text("必填", "required")
_SEE = Text("见", "see")
_SOURCES = Text("来源文件", "Source documents")
_KEY = Text("键", "Key")
_FILE = Text("文件", "File")
_SECTIONS = Text("章节", "Sections")
_YES = Text("是", "yes")
_NO = Text("否", "no")
_FOOTER = Text("由 procflow 生成,来自", "Generated by procflow from")
_KINDS = {
    StateKind.START: Text("开始", "start"),
    StateKind.TASK: Text("任务", "task"),
    StateKind.DECISION: Text("判断", "decision"),
    StateKind.WAIT: Text("等待", "wait"),
    StateKind.FINAL: Text("结束", "end"),
}
