"""The audit book's HTML: the index and one page per procedure, as text. No I/O, no layout.

Every value from a definition passes through ``html.escape``; the only markup that is not built here
is the diagram's SVG, which Graphviz wrote from escaped labels. Pages carry no script and fetch
nothing, so a book copied anywhere and opened from disk shows the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import RenderError
from engine.model import (
    Deadline,
    FrozenJson,
    Notification,
    Process,
    SignOff,
    State,
    StateKind,
    Text,
    Transition,
    thaw_json,
)
from engine.render import Lang
from engine.render.book_chart import print_sheets, screen_figure
from engine.render.book_controls import (
    clock_notifications,
    clocks_section,
    limits_section,
    step_marks,
    sub_procedures_section,
)
from engine.render.book_html import (
    SHORT_HASH,
    cells,
    codes,
    document,
    esc,
    heads,
    html_list,
    label,
    lang_attr,
    none,
    party,
    per_language_heads,
    pick,
    plain,
    record_label,
    source_cell,
    table_section,
    texts,
)
from engine.render.book_revisions import History, history_sections
from engine.render.conditions import condition_words

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
        link = esc(page_path(process))
        title_cells = "".join(
            f'<td{lang_attr(code)}><a href="{link}">{esc(pick(process.title, code))}</a></td>' for code in codes(lang)
        )
        rows.append(
            "<tr>"
            f'{title_cells}<td><a href="{link}"><code>{esc(process.id)}</code></a></td>'
            f"<td>{process.version}</td>"
            f'<td><code class="hash" title="{esc(process.content_hash)}">{esc(process.content_hash[:SHORT_HASH])}'
            "</code></td>"
            f"<td>{len(process.states)}</td>"
            "</tr>"
        )
    head = per_language_heads(_TITLE, lang)
    body = (
        f"<header><h1>{label(_BOOK_TITLE, lang)}</h1>"
        f'<p class="description">{label(_BOOK_INTRO, lang)}</p></header>\n'
        '<main>\n<table id="procedures">\n'
        f"<thead><tr>{head}{heads(lang, _ID, _VERSION, _HASH, _STEP_COUNT)}</tr></thead>\n"
        "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n</main>\n"
    )
    return document(plain(_BOOK_TITLE, lang), body, lang)


# --- a procedure's page ----------------------------------------------------------------------------


def procedure_page(
    process: Process,
    svg: str,
    files: DiagramFiles,
    lang: Lang,
    book: Mapping[str, Process] | None = None,
    history: History | None = None,
) -> str:
    """The page of one procedure; ``svg`` is Graphviz's output, inlined without its XML prologue.
    ``book``: every procedure of the book by id, so that a step starting another links to its page.
    ``history``: its revisions, for the document-control block and the change log at the top."""
    sections = [
        _header(process, lang, brief=history is not None),
        "<main>",
        *(history_sections(process, history, lang) if history is not None else []),
        _diagram_section(svg, files, lang),
        _steps_section(process, lang),
        _transitions_section(process, lang),
        *([_parts_section(process, lang)] if any(s.parts for s in process.states.values()) else []),
        clocks_section(process, lang),
        limits_section(process, lang),
        sub_procedures_section(process, lang, book or {}),
        _additions_section(process, lang),
        _notifications_section(process, lang),
        _roles_section(process, lang),
        _records_section(process, lang),
        _sources_section(process, lang),
        "</main>",
        print_sheets(inline_svg(svg), lang),
        f"<footer>{label(_FOOTER, lang)} <code>{esc(Path(process.file).name)}</code> · "
        f'<span class="hash">{esc(process.content_hash)}</span></footer>',
    ]
    return document(f"{plain(process.title, lang)} · {plain(_BOOK_TITLE, lang)}", "\n".join(sections) + "\n", lang)


def inline_svg(svg: str) -> str:
    """Graphviz's SVG file without the XML declaration and doctype, which HTML does not allow inside a page."""
    start = svg.find("<svg")
    if start < 0:
        raise RenderError("Graphviz's SVG output holds no <svg> element; the diagram cannot be put in the book")
    return svg[start:].strip()


