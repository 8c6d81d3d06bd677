"""A procedure's change log: its revisions, newest first, each loaded and compared with the one before.

Revisions come from the git history of the definition's file (``git_revisions``: ``revisions.file_log``,
at most ``MAX_REVISIONS`` commits, then each commit's text) or from what a store registered
(``stored_revisions``, given the stored texts). ``change_log`` loads each revision as a file is loaded
and lists, for each, the changes (``changes.diff_processes``) since the next older revision that
loads. A revision that does not load is an entry with its first error, not a failure; the oldest
revision read has no changes to show (it is the first, or older ones are past the bound).

When the file on disk differs from its newest revision (edited and not committed, or not registered),
the log begins with an entry for the file itself, so the changes since the previous revision are
always those of the definition the book shows.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from engine.changes import Change, diff_processes
from engine.errors import DefinitionError, ProcflowError
from engine.model import Process
from engine.processes import load_process_bytes
from engine.revisions import MAX_REVISIONS, GitFile, NoHistory, file_at, file_log

Absent = NoHistory | Literal["not in the store", "unreadable"]
"""Why a log has no entries: the git reasons (``revisions.NoHistory``), a store that holds no revision
of the procedure, or a git that failed (``ChangeLog.detail`` says how)."""


THIS_FILE = "this file"
"""The label of the entry for the file on disk when it differs from its newest revision."""


@dataclass(frozen=True)
class Revision:
    """One revision of a definition: what names it and its text."""

    name: str
    """Where its text is read from, as errors name it: ``git:1a2b3c4:processes/complaint.yaml``."""
    label: str
    """How the log names it: a short commit hash, ``revision 3``, or ``this file``."""
    date: str | None
    author: str | None
    subject: str | None
    text: bytes
    content_hash: str | None = None
    """As a store recorded it (a git revision's is known once it loads)."""
    on_disk: bool = False
    """The file itself as it is now, not a recorded revision."""


@dataclass(frozen=True)
class Entry:
    revision: Revision
    process: Process | None
    """The revision loaded; ``None`` when it does not load."""
    error: str | None
    """When it does not load: its first error, one line with its place."""
    changes: tuple[Change, ...] | None
    """Since ``since``; ``None`` when there is no older revision that loads to compare it with."""
    since: Revision | None


@dataclass(frozen=True)
class ChangeLog:
    source: str
    """``git`` or ``store``."""
    entries: tuple[Entry, ...]
    """Newest first."""
    more: bool
    """Older revisions exist than were read (the bound)."""
    absent: Absent | None = None
    """When there are no entries: why."""
    uncommitted: bool = False
    """The file on disk differs from its newest revision, which is then the log's second entry."""
    detail: str | None = None
    """With ``unreadable``: git's error."""

    @property
    def newest(self) -> Entry | None:
        """The newest recorded revision (not the file's own entry)."""
        recorded = self.entries[1:] if self.uncommitted else self.entries
        return recorded[0] if recorded else None


def git_revisions(file: str | Path, *, limit: int = MAX_REVISIONS) -> tuple[list[Revision], bool, NoHistory | None]:
    """The newest ``limit`` revisions of ``file`` in git and one more to compare the oldest with (so at
    most ``limit + 1``, newest first); whether older ones were left out; why there are none."""
    log = file_log(file, limit=limit + 1)
    if log.top is None or not log.commits:
        return [], False, log.absent
    top = log.top
    revisions = [
        Revision(GitFile(c.short, c.path).name, c.short, c.date, c.author, c.subject, file_at(c, top))
        for c in log.commits
    ]
    return revisions, log.more, None


def stored_revisions(texts: Sequence[tuple[int, str, str, datetime.datetime]]) -> list[Revision]:
    """Store revisions ``(revision, content hash, YAML text, registered at)`` as the log's, newest first."""
    ordered = sorted(texts, key=lambda t: t[0], reverse=True)
    return [
        Revision(f"store revision {n}", f"revision {n}", when.isoformat(), None, None, text.encode("utf-8"), digest)
        for n, digest, text, when in ordered
    ]


def change_log(
    process: Process,
    text: bytes,
    revisions: Sequence[Revision],
    *,
    source: str,
    limit: int = MAX_REVISIONS,
    more: bool = False,
    absent: Absent | None = None,
) -> ChangeLog:
    """The change log of ``process`` (read from ``text``) over ``revisions``, newest first; at most
    ``limit`` of them are listed, and one more, when given, is only compared with."""
    if not revisions:
        return ChangeLog(source, (), False, absent)
    loaded = [_load(r) for r in revisions]
    newest = revisions[0]
    uncommitted = newest.text != text if newest.content_hash is None else newest.content_hash != process.content_hash
    listed = list(zip(revisions, loaded, strict=True))
    if uncommitted:
        listed.insert(0, (Revision(process.file, THIS_FILE, None, None, None, text, on_disk=True), (process, None)))
    shown = limit + 1 if uncommitted else limit
    entries = []
    for index, (revision, (model, error)) in enumerate(listed[:shown]):
        older = next(((r, m) for r, (m, _) in listed[index + 1 :] if m is not None), None)
        changes = diff_processes(older[1], model) if older is not None and model is not None else None
        since = older[0] if older is not None and model is not None else None
        entries.append(Entry(revision, model, error, changes, since))
    return ChangeLog(source, tuple(entries), more or len(listed) > shown, None, uncommitted)


def _load(revision: Revision) -> tuple[Process | None, str | None]:
    try:
        return load_process_bytes(revision.text, revision.name), None
    except DefinitionError as exc:
        first = (exc.errors or exc.problems)[0]
        return None, str(first)
    except ProcflowError as exc:
        return None, str(exc)
