"""Definitions read from a git repository: ``git:REV:PATH`` names the file PATH as it was at REV.

Read through ``git show REV:PATH`` in the repository the current folder is in, as a list of
arguments (never a shell), then loaded exactly as a file is, so a broken side gets the usual located
errors (``git:HEAD:processes/complaint.yaml:12:5: …``). PATH is read as git reads it: from the top of
the repository, or from the current folder when it starts with ``./`` or ``../``. Every failure is a
``RevisionError`` that names what could not be found.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Literal

from engine.errors import RevisionError
from engine.model import Process
from engine.processes import load_process, load_process_bytes

GIT_PREFIX = "git:"
GIT_TIMEOUT = 30.0
"""Seconds one git command may take."""


@dataclass(frozen=True)
class GitFile:
    revision: str
    path: str

    @property
    def name(self) -> str:
        return f"{GIT_PREFIX}{self.revision}:{self.path}"


def git_file(spec: str) -> GitFile | None:
    """``git:REV:PATH`` as a revision and a path (``None`` for a plain file name); the revision is what
    comes before the first ``:`` after ``git:``."""
    if not spec.startswith(GIT_PREFIX):
        return None
    revision, colon, path = spec[len(GIT_PREFIX) :].partition(":")
    if not colon or not revision or not path:
        raise RevisionError(
            f"{spec}: write a file at a revision as git:REV:PATH, e.g. git:HEAD:processes/complaint.yaml"
        )
    if revision.startswith("-"):
        raise RevisionError(f"{spec}: `{revision}` is not a revision (it starts with `-`)")
    return GitFile(revision, path)


def load_definition(spec: str, *, cwd: str | os.PathLike[str] | None = None) -> Process:
    """The checked model of a file, or of ``git:REV:PATH`` read from the repository that ``cwd`` (by
    default the current folder) is in."""
    found = git_file(spec)
    if found is None:
        return load_process(spec)
    return load_process_bytes(show(found, cwd=cwd), found.name)


def show(file: GitFile, *, cwd: str | os.PathLike[str] | None = None) -> bytes:
    """The bytes of ``file.path`` at ``file.revision``, through ``git show``."""
    if _git(["rev-parse", "--is-inside-work-tree"], file, cwd).returncode != 0:
        raise RevisionError(f"{file.name}: the current folder is not in a git repository")
    if _git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{file.revision}^{{commit}}"], file, cwd
    ).returncode:
        raise RevisionError(f"{file.name}: no revision `{file.revision}` in this repository")
    kind = _git(["cat-file", "-t", f"{file.revision}:{file.path}"], file, cwd)
    if kind.returncode != 0:
        raise RevisionError(f"{file.name}: no file `{file.path}` at revision `{file.revision}`")
    if kind.stdout.strip() != b"blob":
        raise RevisionError(f"{file.name}: `{file.path}` is a folder at revision `{file.revision}`, not a file")
    shown = _git(["show", f"{file.revision}:{file.path}"], file, cwd)
    if shown.returncode != 0:
        reason = shown.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RevisionError(f"{file.name}: git show failed: {reason[0] if reason else shown.returncode}")
    return shown.stdout


def _git(arguments: list[str], file: GitFile, cwd: str | os.PathLike[str] | None) -> subprocess.CompletedProcess[bytes]:
    program = shutil.which("git")
    if program is None:
        raise RevisionError(f"{file.name}: reading a file at a revision needs git, which is not on PATH")
    try:
        return subprocess.run(
            [program, *arguments],
            cwd=cwd,
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise RevisionError(f"{file.name}: git took longer than {GIT_TIMEOUT:g} s and was stopped") from exc
    except OSError as exc:
        raise RevisionError(f"{file.name}: could not run git: {exc.strerror or exc}") from exc


# --- a file's history -------------------------------------------------------------------------------

MAX_REVISIONS = 20
"""How many revisions of a file ``file_log`` reads at most by default (the newest)."""

_LOG_FORMAT = "%x1e%H%x1f%h%x1f%cI%x1f%an%x1f%s"
"""One record per commit: hash, short hash, committer date (ISO 8601), author name, subject."""


NoHistory = Literal["no git", "not in a repository", "no commits", "not committed"]
"""Why a file has no revisions: git is not installed; the file is not in a repository; the repository
has no commits; the file was never committed."""


@dataclass(frozen=True)
class Commit:
    """One commit that changed a file."""

    hash: str
    short: str
    date: str
    """The committer date, ISO 8601 with its UTC offset, as git gives it."""
    author: str
    subject: str
    path: str
    """The file's path from the top of the repository at this commit (it may have been renamed since)."""


