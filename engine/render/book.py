"""The audit book: every procedure in a folder as a static HTML site an auditor opens from disk.

``write_book`` checks every definition first and lays out every diagram in memory; only when all of
that succeeded does it write the site, into a staging folder beside the target that then takes the
target's place. So a book is either the whole book of valid definitions or not written: an invalid
definition (or a diagram that cannot be laid out) leaves the previous book as it was.

    index.html                     every procedure: titles, id, version, short content hash, steps
    procedures/<id>.html           its flowchart (inline SVG) and tables of steps, transitions, clocks,
                                   loop limits, sub-procedures, additions, notifications, roles,
                                   records and source documents
    procedures/<id>.svg .mmd .dot  the diagram to download: SVG, Mermaid, Graphviz DOT

Each page opens with a document-control block (id, declared version, content hash, the file's git
revision and date, when the book was generated) and the procedure's change log: the git history of
its file, at most ``MAX_REVISIONS`` (20) commits by default, each compared with the one before
(``engine.changelog``), and the revisions a store registered when one is given. The generation time
is ``SOURCE_DATE_EPOCH`` when that is set, so the same definitions and history give the same bytes.

The target must be new, empty, or a book procflow wrote before (it holds ``.procflow-book``): the
book replaces the whole folder, and a mistyped ``-o`` must not wipe someone's files.
"""

from __future__ import annotations

import datetime
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.changelog import ChangeLog, Revision, change_log, git_revisions
from engine.errors import BookError, DefinitionError, Problem, RevisionError, Severity
from engine.model import Process
from engine.processes import Definitions
from engine.render import DEFAULT_TIMEOUT, LANGS, Lang, layout, render_dot, render_mermaid
from engine.render.book_pages import PROCEDURES, diagram_files, index_page, page_path, procedure_page
from engine.render.book_revisions import History
from engine.revisions import MAX_REVISIONS

MARKER = ".procflow-book"
INDEX = "index.html"


@dataclass(frozen=True)
class BookReport:
    """What ``write_book`` wrote."""

    index: Path
    pages: tuple[Path, ...]
    """One page per procedure, in the index's order (by file name)."""
    files: int
    """Every file written, pages and diagrams included."""
    bytes: int
    warnings: tuple[Problem, ...]
    """Warnings of the definitions (an unused role, a step without a source); they do not stop the book."""


def write_book(
    definitions: Definitions,
    out_dir: str | Path,
    *,
    lang: Lang = "both",
    timeout: float = DEFAULT_TIMEOUT,
    revisions: int = MAX_REVISIONS,
    stored: Mapping[str, Sequence[Revision]] | None = None,
    store_url: str | None = None,
    generated_at: datetime.datetime | None = None,
) -> BookReport:
    """Write the audit book of ``definitions`` (``engine.processes.load_definitions``) to ``out_dir``.

    Raises ``DefinitionError`` when two definitions have one id, and ``BookError`` when ``out_dir``
    cannot be used, both before anything is written; the renderer's errors (no Graphviz, a layout past
    ``timeout`` seconds) likewise.

    ``revisions``: how many of each file's newest git revisions the change log reads (1 to
    ``MAX_REVISIONS_ALLOWED``). ``stored``: by process id, the revisions a store holds (newest first),
    shown as a second log. ``generated_at``: the time the pages say the book was generated; by
    default ``SOURCE_DATE_EPOCH`` when set, else now.
    """
    if lang not in LANGS:
        raise BookError(f"language must be one of {', '.join(LANGS)}, got {lang!r}")
    if not 1 <= revisions <= MAX_REVISIONS_ALLOWED:
        raise BookError(f"the change log reads 1 to {MAX_REVISIONS_ALLOWED} revisions, not {revisions}")
    target = Path(out_dir)
    _check_target(target)
    generated = _generated(generated_at)
    processes = definitions.processes
    _refuse_duplicate_ids(processes)
    histories = {
        p.id: _history(p, file, generated, revisions, None if stored is None else stored.get(p.id, ()), store_url)
        for p, file in zip(processes, definitions.files, strict=True)
    }
    contents = _render_all(processes, lang, timeout, histories)
    _publish(contents, target)
    return BookReport(
        index=target / INDEX,
        pages=tuple(target / page_path(p) for p in processes),
        files=len(contents),
        bytes=sum(len(data) for data in contents.values()),
        warnings=definitions.warnings,
    )


