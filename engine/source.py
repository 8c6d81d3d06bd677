"""Where a thing came from: a file, a line and a column, and the document paths that lead there."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Union

PathPart = Union[str, int]
DocumentPath = tuple[PathPart, ...]
"""Keys and list indexes from the document's root to a node, e.g. ``("states", "diagnose", "role")``."""


@dataclass(frozen=True, order=True)
class SourceLocation:
    """A place in a definition file. ``line`` and ``column`` count from 1, as editors do."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def format_path(path: DocumentPath) -> str:
    """``("states", "diagnose", "on", 0)`` → ``states.diagnose.on[0]``, the way a reader scans YAML."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(top level)"


@dataclass(frozen=True)
class SourceMap:
    """Where each node of a document is: its value, and (for mapping entries) its key."""

    file: str
    values: Mapping[DocumentPath, SourceLocation] = field(default_factory=dict)
    keys: Mapping[DocumentPath, SourceLocation] = field(default_factory=dict)
    text_starts: Mapping[DocumentPath, SourceLocation] = field(default_factory=dict)
    """Where the text of a one-line scalar begins (after its opening quote), for pointing inside it."""

    def locate(self, path: DocumentPath, *, key: bool = False) -> SourceLocation:
        """The place of the node at ``path`` (of its key, with ``key=True``), or of its nearest ancestor."""
        if key and path in self.keys:
            return self.keys[path]
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return found
        return SourceLocation(self.file, 1, 1)

    def locate_within(self, path: DocumentPath, offset: int | None) -> SourceLocation:
        """The place of character ``offset`` of a scalar's text; the scalar itself when that is unknown
        (a block or multi-line scalar, whose lines are folded)."""
        start = self.text_starts.get(path)
        if start is None or offset is None:
            return self.locate(path)
        return SourceLocation(start.file, start.line, start.column + offset)