@dataclass(frozen=True)
class FileLog:
    """The commits that changed a file, newest first, or why there are none."""

    commits: tuple[Commit, ...]
    more: bool
    """Older commits changed the file than were read (the bound)."""
    top: str | None
    """The repository's top folder; ``None`` when the file is not in one."""
    absent: NoHistory | None
    """When there are no commits: why."""


def file_log(path: str | os.PathLike[str], *, limit: int = MAX_REVISIONS) -> FileLog:
    """The newest ``limit`` commits that changed the file at ``path`` (following renames), through
    ``git log --follow`` run in the file's folder. A file outside a repository, or never committed, gives
    no commits and says why; a git that fails otherwise is a ``RevisionError``."""
    file = os.path.realpath(path)
    folder, name = os.path.split(file)
    spec = GitFile("HEAD", name)
    if shutil.which("git") is None:
        return FileLog((), False, None, "no git")
    top = _git(["rev-parse", "--show-toplevel"], spec, folder)
    if top.returncode != 0:
        reason = top.stderr.decode("utf-8", "replace").strip()
        if "not a git repository" in reason:
            return FileLog((), False, None, "not in a repository")
        first = reason.splitlines()[0] if reason else top.returncode
        raise RevisionError(f"{file}: git cannot read the repository: {first}")
    root = os.fsdecode(top.stdout.strip())
    if _git(["rev-parse", "--verify", "--quiet", "HEAD"], spec, folder).returncode != 0:
        return FileLog((), False, root, "no commits")
    log = _git(
        ["log", "--follow", "-z", f"-n{limit + 1}", f"--format={_LOG_FORMAT}", "--name-only", "--", name], spec, folder
    )
    if log.returncode != 0:
        said = log.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RevisionError(f"{file}: git log failed: {said[0] if said else log.returncode}")
    commits = _commits(log.stdout, os.path.relpath(file, root).replace(os.sep, "/"))
    if not commits:
        return FileLog((), False, root, "not committed")
    return FileLog(tuple(commits[:limit]), len(commits) > limit, root, None)


def _commits(output: bytes, current: str) -> list[Commit]:
    """``git log -z --name-only`` records; a commit that names no file (a merge) keeps the newer path.
    Paths keep bytes that are not UTF-8 (as Python's file names do); the words replace them."""
    commits = []
    path = current
    for record in output.split(b"\x1e")[1:]:
        header, _, rest = record.partition(b"\0")
        fields = header.decode("utf-8", "replace").split("\x1f")
        if len(fields) != 5:
            continue
        named = rest.strip(b"\n\0").split(b"\0")[0].strip(b"\n")
        path = os.fsdecode(named) if named else path
        commits.append(Commit(fields[0], fields[1], fields[2], fields[3], fields[4], path))
    return commits


def file_at(commit: Commit, top: str) -> bytes:
    """The bytes of the file as ``commit`` left it."""
    spec = GitFile(commit.hash, commit.path)
    shown = _git(["cat-file", "blob", f"{commit.hash}:{commit.path}"], spec, top)
    if shown.returncode != 0:
        reason = shown.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RevisionError(f"{spec.name}: git cat-file failed: {reason[0] if reason else shown.returncode}")
    return shown.stdout
