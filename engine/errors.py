"""Every error procflow raises on purpose derives from ``ProcflowError``.

* ProcflowError
  * DefinitionError — a definition file cannot be used; carries every ``Problem`` found
  * ExpressionError — a condition or ``set`` expression is malformed or cannot be evaluated
    * ExpressionSyntaxError — refused when compiled (bad syntax, forbidden construct, unknown name)
    * ExpressionEvaluationError — refused while evaluating (wrong operand types, too large a value)

Each ``Problem`` names where it is (``SourceLocation``), what is wrong and, where we can tell, what
to write instead. The runtime and the stores add their own branches to this tree in later modules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from engine.source import SourceLocation


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding about a definition, printed as ``file:line:column: severity: message``."""

    location: SourceLocation
    message: str
    severity: Severity = Severity.ERROR
    code: str = "invalid"
    """A stable short name for the kind of problem (``yaml-syntax``, ``unknown-key``, ``unreachable``…)."""

    def __str__(self) -> str:
        return f"{self.location}: {self.severity.value}: {self.message}"

    def as_json(self) -> dict[str, object]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
        }


class ProcflowError(Exception):
    """Base of every error procflow raises on purpose."""


class DefinitionError(ProcflowError):
    """A definition has errors. ``problems`` holds all of them (and any warnings), sorted by place."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: tuple[Problem, ...] = tuple(sorted(problems, key=_problem_order))
        errors = [p for p in self.problems if p.severity is Severity.ERROR]
        shown = errors or list(self.problems)
        summary = "\n".join(str(p) for p in shown)
        super().__init__(summary)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)


class ExpressionError(ProcflowError):
    """A condition or ``set`` expression problem.

    ``offset`` is the 0-based character position in the expression text where the problem starts,
    when known, so the caller can point a located error at the exact column.
    """

    def __init__(self, message: str, offset: int | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset


class ExpressionSyntaxError(ExpressionError):
    """The expression is refused when it is compiled."""


class ExpressionEvaluationError(ExpressionError):
    """The expression failed while being evaluated against data."""


def _problem_order(problem: Problem) -> tuple[object, ...]:
    return (problem.location, problem.severity is not Severity.ERROR, problem.message)
