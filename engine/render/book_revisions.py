"""The audit book's sections on a procedure's revisions: the document-control block at the top of its
page, the changes since its previous revision, and the change log across revisions (from git, and
from a store when the book is given one).

The change log (``engine.changelog``) is read before any page is written; this module only shows it.
Commit subjects, authors, error messages and the changes' words all come from outside and pass
through ``esc``. A log with nothing to list says why in a sentence (not in git, never committed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine.changelog import Absent, ChangeLog, Entry
from engine.model import Process, Text
from engine.render import Lang
from engine.render.book_html import SHORT_HASH, esc, heads, html_list, label, none, table_section
from engine.revisions import MAX_REVISIONS


@dataclass(frozen=True)
class History:
    """What the book knows of a procedure beyond its file: its revisions and when the book was made."""

    generated: str
    """When the book was generated, as shown (``SOURCE_DATE_EPOCH`` when set, so a book can be rebuilt
    byte for byte)."""
    git: ChangeLog | None
    """``None`` on a page served live from a store (``engine.web.book``): the store's log stands in."""
    store: ChangeLog | None = None
    store_url: str | None = None
    limit: int = MAX_REVISIONS


def history_sections(process: Process, history: History, lang: Lang) -> list[str]:
    """The document-control block, the changes since the previous revision, the change log(s)."""
    main = history.git if history.git is not None else history.store
    sections = [document_control(process, history, lang)]
    if main is not None:
        sections.append(_latest_changes(main, lang))
    if history.git is not None:
        sections.append(_log_section("change-log", label(_CHANGE_LOG, lang), history.git, history.limit, lang))
    if history.store is not None:
        title = f"{label(_STORE_LOG, lang)} <code>{esc(history.store_url or '')}</code>"
        sections.append(_log_section("store-log", title, history.store, history.limit, lang))
    return sections


def document_control(process: Process, history: History, lang: Lang) -> str:
    """Process id, declared version, short content hash, the file's git revision and date, when generated."""
    short = process.content_hash[:SHORT_HASH]
    rows = [
        (_ID, f"<code>{esc(process.id)}</code>"),
        (_VERSION, esc(str(process.version))),
        (_HASH, f'<code class="hash" title="{esc(process.content_hash)}">{esc(short)}</code>'),
        (_FILE, f"<code>{esc(Path(process.file).name)}</code>"),
        (_REVISION, _git_revision(history.git, lang))
        if history.git is not None
        else (_STORE_REVISION, _git_revision(history.store, lang) if history.store else none()),
        (_GENERATED, f"<time>{esc(history.generated)}</time>"),
    ]
    body = "\n".join(f"<tr><th>{label(name, lang)}</th><td>{value}</td></tr>" for name, value in rows)
    return (
        f'<section id="document-control"><h2>{label(_CONTROL, lang)}</h2>\n'
        f'<table class="control">\n<tbody>\n{body}\n</tbody>\n</table></section>'
    )


def _git_revision(log: ChangeLog, lang: Lang) -> str:
    newest = log.newest
    if newest is None:
        return label(_NOT_IN_GIT, lang)
    revision = newest.revision
    text = f"<code>{esc(revision.label)}</code> · <time>{esc(revision.date or '')}</time>"
    if log.uncommitted:
        text += f'<span class="sub">{label(_UNCOMMITTED, lang)}</span>'
    return text


def _latest_changes(log: ChangeLog, lang: Lang) -> str:
    """What changed in the definition the page shows since the revision before it."""
    title = label(_LATEST, lang)
    if not log.entries:
        return _sentence("changes", title, f"{_absent(log, lang)} {label(_NO_REVISIONS, lang)}")
    entry = log.entries[0]
    if entry.changes is None:
        return _sentence("changes", title, _no_comparison(log, 0, lang))
    since = entry.since
    said = (
        f"{label(_SINCE, lang)} <code>{esc(since.label)}</code> <time>{esc(since.date or '')}</time>:"
        if since is not None
        else ""
    )
    return f'<section id="changes"><h2>{title}</h2>\n<p>{said}</p>\n{_changes(entry, lang)}</section>'


def _log_section(anchor: str, title: str, log: ChangeLog, limit: int, lang: Lang) -> str:
    if not log.entries:
        return _sentence(anchor, title, _absent(log, lang))
    head = heads(lang, _REVISION_COLUMN, _DATE, _AUTHOR, _SUBJECT, _CHANGES)
    rows = [_log_row(log, index, lang) for index in range(len(log.entries))]
    section = table_section(anchor, title, head, rows)
    if log.more:
        bound = Text(
            f"仅列出最近 {limit} 个修订;更早的修订未读取。",
            f"Only the newest {limit} revisions are read; older ones are left out.",
        )
        section = section.replace("</table></section>", f'</table>\n<p class="note">{label(bound, lang)}</p></section>')
    return section