def _header(process: Process, lang: Lang, *, brief: bool = False) -> str:
    """Title, description and facts; ``brief`` when the document-control block below gives the id,
    version, hash and file, leaving the owner."""
    description = (
        f'<p class="description">{texts(process.description, lang, sep="<br>")}</p>' if process.description else ""
    )
    owner = f"<dt>{label(_OWNER, lang)}</dt><dd>{party(process, process.owner, lang)}</dd>"
    facts = (
        owner
        if brief
        else (
            f"<dt>{label(_ID, lang)}</dt><dd><code>{esc(process.id)}</code></dd>"
            f"<dt>{label(_VERSION, lang)}</dt><dd>{process.version}</dd>"
            f'<dt>{label(_HASH, lang)}</dt><dd><code class="hash" id="content-hash">{esc(process.content_hash)}</code>'
            f"</dd>{owner}<dt>{label(_DEFINITION, lang)}</dt><dd><code>{esc(Path(process.file).name)}</code></dd>"
        )
    )
    return (
        f'<header><nav><a href="../index.html">← {label(_ALL, lang)}</a></nav>\n'
        f"<h1>{texts(process.title, lang, sep=' ')}</h1>\n{description}\n"
        f'<dl class="facts">{facts}</dl></header>'
    )


def _diagram_section(svg: str, files: DiagramFiles, lang: Lang) -> str:
    links = " · ".join(
        f'<a href="{esc(name)}">{kind}</a>'
        for kind, name in ((label(_FULL_SIZE_SVG, lang), files.svg), ("Mermaid", files.mermaid), ("DOT", files.dot))
    )
    caption = f"{label(_DOWNLOAD, lang)}: {links}"
    figure = screen_figure(inline_svg(svg), caption, lang)
    return f'<section id="diagram"><h2>{label(_DIAGRAM, lang)}</h2>\n{figure}</section>'


def _steps_section(process: Process, lang: Lang) -> str:
    head = (
        heads(lang, _STEP, _KIND)
        + per_language_heads(_STEP_LABEL, lang)
        + heads(lang, _ROLE, _TIME_LIMIT, _RECORDS_PRODUCED, _SOURCE)
    )
    rows = [_step_row(process, state, lang) for state in process.states.values()]
    return table_section("steps", label(_STEPS, lang), head, rows)


def _step_row(process: Process, state: State, lang: Lang) -> str:
    labels = cells(state.label, lang)
    role = party(process, state.role, lang) if state.role else none()
    written = state.records_written
    records = html_list(record_label(process, r, lang) for r in written) if written else none()
    source = _source_ref(process, state, lang)
    return (
        f'<tr id="step-{esc(state.id)}"><td><code>{esc(state.id)}</code></td>'
        f"<td>{label(_KINDS[state.kind], lang)}{step_marks(state, lang)}</td>"
        f"{labels}<td>{role}</td><td>{_time_limit(state)}</td><td>{records}</td><td>{source}</td></tr>"
    )


def _time_limit(state: State) -> str:
    parts = []
    if state.time_limit is not None:
        parts.append(esc(state.time_limit.text))
    elif state.time_limit_from is not None:
        parts.append(esc(state.time_limit_from.text))
    for deadline in state.deadlines:
        after = _deadline_after(deadline)
        parts.append(f'<span class="sub">{esc(after)} → <code>{esc(deadline.fire)}</code></span>')
    return "".join(parts) if parts else "—"


def _deadline_after(deadline: Deadline) -> str:
    """A deadline's time as written: a duration, or the data field it is read from."""
    if deadline.after_from is not None:
        return deadline.after_from.text
    return deadline.after.text if deadline.after is not None else "?"


