"""Loading process files: the pipeline from a path to a checked definition model.

text → located document (``loader``) → schema problems (``schema``) → model (``definition``) →
reference, expression and graph problems (``fragments``, ``checks``). Schema errors stop the
pipeline before the model is built, because the later stages rely on the shape the schema proves.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from engine.checks import check_process
from engine.collector import collector_paused
from engine.definition import build_process
from engine.errors import DefinitionError, NoDefinitions, Problem, Severity
from engine.fragments import fragment_problems
from engine.frozen import frozen
from engine.loader import LocatedDocument, load_bytes, load_file, load_text
from engine.model import Process
from engine.schema import schema_problems, without_invalid_nodes

DEFINITION_SUFFIXES = (".yaml", ".yml")


@frozen
class ValidationReport:
    """Every problem found in one file and, when it has no errors, its model."""

    file: str
    problems: tuple[Problem, ...]
    process: Process | None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)


@collector_paused()
def validate_file(path: str | Path) -> ValidationReport:
    try:
        document = load_file(path)
    except DefinitionError as exc:
        return ValidationReport(str(path), exc.problems, None)
    return validate_document(document)


@collector_paused()
def validate_text(text: str, file: str = "<text>") -> ValidationReport:
    try:
        document = load_text(text, file)
    except DefinitionError as exc:
        return ValidationReport(file, exc.problems, None)
    return validate_document(document)


def load_process(path: str | Path) -> Process:
    """The checked model of one definition file; ``DefinitionError`` lists every error (and warning)."""
    return _model_or_raise(validate_file(path))


def load_process_text(text: str, file: str = "<text>") -> Process:
    return _model_or_raise(validate_text(text, file))


@collector_paused()
def load_process_bytes(raw: bytes, file: str) -> Process:
    """The checked model of a definition read from somewhere other than a file (``git show``): the
    same checks and located errors as ``load_process``, ``file`` naming where it came from."""
    return _model_or_raise(validate_document(load_bytes(raw, file)))


@frozen
class Definitions:
    """The checked definitions found at some paths, each beside the file it was read from."""

    processes: tuple[Process, ...]
    files: tuple[Path, ...]
    """``files[i]`` holds ``processes[i]`` (``Process.file`` is its name as shown, escaped where not UTF-8)."""
    warnings: tuple[Problem, ...]
    """The warnings of every definition: they stop nothing."""


def load_definitions(paths: str | Path | Iterable[str | Path]) -> Definitions:
    """Every definition at ``paths`` (files, or folders of ``.yaml`` files), checked; ``DefinitionError``
    with the problems of every file that has errors, ``NoDefinitions`` when there is nothing to read."""
    given = [paths] if isinstance(paths, (str, Path)) else list(paths)
    missing = [str(p) for p in given if not Path(p).exists()]
    if missing:
        raise NoDefinitions(f"no such file or folder: {', '.join(missing)}")
    files = definition_files(given)
    if not files:
        raise NoDefinitions(f"no .yaml or .yml definitions in {', '.join(str(p) for p in given)}")
    reports = [validate_file(f) for f in files]
    failing = [problem for report in reports if not report.ok for problem in report.problems]
    if failing:
        raise DefinitionError(failing)
    processes = tuple(report.process for report in reports if report.process is not None)
    warnings = tuple(problem for report in reports for problem in report.warnings)
    return Definitions(processes, tuple(files), warnings)


def definition_files(paths: Iterable[str | Path], *, recursive: bool = False) -> list[Path]:
    """The files named, and the ``.yaml``/``.yml`` files directly inside the folders named, in order.

    With ``recursive``, the files in their subfolders too (`processes/scenarios/`), leaving out hidden
    files and folders (`.pre-commit-config.yaml`, `.git/`).
    """
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if not path.is_dir():
            found.append(path)
            continue
        inside = sorted(path.rglob("*")) if recursive else sorted(path.iterdir())
        found.extend(
            p
            for p in inside
            if p.suffix in DEFINITION_SUFFIXES
            and p.is_file()
            and not (recursive and any(part.startswith(".") for part in p.relative_to(path).parts))
        )
    return found


def started_definitions(process: Process, paths: Iterable[str | Path]) -> dict[str, Process]:
    """The definitions of the procedures ``process``'s steps start (``starts``), and of those they
    start in turn, found by id among the definition files at ``paths`` (files, or folders of them; the
    first file with an id wins). Files that do not load are passed over: an id found in none of the
    others is left out, for the caller to say so."""
    wanted = [s.starts.process for s in process.states.values() if s.starts is not None]
    if not wanted:
        return {}
    known: dict[str, Process] = {}
    for file in definition_files(paths):
        found = validate_file(file).process
        if found is not None:
            known.setdefault(found.id, found)
    result: dict[str, Process] = {}
    while wanted:
        name = wanted.pop()
        if name in result or name not in known:
            continue
        result[name] = child = known[name]
        wanted.extend(s.starts.process for s in child.states.values() if s.starts is not None)
    return result


@collector_paused()
def validate_document(document: LocatedDocument) -> ValidationReport:
    """Every problem in a loaded process definition and, when it has no errors, its model."""
    shape_problems = schema_problems(document)
    if shape_problems:
        # Check the rest of the file too, when dropping the rejected entries leaves a valid shape.
        pruned = without_invalid_nodes(document.data)
        if pruned is None:
            return ValidationReport(document.file, _sorted(shape_problems), None)
        document = LocatedDocument(pruned, document.source_map)
    process = build_process(document)
    assert isinstance(document.data, dict)  # the schema proved it
    problems = shape_problems + [
        Problem(document.locate(path), message, code=code) for path, code, message in fragment_problems(document.data)
    ]
    problems += check_process(process)
    report = ValidationReport(document.file, _sorted(problems), process)
    return report if report.ok else ValidationReport(report.file, report.problems, None)


def _model_or_raise(report: ValidationReport) -> Process:
    if report.process is None:
        raise DefinitionError(report.problems)
    return report.process


def _sorted(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    return tuple(sorted(problems, key=lambda p: (p.location, p.severity is not Severity.ERROR, p.message)))
