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
