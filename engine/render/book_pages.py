"""The audit book's HTML: the index and one page per procedure, as text. No I/O, no layout.

Every value from a definition passes through ``html.escape``; the only markup that is not built here
is the diagram's SVG, which Graphviz wrote from escaped labels. Pages carry no script and fetch
nothing, so a book copied anywhere and opened from disk shows the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import RenderError
from engine.model import (
    Process,
    State,
    Transition,
)
from engine.render import Lang
from engine.render.book_chart import print_sheets, screen_figure
from engine.render.book_controls import (
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
from engine.render.book_sections import (
    additions_section,
    deadline_after,
    notifications_section,
    parts_section,
    records_section,
    roles_section,
    signoff_cell,
    sources_section,
)
from engine.render.book_words import (
    ALL,
    ANY_OF,
    BOOK_INTRO,
    BOOK_TITLE,
    BRANCH,
    BY_DATA,
    CHOICE,
    CONDITION,
    DEFAULT_BRANCH,
    DEFINITION,
    DIAGRAM,
    DOWNLOAD,
    FOOTER,
    FROM,
    FULL_SIZE_SVG,
    HASH,
    ID,
    KIND,
    KINDS,
    NOT_IN_SOURCE,
    OTHERWISE,
    OWNER,
    RECORDS_PRODUCED,
    ROLE,
    SIGNOFFS,
    SOURCE,
    STEP,
    STEP_COUNT,
    STEP_LABEL,
    STEPS,
    TIME_LIMIT,
    TITLE,
    TO,
    TRANSITIONS,
    TRIGGER,
    VERSION,
    WHO,
)
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
    head = per_language_heads(TITLE, lang)
    body = (
        f"<header><h1>{label(BOOK_TITLE, lang)}</h1>"
        f'<p class="description">{label(BOOK_INTRO, lang)}</p></header>\n'
        '<main>\n<table id="procedures">\n'
        f"<thead><tr>{head}{heads(lang, ID, VERSION, HASH, STEP_COUNT)}</tr></thead>\n"
        "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n</main>\n"
    )
    return document(plain(BOOK_TITLE, lang), body, lang)


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
        *([parts_section(process, lang)] if any(s.parts for s in process.states.values()) else []),
        clocks_section(process, lang),
        limits_section(process, lang),
        sub_procedures_section(process, lang, book or {}),
        additions_section(process, lang),
        notifications_section(process, lang),
        roles_section(process, lang),
        records_section(process, lang),
        sources_section(process, lang),
        "</main>",
        print_sheets(inline_svg(svg), lang),
        f"<footer>{label(FOOTER, lang)} <code>{esc(Path(process.file).name)}</code> · "
        f'<span class="hash">{esc(process.content_hash)}</span></footer>',
    ]
    return document(f"{plain(process.title, lang)} · {plain(BOOK_TITLE, lang)}", "\n".join(sections) + "\n", lang)


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
    owner = f"<dt>{label(OWNER, lang)}</dt><dd>{party(process, process.owner, lang)}</dd>"
    facts = (
        owner
        if brief
        else (
            f"<dt>{label(ID, lang)}</dt><dd><code>{esc(process.id)}</code></dd>"
            f"<dt>{label(VERSION, lang)}</dt><dd>{process.version}</dd>"
            f'<dt>{label(HASH, lang)}</dt><dd><code class="hash" id="content-hash">{esc(process.content_hash)}</code>'
            f"</dd>{owner}<dt>{label(DEFINITION, lang)}</dt><dd><code>{esc(Path(process.file).name)}</code></dd>"
        )
    )
    return (
        f'<header><nav><a href="../index.html">← {label(ALL, lang)}</a></nav>\n'
        f"<h1>{texts(process.title, lang, sep=' ')}</h1>\n{description}\n"
        f'<dl class="facts">{facts}</dl></header>'
    )


def _diagram_section(svg: str, files: DiagramFiles, lang: Lang) -> str:
    links = " · ".join(
        f'<a href="{esc(name)}">{kind}</a>'
        for kind, name in ((label(FULL_SIZE_SVG, lang), files.svg), ("Mermaid", files.mermaid), ("DOT", files.dot))
    )
    caption = f"{label(DOWNLOAD, lang)}: {links}"
    figure = screen_figure(inline_svg(svg), caption, lang)
    return f'<section id="diagram"><h2>{label(DIAGRAM, lang)}</h2>\n{figure}</section>'


def _steps_section(process: Process, lang: Lang) -> str:
    head = (
        heads(lang, STEP, KIND)
        + per_language_heads(STEP_LABEL, lang)
        + heads(lang, ROLE, TIME_LIMIT, RECORDS_PRODUCED, SOURCE)
    )
    rows = [_step_row(process, state, lang) for state in process.states.values()]
    return table_section("steps", label(STEPS, lang), head, rows)


def _step_row(process: Process, state: State, lang: Lang) -> str:
    labels = cells(state.label, lang)
    role = party(process, state.role, lang) if state.role else none()
    written = state.records_written
    records = html_list(record_label(process, r, lang) for r in written) if written else none()
    source = _source_ref(process, state, lang)
    return (
        f'<tr id="step-{esc(state.id)}"><td><code>{esc(state.id)}</code></td>'
        f"<td>{label(KINDS[state.kind], lang)}{step_marks(state, lang)}</td>"
        f"{labels}<td>{role}</td><td>{_time_limit(state)}</td><td>{records}</td><td>{source}</td></tr>"
    )


def _time_limit(state: State) -> str:
    parts = []
    if state.time_limit is not None:
        parts.append(esc(state.time_limit.text))
    elif state.time_limit_from is not None:
        parts.append(esc(state.time_limit_from.text))
    for deadline in state.deadlines:
        after = deadline_after(deadline)
        parts.append(f'<span class="sub">{esc(after)} → <code>{esc(deadline.fire)}</code></span>')
    return "".join(parts) if parts else "—"


def _source_ref(process: Process, state: State, lang: Lang) -> str:
    if state.addition is not None:
        return f'<a class="addition" href="#additions">{label(NOT_IN_SOURCE, lang)}</a>'
    return source_cell(process, state.source, lang)


def _transitions_section(process: Process, lang: Lang) -> str:
    head = heads(lang, FROM, TRIGGER) + per_language_heads(CHOICE, lang) + heads(lang, TO, WHO, CONDITION, SIGNOFFS)
    rows = [_transition_row(process, transition, lang) for transition in process.transitions]
    for state in process.states.values():
        branches = [*state.branches, *([state.default] if state.default else [])]
        for number, branch in enumerate(branches, start=1):
            is_default = branch is state.default
            labels = cells(branch.label, lang)
            condition = label(OTHERWISE, lang) if is_default else condition_cell(branch.condition or "", lang)
            trigger = label(DEFAULT_BRANCH, lang) if is_default else f"{label(BRANCH, lang)} {number}"
            rows.append(
                f"<tr><td><code>{esc(state.id)}</code></td><td>{trigger}</td>{labels}"
                f"<td><code>{esc(branch.dest)}</code></td><td>{label(BY_DATA, lang)}</td><td>{condition}</td>"
                f"<td>{none()}</td></tr>"
            )
    return table_section("transitions", label(TRANSITIONS, lang), head, rows)


def _transition_row(process: Process, transition: Transition, lang: Lang) -> str:
    labels = cells(transition.label, lang)
    sources = " ".join(f"<code>{esc(s)}</code>" for s in transition.sources)
    if transition.shared:
        sources = f'{label(ANY_OF, lang)}<span class="sub">{sources}</span>'
    who = html_list(party(process, role, lang) for role in transition.roles) if transition.roles else none()
    conditions = html_list(condition_cell(c, lang) for c in transition.conditions) if transition.conditions else "—"
    signoffs = html_list(signoff_cell(process, s, lang) for s in transition.signoffs) if transition.signoffs else "—"
    return (
        f"<tr><td>{sources}</td><td><code>{esc(transition.trigger)}</code></td>{labels}"
        f"<td><code>{esc(transition.dest)}</code></td><td>{who}</td><td>{conditions}</td><td>{signoffs}</td></tr>"
    )


def condition_cell(expression: str, lang: Lang) -> str:
    """The expression as written, and under it the condition in words where they can be said."""
    words = condition_words(expression)
    said = f'<span class="sub words">{texts(words, lang, sep=" / ")}</span>' if words is not None else ""
    return f"<code>{esc(expression)}</code>{said}"
