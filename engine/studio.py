"""The Studio's work behind the web page where process owners edit a procedure: check a draft as
``procflow validate`` does (the same pipeline, ``engine.processes.validate_text``), draw it, draw its
diff against the published revision, and publish it as the store's next revision with the impact on
open cases and a draft migration plan.

Nothing here reads files or the network: a draft is the text it is given, and a store is the
``Workflows`` it is given. Publishing needs the role ``PUBLISHER_ROLE``; a refusal changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from engine.changes import Change, changes_json, diff_processes
from engine.errors import DefinitionError, NotFound, PermissionDenied, Problem
from engine.impact import Impact
from engine.model import Process, thaw_json
from engine.processes import validate_text
from engine.render import Lang, layout, render_dot
from engine.render.changes import changes_dot
from engine.runtime import Actor
from engine.service import Workflows
from engine.stores import ProcessRef

PUBLISHER_ROLE = "publisher"
"""The role that may publish a draft as a procedure's next revision (given in the users file)."""
DRAFT_FILE = "<draft>"
"""The file name a draft's problems are located in when the caller gives none."""


@dataclass(frozen=True)
class Checked:
    """A draft's problems (errors and warnings, sorted by place) and, when it has no errors, its model."""

    problems: tuple[Problem, ...]
    process: Process | None
    text: str

    @property
    def ok(self) -> bool:
        return self.process is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.ok,
            "process": None if self.process is None else _side(self.process),
            "problems": [problem_json(p, self.text) for p in self.problems],
        }


@dataclass(frozen=True)
class Diff:
    changes: tuple[Change, ...]
    document: dict[str, Any]
    """``changes_json``'s document (schemas/diff.schema.json)."""
    svg: bytes
    """The draft's chart with the changes marked."""


@dataclass(frozen=True)
class Published:
    ref: ProcessRef
    created: bool
    """False when the store already held this very content (its revision is returned, nothing added)."""
    previous: ProcessRef | None
    impact: Impact | None
    """The open cases of the previous revision the change touches; None for a first revision."""
    plan: str | None
    """A draft migration plan (YAML, ``procflow migrate``'s) from the previous revision to this one."""


def check(text: str, name: str = DRAFT_FILE) -> Checked:
    """Every problem ``procflow validate`` reports for ``text`` (located in the file ``name``), and its model."""
    report = validate_text(text, name)
    return Checked(report.problems, report.process, text)


def problem_json(problem: Problem, text: str) -> dict[str, Any]:
    """A problem as the editor marks it: the CLI's fields, the token it starts at as its end, and the
    CLI's line (``file:line:column: severity: message``) as ``text``."""
    line, column = problem.location.line, problem.location.column
    return problem.as_json() | {"end": {"line": line, "column": _token_end(text, line, column)}, "text": str(problem)}


def chart(process: Process, lang: Lang = "both") -> bytes:
    """The procedure's chart as SVG (Graphviz, ``procflow render``'s drawing; labels escaped there)."""
    return layout(render_dot(process, lang=lang), "svg")


def diff(published: Process, draft: Process, lang: Lang = "both") -> Diff:
    """What changed from ``published`` to ``draft``, in ``procflow diff --format json``'s words, and drawn."""
    changes = diff_processes(published, draft)
    svg = layout(changes_dot(published, draft, changes, lang=lang), "svg")
    return Diff(changes, changes_json(published, draft, changes), svg)


def published(workflows: Workflows, process_id: str) -> tuple[ProcessRef, Process] | None:
    """The latest revision of a procedure in the store, or None when it has none; named by its revision
    (``minimal_repair@1``), not by the file it was registered from, which is the server's business."""
    try:
        ref = workflows.latest(process_id)
    except NotFound:
        return None
    process = workflows.runtime(ref.id, ref.content_hash).process
    return ref, replace(process, source_map=replace(process.source_map, file=f"{ref.id}@{ref.revision}"))


def publish(workflows: Workflows, text: str, actor: Actor, name: str = DRAFT_FILE) -> Published:
    """Register the draft as its procedure's next revision (``Workflows.register``).

    ``PermissionDenied`` without the ``publisher`` role and ``DefinitionError`` (every problem at its
    place) for a draft with errors, the store unchanged either way."""
    if PUBLISHER_ROLE not in actor.roles:
        raise PermissionDenied(f"publishing a procedure needs the role `{PUBLISHER_ROLE}`")
    checked = check(text, name)
    if checked.process is None:
        raise DefinitionError(checked.problems)
    before = published(workflows, checked.process.id)
    ref = workflows.register(checked.process, text=text)  # stored as written, comments and all
    if before is None:
        return Published(ref, True, None, None, None)
    old_ref, old = before
    created = ref.revision != old_ref.revision
    if not created:
        return Published(ref, False, old_ref, None, None)
    changes = diff_processes(old, checked.process)
    plan = draft_plan(old_ref, ref, old, checked.process, changes)
    return Published(ref, True, old_ref, workflows.impact(old, checked.process), plan)


def draft_plan(old_ref: ProcessRef, new_ref: ProcessRef, old: Process, new: Process, changes: Sequence[Change]) -> str:
    """A migration plan to start from: renamed steps mapped, removed ones and new required data fields
    left for the owner to decide (``procflow migrate --dry-run`` then says what it would do)."""
    renamed = {c.old_id: c.id for c in changes if c.element == "step" and c.kind == "renamed" and c.old_id}
    removed = [c.id for c in changes if c.element == "step" and c.kind == "removed"]
    required = sorted(_required(new.data_schema) - _required(old.data_schema))
    lines = [
        "migration: 1",
        f"process: {_scalar(new.id)}",
        f"from: {old_ref.revision}",
        f"to: {new_ref.revision}",
    ]
    if renamed or removed:
        lines.append("steps:")
        lines.extend(f"  {_scalar(a)}: {_scalar(b)}" for a, b in sorted(renamed.items()))
        lines.extend(f"  # {_scalar(step)}: ?   # removed: say where its cases go" for step in removed)
    if required:
        lines.append("set:")
        note = "# new required field: an expression over the old data"
        lines.extend(f'  {_scalar(field)}: "null"   {note}' for field in required)
    return "\n".join(lines) + "\n"


def _required(schema: Any) -> set[str]:
    plain = thaw_json(schema) if schema is not None else None
    found = plain.get("required", ()) if isinstance(plain, dict) else ()
    return {str(name) for name in found}


def _scalar(value: str) -> str:
    """An id as a YAML scalar: plain when it is a plain word, else double-quoted (JSON's quoting)."""
    plain = value.replace("_", "").replace("-", "").isalnum() and value.isascii() and not value[:1].isdigit()
    return value if plain else json.dumps(value, ensure_ascii=False)


def _side(process: Process) -> dict[str, Any]:
    return {"id": process.id, "version": process.version, "content_hash": process.content_hash}


def _token_end(text: str, line: int, column: int) -> int:
    """The column just past the word at ``line``:``column`` (1-based), at least one past it."""
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return column + 1
    rest = lines[line - 1][column - 1 :]
    length = len(rest) - len(rest.lstrip(" ")) if rest[:1] == " " else 0
    for character in rest[length:]:
        if character in " :,[]{}#":
            break
        length += 1
    return column + max(length, 1)
