"""procflow: written procedures as validated YAML state graphs.

Load a definition with ``load_process(path)`` (raises ``DefinitionError`` listing every problem),
or get every problem and warning without raising with ``validate_file(path)``.
"""

from engine.errors import DefinitionError, ExpressionError, Problem, ProcflowError, Severity
from engine.model import (
    Branch,
    Calendar,
    Deadline,
    Duration,
    Process,
    Record,
    Role,
    SignOff,
    State,
    StateKind,
    Text,
    Transition,
)
from engine.processes import ValidationReport, load_process, load_process_text, validate_file, validate_text
from engine.source import SourceLocation

__all__ = [
    "Branch",
    "Calendar",
    "Deadline",
    "DefinitionError",
    "Duration",
    "ExpressionError",
    "Problem",
    "Process",
    "ProcflowError",
    "Record",
    "Role",
    "Severity",
    "SignOff",
    "SourceLocation",
    "State",
    "StateKind",
    "Text",
    "Transition",
    "ValidationReport",
    "load_process",
    "load_process_text",
    "validate_file",
    "validate_text",
]