def _log_row(log: ChangeLog, index: int, lang: Lang) -> str:
    entry = log.entries[index]
    revision = entry.revision
    if entry.error is not None:
        changes = (
            f'<span class="broken">{label(_DOES_NOT_LOAD, lang)}</span><span class="sub">{esc(entry.error)}</span>'
        )
    elif entry.changes is None:
        changes = _no_comparison(log, index, lang)
    else:
        changes = _changes(entry, lang)
    css = ' class="broken"' if entry.error is not None else ""
    return (
        f"<tr{css}><td>{_revision(entry, lang)}</td><td>{esc(revision.date or '') or none()}</td>"
        f"<td>{esc(revision.author or '') or none()}</td><td>{esc(revision.subject or '') or none()}</td>"
        f"<td>{changes}</td></tr>"
    )


def _changes(entry: Entry, lang: Lang) -> str:
    lines = [line for change in entry.changes or () for line in change.lines()]
    if not lines:
        return f"<p>{label(_NO_CHANGE, lang)}</p>"
    return html_list(_words(line) for line in lines)


def _words(line: str) -> str:
    """A change in words, escaped, with the ids it quotes in `backticks` set in code type."""
    return _QUOTED.sub(r"<code>\1</code>", esc(line))


_QUOTED = re.compile(r"`([^`]+)`")


def _no_comparison(log: ChangeLog, index: int, lang: Lang) -> str:
    """Why an entry has no changes listed: the first revision, or older ones past the bound or broken."""
    older = log.entries[index + 1 :]
    if not older and not log.more:
        return label(_FIRST, lang)
    return label(_NONE_OLDER, lang)


def _absent(log: ChangeLog, lang: Lang) -> str:
    said = label(_ABSENT[log.absent], lang) if log.absent is not None else ""
    return said + (f' <span class="sub">{esc(log.detail)}</span>' if log.detail else "")


def _revision(entry: Entry, lang: Lang) -> str:
    if entry.revision.on_disk:
        return label(_THIS_FILE, lang)
    return f"<code>{esc(entry.revision.label)}</code>"


def _sentence(anchor: str, title: str, sentence: str) -> str:
    return f'<section id="{anchor}"><h2>{title}</h2>\n<p>{sentence}</p></section>'


_ABSENT: dict[Absent, Text] = {
    "no git": Text(
        "未安装 git,无法读取此文件的修订。",
        "git is not installed, so the file's revisions cannot be read.",
    ),
    "not in a repository": Text(
        "此文件不在 git 仓库中,没有记录的修订。",
        "The file is not in a git repository, so it has no recorded revisions.",
    ),
    "no commits": Text(
        "仓库尚无提交,此文件没有记录的修订。",
        "The repository has no commits yet, so the file has no recorded revisions.",
    ),
    "not committed": Text(
        "此文件在 git 仓库中,但从未提交。",
        "The file is in a git repository but has never been committed.",
    ),
    "not in the store": Text("存储中没有此流程的修订。", "The store holds no revision of this procedure."),
    "unreadable": Text("无法从 git 读取此文件的修订:", "The file's revisions could not be read from git:"),
}
_THIS_FILE = Text("此文件(未提交)", "this file (not committed)")
_CONTROL = Text("文件控制", "Document control")
_ID = Text("流程编号", "Process id")
_VERSION = Text("声明版本", "Declared version")
_HASH = Text("内容哈希", "Content hash")
_FILE = Text("定义文件", "Definition file")
_REVISION = Text("git 修订", "Git revision")
_STORE_REVISION = Text("存储中的修订", "Revision in the store")
_GENERATED = Text("本手册生成于", "Book generated")
_NOT_IN_GIT = Text("不在 git 中", "not in git")
_UNCOMMITTED = Text("文件在此修订后有未提交的修改", "the file has changes not committed since")
_LATEST = Text("自上一修订以来的变更", "Changes since the previous revision")
_NO_REVISIONS = Text("没有可比较的上一修订。", "There is no previous revision to compare with.")
_SINCE = Text("相对于", "Since")
_CHANGE_LOG = Text("变更记录(git)", "Change log (git)")
_STORE_LOG = Text("存储中的修订", "Revisions in the store")
_REVISION_COLUMN = Text("修订", "Revision")
_DATE = Text("日期", "Date")
_AUTHOR = Text("作者", "Author")
_SUBJECT = Text("说明", "Subject")
_CHANGES = Text("变更", "Changes")
_DOES_NOT_LOAD = Text("此修订无法载入", "this revision does not load")
_NO_CHANGE = Text("流程未变(仅格式或注释不同)。", "No change to the procedure (layout or comments only).")
_FIRST = Text("首个修订。", "The first revision.")
_NONE_OLDER = Text(
    "没有可比较的更早修订(更早的修订无法载入或未读取)。",
    "No older revision to compare with (older ones do not load or were not read).",
)
