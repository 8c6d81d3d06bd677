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

The target must be new, empty, or a book procflow wrote before (it holds ``.procflow-book``): the
book replaces the whole folder, and a mistyped ``-o`` must not wipe someone's files.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import BookError, DefinitionError, Problem, Severity
from engine.model import Process
from engine.processes import definition_files, validate_file
from engine.render import DEFAULT_TIMEOUT, LANGS, Lang, layout, render_dot, render_mermaid
from engine.render.book_pages import PROCEDURES, diagram_files, index_page, page_path, procedure_page

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
    paths: str | Path | Sequence[str | Path],
    out_dir: str | Path,
    *,
    lang: Lang = "both",
    timeout: float = DEFAULT_TIMEOUT,
) -> BookReport:
    """Write the audit book of the definitions at ``paths`` (files, or folders of ``.yaml`` files) to ``out_dir``.

    Raises ``DefinitionError`` with every error of every invalid file and writes nothing; ``BookError``
    when there is nothing to write or ``out_dir`` cannot be used; the renderer's errors (no Graphviz,
    a layout past ``timeout`` seconds) likewise before anything is written.
    """
    if lang not in LANGS:
        raise BookError(f"language must be one of {', '.join(LANGS)}, got {lang!r}")
    target = Path(out_dir)
    _check_target(target)
    processes, warnings = _load_all(_as_list(paths))
    contents = _render_all(processes, lang, timeout)
    _publish(contents, target)
    return BookReport(
        index=target / INDEX,
        pages=tuple(target / page_path(p) for p in processes),
        files=len(contents),
        bytes=sum(len(data) for data in contents.values()),
        warnings=warnings,
    )


def _as_list(paths: str | Path | Sequence[str | Path]) -> list[str | Path]:
    return [paths] if isinstance(paths, (str, Path)) else list(paths)


def _load_all(paths: Iterable[str | Path]) -> tuple[list[Process], tuple[Problem, ...]]:
    """Every definition's model, or ``DefinitionError`` with the problems of every file that has errors."""
    paths = list(paths)
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise BookError(f"no such file or folder: {', '.join(missing)}")
    files = definition_files(paths)
    if not files:
        raise BookError(f"no .yaml or .yml definitions in {', '.join(str(p) for p in paths)}")
    reports = [validate_file(f) for f in files]
    failing = [problem for report in reports if not report.ok for problem in report.problems]
    if failing:
        raise DefinitionError(failing)
    processes = [report.process for report in reports if report.process is not None]
    _refuse_duplicate_ids(processes)
    warnings = tuple(p for report in reports for p in report.warnings)
    return processes, warnings


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


def _render_all(processes: Sequence[Process], lang: Lang, timeout: float) -> dict[str, bytes]:
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
        contents[page_path(process)] = procedure_page(process, svg, files, lang, book).encode("utf-8")
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