MAX_REVISIONS_ALLOWED = 200
"""The most revisions of one file the change log may be asked to read."""


def _generated(moment: datetime.datetime | None) -> str:
    """When the book was generated, in UTC to the second: ``SOURCE_DATE_EPOCH`` (reproducible builds)."""
    if moment is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        if epoch is not None and epoch.strip():
            try:
                moment = datetime.datetime.fromtimestamp(int(epoch), datetime.UTC)
            except (ValueError, OverflowError, OSError):
                raise BookError(
                    f"SOURCE_DATE_EPOCH must be a whole number of seconds since 1970-01-01 UTC, got {epoch!r}"
                ) from None
        else:
            moment = datetime.datetime.now(datetime.UTC)
    if moment.tzinfo is None:
        raise BookError("the book's generation time needs its UTC offset")
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _history(
    process: Process, file: Path, generated: str, limit: int, stored: Sequence[Revision] | None, store_url: str | None
) -> History:
    """The procedure's change logs: from git (or why there is none), and from the store when given."""
    try:
        text = file.read_bytes()
    except OSError as exc:
        raise BookError(f"cannot read {process.file}: {exc.strerror or exc}") from exc
    try:
        found, more, absent = git_revisions(file, limit=limit)
        git = change_log(process, text, found, source="git", limit=limit, more=more, absent=absent)
    except RevisionError as exc:
        git = ChangeLog("git", (), False, "unreadable", detail=str(exc))
    store = None
    if stored is not None:
        store = change_log(process, text, stored, source="store", limit=limit, absent="not in the store")
    return History(generated, git, store, store_url, limit)


def _refuse_duplicate_ids(processes: Sequence[Process]) -> None:
    first: dict[str, Process] = {}
    problems = []
    for process in processes:
        earlier = first.setdefault(process.id, process)
        if earlier is not process:
            problems.append(
                Problem(
                    process.locate(("id",)),
                    f"process id `{process.id}` is also the id of {earlier.file}; each procedure in a book "
                    "needs its own id (it names the page)",
                    Severity.ERROR,
                    code="duplicate-process-id",
                )
            )
    if problems:
        raise DefinitionError(problems)


def _render_all(
    processes: Sequence[Process], lang: Lang, timeout: float, histories: Mapping[str, History]
) -> dict[str, bytes]:
    """Every file of the book, by its path in the book, in memory: nothing is written until all of it is rendered."""
    contents: dict[str, bytes] = {MARKER: b"This folder is a procflow audit book; `procflow book` replaces it whole.\n"}
    book = {process.id: process for process in processes}
    for process in processes:
        dot = render_dot(process, lang=lang)
        svg = layout(dot, "svg", timeout=timeout).decode("utf-8")
        files = diagram_files(process)
        contents[f"{PROCEDURES}/{files.dot}"] = dot.encode("utf-8")
        contents[f"{PROCEDURES}/{files.svg}"] = svg.encode("utf-8")
        contents[f"{PROCEDURES}/{files.mermaid}"] = render_mermaid(process, lang=lang).encode("utf-8")
        contents[page_path(process)] = procedure_page(process, svg, files, lang, book, histories[process.id]).encode(
            "utf-8"
        )
    contents[INDEX] = index_page(processes, lang).encode("utf-8")
    return contents


def _check_target(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise BookError(f"{target} is a file; name a folder for the book")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise BookError(
            f"{target} already holds files that are not an audit book; name a new or empty folder "
            "(the book replaces the whole folder)"
        )


def _publish(contents: dict[str, bytes], target: Path) -> None:
    """Write the files to a staging folder beside ``target``, then put it in ``target``'s place."""
    _check_target(target)  # again: the folder may have changed while the diagrams were laid out
    absolute = target.resolve()
    if not absolute.name:
        raise BookError(f"cannot write the book to {target}: name a folder inside it")
    staging = absolute.with_name(f".{absolute.name}.staging-{os.getpid()}")
    retired = absolute.with_name(f".{absolute.name}.old-{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        (staging / PROCEDURES).mkdir()
        for name, data in contents.items():
            (staging / name).write_bytes(data)
        if target.exists():
            target.rename(retired)
            staging.rename(target)
            shutil.rmtree(retired)
        else:
            staging.rename(target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if retired.exists() and not target.exists():
            retired.rename(target)
        raise BookError(f"cannot write the book to {target}: {exc.strerror or exc}") from exc