def _source_ref(process: Process, state: State, lang: Lang) -> str:
    if state.addition is not None:
        return f'<a class="addition" href="#additions">{label(_NOT_IN_SOURCE, lang)}</a>'
    return source_cell(process, state.source, lang)


def _transitions_section(process: Process, lang: Lang) -> str:
    head = (
        heads(lang, _FROM, _TRIGGER) + per_language_heads(_CHOICE, lang) + heads(lang, _TO, _WHO, _CONDITION, _SIGNOFFS)
    )
    rows = [_transition_row(process, transition, lang) for transition in process.transitions]
    for state in process.states.values():
        branches = [*state.branches, *([state.default] if state.default else [])]
        for number, branch in enumerate(branches, start=1):
            is_default = branch is state.default
            labels = cells(branch.label, lang)
            condition = label(_OTHERWISE, lang) if is_default else condition_cell(branch.condition or "", lang)
            trigger = label(_DEFAULT_BRANCH, lang) if is_default else f"{label(_BRANCH, lang)} {number}"
            rows.append(
                f"<tr><td><code>{esc(state.id)}</code></td><td>{trigger}</td>{labels}"
                f"<td><code>{esc(branch.dest)}</code></td><td>{label(_BY_DATA, lang)}</td><td>{condition}</td>"
                f"<td>{none()}</td></tr>"
            )
    return table_section("transitions", label(_TRANSITIONS, lang), head, rows)


def _transition_row(process: Process, transition: Transition, lang: Lang) -> str:
    labels = cells(transition.label, lang)
    sources = " ".join(f"<code>{esc(s)}</code>" for s in transition.sources)
    if transition.shared:
        sources = f'{label(_ANY_OF, lang)}<span class="sub">{sources}</span>'
    who = html_list(party(process, role, lang) for role in transition.roles) if transition.roles else none()
    conditions = html_list(condition_cell(c, lang) for c in transition.conditions) if transition.conditions else "—"
    signoffs = html_list(_signoff(process, s, lang) for s in transition.signoffs) if transition.signoffs else "—"
    return (
        f"<tr><td>{sources}</td><td><code>{esc(transition.trigger)}</code></td>{labels}"
        f"<td><code>{esc(transition.dest)}</code></td><td>{who}</td><td>{conditions}</td><td>{signoffs}</td></tr>"
    )


def condition_cell(expression: str, lang: Lang) -> str:
    """The expression as written, and under it the condition in words where they can be said."""
    words = condition_words(expression)
    said = f'<span class="sub words">{texts(words, lang, sep=" / ")}</span>' if words is not None else ""
    return f"<code>{esc(expression)}</code>{said}"


def _additions_section(process: Process, lang: Lang) -> str:
    """Every step, transition and deadline declared as not in the source, with where it is and why."""
    rows = []
    for state in process.states.values():
        if state.addition is not None:
            rows.append(
                _addition_row(label(_STEP, lang), state.label, f"<code>{esc(state.id)}</code>", state.addition, lang)
            )
        for deadline in state.deadlines:
            if deadline.addition is not None:
                after = _deadline_after(deadline)
                where = f"<code>{esc(state.id)}</code>: {esc(after)} → <code>{esc(deadline.fire)}</code>"
                named = Text(f"{after} → {deadline.fire}", f"{after} → {deadline.fire}")
                rows.append(_addition_row(label(_DEADLINE, lang), named, where, deadline.addition, lang))
    for transition in process.transitions:
        if transition.addition is not None:
            where = " ".join(f"<code>{esc(s)}</code>" for s in transition.sources)
            where += f" → <code>{esc(transition.dest)}</code> (<code>{esc(transition.trigger)}</code>)"
            rows.append(_addition_row(label(_TRANSITION, lang), transition.label, where, transition.addition, lang))
    title = label(_ADDITIONS, lang)
    if not rows:
        return f'<section id="additions"><h2>{title}</h2>\n<p>{label(_NO_ADDITIONS, lang)}</p></section>'
    head = (
        heads(lang, _WHAT)
        + per_language_heads(_STEP_LABEL, lang)
        + heads(lang, _WHERE)
        + per_language_heads(_WHY, lang)
    )
    return table_section("additions", title, head, rows)


