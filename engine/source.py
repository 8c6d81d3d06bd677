"""Where a thing came from: a file, a line and a column, and the document paths that lead there."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Protocol, Union

from engine.frozen import field, frozen

PathPart = Union[str, int]
DocumentPath = tuple[PathPart, ...]
"""Keys and list indexes from the document's root to a node, e.g. ``("states", "diagnose", "role")``."""


@frozen(order=True)
class SourceLocation:
    """A place in a definition file. ``line`` and ``column`` count from 1, as editors do."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Mark(Protocol):
    """A place as the YAML parser reports it: ``line`` and ``column`` count from 0."""

    @property
    def line(self) -> int: ...

    @property
    def column(self) -> int: ...


class _LocationsOfMarks(Mapping[DocumentPath, SourceLocation]):
    """The parser's marks, read as ``SourceLocation``s only when one is asked for.

    Loading records a place for every key and value, and almost none is ever reported; keeping the
    parser's own marks and converting on lookup is what keeps loading a definition fast.
    """

    __slots__ = ("_file", "_marks", "_shifts")

    def __init__(self, file: str, marks: Mapping[DocumentPath, Mark], shifts: Mapping[DocumentPath, int] | None = None):
        self._file = file
        self._marks = marks
        self._shifts = shifts  # when given, only these paths are present, each moved right that many columns

    def __getitem__(self, path: DocumentPath) -> SourceLocation:
        shift = 0 if self._shifts is None else self._shifts[path]
        mark = self._marks[path]
        return SourceLocation(self._file, mark.line + 1, mark.column + 1 + shift)

    def __contains__(self, path: object) -> bool:
        return path in (self._marks if self._shifts is None else self._shifts)

    def __iter__(self) -> Iterator[DocumentPath]:
        return iter(self._marks if self._shifts is None else self._shifts)

    def __len__(self) -> int:
        return len(self._marks if self._shifts is None else self._shifts)


@frozen
class SourceMap:
    """Where each node of a document is: its value, and (for mapping entries) its key."""

    file: str
    values: Mapping[DocumentPath, SourceLocation] = field(default_factory=dict)
    keys: Mapping[DocumentPath, SourceLocation] = field(default_factory=dict)
    text_starts: Mapping[DocumentPath, SourceLocation] = field(default_factory=dict)
    """Where the text of a one-line scalar begins (after its opening quote), for pointing inside it."""

    @classmethod
    def from_marks(
        cls,
        file: str,
        values: Mapping[DocumentPath, Mark],
        keys: Mapping[DocumentPath, Mark],
        text_shifts: Mapping[DocumentPath, int],
    ) -> SourceMap:
        """A map over the parser's marks: ``text_shifts`` names the one-line scalars whose text starts
        that many columns after the value's mark (1 past an opening quote, else 0)."""
        return cls(
            file,
            _LocationsOfMarks(file, values),
            _LocationsOfMarks(file, keys),
            _LocationsOfMarks(file, values, text_shifts),
        )

    @classmethod
    def when_asked(cls, file: str, record: Callable[[], SourceMap]) -> SourceMap:
        """A map that ``record`` makes the first time any place is asked for: a document whose map is
        never read (a valid definition, most often) costs nothing for it."""
        once = _Once(record)
        return cls(file, _Deferred(once, "values"), _Deferred(once, "keys"), _Deferred(once, "text_starts"))

    def locate(self, path: DocumentPath, *, key: bool = False) -> SourceLocation:
        """The place of the node at ``path`` (of its key, with ``key=True``), or of its nearest ancestor."""
        if key and path in self.keys:
            return self.keys[path]
        for end in range(len(path), -1, -1):
            if path[:end] in self.values:
                return self.values[path[:end]]
        return SourceLocation(self.file, 1, 1)

    def locate_within(self, path: DocumentPath, offset: int | None) -> SourceLocation:
        """The place of character ``offset`` of a scalar's text; the scalar itself when that is unknown
        (a block or multi-line scalar, whose lines are folded)."""
        if offset is None or path not in self.text_starts:
            return self.locate(path)
        start = self.text_starts[path]
        return SourceLocation(start.file, start.line, start.column + offset)


class _Once:
    """A source map made by ``record`` on first use and kept (two threads may both make it; either is right)."""

    __slots__ = ("_made", "_record")

    def __init__(self, record: Callable[[], SourceMap]):
        self._record: Callable[[], SourceMap] | None = record
        self._made: SourceMap | None = None

    def map(self) -> SourceMap:
        made = self._made
        if made is None:
            assert self._record is not None
            made = self._made = self._record()
            self._record = None  # what it holds (the text) is no longer needed
        return made


class _Deferred(Mapping[DocumentPath, SourceLocation]):
    """One of a ``_Once`` map's mappings, read through it."""

    __slots__ = ("_field", "_once")

    def __init__(self, once: _Once, field: str):
        self._once = once
        self._field = field

    def _mapping(self) -> Mapping[DocumentPath, SourceLocation]:
        mapping: Mapping[DocumentPath, SourceLocation] = getattr(self._once.map(), self._field)
        return mapping

    def __getitem__(self, path: DocumentPath) -> SourceLocation:
        return self._mapping()[path]

    def __contains__(self, path: object) -> bool:
        return path in self._mapping()

    def __iter__(self) -> Iterator[DocumentPath]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())