def _addition_row(kind: str, named: Text, where: str, why: Text, lang: Lang) -> str:
    return f'<tr class="addition"><td>{kind}</td>{cells(named, lang)}<td>{where}</td>{cells(why, lang)}</tr>'


def _notifications_section(process: Process, lang: Lang) -> str:
    """Which step or transition notifies whom, with the text as declared (placeholders shown as written)."""
    rows: list[str] = []
    for state in process.states.values():
        when = f"{label(_ON_ENTERING, lang)} <code>{esc(state.id)}</code>"
        rows.extend(_notification_row(process, when, n, lang) for n in state.notify)
    for transition in process.transitions:
        sources = " ".join(f"<code>{esc(s)}</code>" for s in transition.sources)
        when = f"<code>{esc(transition.trigger)}</code> ({sources} → <code>{esc(transition.dest)}</code>)"
        rows.extend(_notification_row(process, when, n, lang) for n in transition.notify)
    rows.extend(_notification_row(process, when, n, lang) for when, n in clock_notifications(process, lang))
    title = label(_NOTIFICATIONS, lang)
    if not rows:
        return f'<section id="notifications"><h2>{title}</h2>\n<p>{none()}</p></section>'
    head = heads(lang, _WHEN, _TOLD) + per_language_heads(_MESSAGE, lang)
    return table_section("notifications", title, head, rows)


def _notification_row(process: Process, when: str, notification: Notification, lang: Lang) -> str:
    told = html_list(party(process, role, lang) for role in notification.roles)
    texts = cells(notification.text, lang)
    return f"<tr><td>{when}</td><td>{told}</td>{texts}</tr>"


def _signoff(process: Process, signoff: SignOff, lang: Lang) -> str:
    text = party(process, signoff.role, lang)
    if signoff.label:
        text += f'<span class="sub">{texts(signoff.label, lang, sep=" / ")}</span>'
    round_ = f" ({label(_THIS_ROUND, lang)})" if signoff.scope == "round" else ""
    if signoff.not_actor_of:
        states = " ".join(f"<code>{esc(state)}</code>" for state in signoff.not_actor_of)
        text += f'<span class="sub">{label(_NOT_ACTOR_OF, lang)} {states}{round_}</span>'
    if signoff.same_actor_as:
        states = " ".join(f"<code>{esc(state)}</code>" for state in signoff.same_actor_as)
        text += f'<span class="sub">{label(_SAME_ACTOR_AS, lang)} {states}{round_}</span>'
    if signoff.when:
        text += f'<span class="sub">{label(_ONLY_WHEN, lang)} <code>{esc(signoff.when)}</code></span>'
    return text


def _parts_section(process: Process, lang: Lang) -> str:
    """Every part of every step: who does it, whether it is required, per item of which list, its form."""
    head = heads(lang, _STEP, _ID) + per_language_heads(_NAME, lang) + heads(lang, _DONE_BY, _NEEDED, _FIELDS)
    rows = []
    for state in process.states.values():
        for part in state.parts:
            labels = cells(part.label, lang)
            who = html_list(party(process, role, lang) for role in part.roles)
            needed = [label(_OPTIONAL, lang)] if not part.required else []
            if part.required and part.required_when:
                needed.append(f"{label(_ONLY_WHEN, lang)} <code>{esc(part.required_when)}</code>")
            if part.for_each:
                key = f" ({esc(part.key)})" if part.key else ""
                needed.append(f"{label(_FOR_EACH, lang)} <code>data.{esc(part.for_each)}</code>{key}")
            fields = _required_fields(process, part.payload_schema, lang)
            rows.append(
                f'<tr><td><a href="#step-{esc(state.id)}"><code>{esc(state.id)}</code></a></td>'
                f"<td><code>{esc(part.id)}</code></td>{labels}<td>{who}</td>"
                f"<td>{'<br>'.join(needed) or label(_ALWAYS, lang)}</td>"
                f"<td>{' '.join(fields) or none()}</td></tr>"
            )
    return table_section("parts", label(_PARTS, lang), head, rows)


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


def _roles_section(process: Process, lang: Lang) -> str:
    head = heads(lang, _ID) + per_language_heads(_NAME, lang) + heads(lang, _DEPARTMENT, _EXTERNAL)
    rows = []
    for role in process.roles.values():
        labels = cells(role.label, lang)
        department = process.departments.get(role.department) if role.department else None
        department_cell = texts(department.label, lang, sep=" / ") if department else none()
        external = label(_YES, lang) if role.external else label(_NO, lang)
        rows.append(
            f'<tr id="role-{esc(role.id)}"><td><code>{esc(role.id)}</code></td>{labels}'
            f"<td>{department_cell}</td><td>{external}</td></tr>"
        )
    return table_section("roles", label(_ROLES, lang), head, rows)


def _records_section(process: Process, lang: Lang) -> str:
    head = (
        heads(lang, _ID) + per_language_heads(_NAME, lang) + heads(lang, _ARCHIVED, _FIELDS, _WRITTEN_BY, _REQUIRED_BY)
    )
    rows = []
    for record in process.records.values():
        labels = cells(record.label, lang)
        archived = label(_YES, lang) if is_archived(process, record.id) else label(_NO, lang)
        rows.append(
            f'<tr id="record-{esc(record.id)}"><td><code>{esc(record.id)}</code></td>{labels}'
            f"<td>{archived}</td><td>{_fields(process, record.fields, lang)}</td>"
            f"<td>{_writers(process, record.id, lang)}</td><td>{_requirers(process, record.id)}</td></tr>"
        )
    return table_section("records", label(_RECORDS, lang), head, rows)


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
                        line += f" {label(_AMENDS, lang)}"
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


def _fields(process: Process, schema: FrozenJson | None, lang: Lang) -> str:
    """A record's fields as a list: name, type, required; a nested schema is named, not expanded."""
    if not isinstance(schema, Mapping):
        return none()
    reference = schema.get("$ref")
    if isinstance(reference, str):
        return f"{label(_SEE, lang)} <code>{esc(reference)}</code>"
    properties = schema.get("properties")
    if not isinstance(properties, Mapping) or not properties:
        return none()
    required = schema.get("required")
    required_names = set(required) if isinstance(required, tuple) else set()
    items = []
    for name, field in properties.items():
        details = [_field_type(field)]
        if name in required_names:
            details.append(label(_REQUIRED, lang))
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


def _sources_section(process: Process, lang: Lang) -> str:
    head = heads(lang, _KEY) + per_language_heads(_TITLE, lang) + heads(lang, _FILE, _SECTIONS)
    rows = []
    for source in process.sources.values():
        sections = esc(source.sections) if source.sections else none()
        rows.append(
            f'<tr id="source-{esc(source.key)}"><td><code>{esc(source.key)}</code></td>{cells(source.title, lang)}'
            f"<td><code>{esc(source.file)}</code></td><td>{sections}</td></tr>"
        )
    return table_section("sources", label(_SOURCES, lang), head, rows)


_BOOK_TITLE = Text("流程审计手册", "Procedure audit book")
_BOOK_INTRO = Text(
    "每个流程:泳道流程图、步骤、转移、跨步骤时限、循环次数上限、子流程、角色、记录及其来源文件。",
    "Each procedure: its swimlane flowchart, steps, transitions, promises across steps, loop limits, "
    "sub-procedures, roles, records and source documents.",
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
