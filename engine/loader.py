"""YAML text → a located document: plain data plus a map from document paths to source locations.

The document is built straight from the parser's event stream with an explicit stack, not from
PyYAML's node graph: the composer recurses (libyaml's crashes the interpreter on deep nesting), and
working from events lets us resolve scalars by YAML 1.2's core schema (``on``, ``yes`` and ``no``
stay text), refuse duplicate keys and foreign tags, and bound what aliases can expand to.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from engine.errors import DefinitionError, Problem
from engine.source import DocumentPath, SourceLocation, SourceMap

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 64
MAX_VALUES = 200_000
"""How many values a document may hold once aliases are counted as often as they are used."""

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_CORE = "tag:yaml.org,2002:"
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT = re.compile(r"^[-+]?[0-9]+$")
_OCT = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_NOT_FINITE = re.compile(r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")

_SYNTAX_HINTS = (
    ("found character '\\t'", "tabs cannot indent YAML; indent with spaces"),
    (
        "mapping values are not allowed",
        'a `:` followed by a space inside a value; put the value in quotes, e.g. en: "Note: fragile"',
    ),
    ("could not find expected ':'", "a line here is neither `key: value` nor a list item `- ...`"),
    ("did not find expected key", "this line is indented differently from the keys beside it"),
    ("did not find expected '-' indicator", "this list item is indented differently from the items above it"),
    ("found undefined alias", "an alias `*name` needs an anchor `&name` earlier in the file"),
    ("expected a single document", "a definition file holds one document; remove the second `---`"),
)

JsonValue = Union[None, bool, int, float, str, list["JsonValue"], dict[str, "JsonValue"]]


@dataclass(frozen=True)
class LocatedDocument:
    """Plain data (dicts, lists, text, numbers, booleans, None) with the place of every node."""

    data: JsonValue
    source_map: SourceMap

    @property
    def file(self) -> str:
        return self.source_map.file

    def locate(self, path: DocumentPath, *, key: bool = False) -> SourceLocation:
        return self.source_map.locate(path, key=key)


def load_file(path: str | Path) -> LocatedDocument:
    """Read and parse one definition file. Raises ``DefinitionError`` naming the place of each problem."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DefinitionError(
            [Problem(SourceLocation(name, 1, 1), f"cannot read the file: {exc.strerror}", code="io")]
        ) from exc
    return load_bytes(raw, name)


def load_bytes(raw: bytes, file: str) -> LocatedDocument:
    if len(raw) > MAX_FILE_BYTES:
        raise _error(
            file,
            1,
            1,
            "too-large",
            f"the file is {len(raw):,} bytes; a definition may be at most {MAX_FILE_BYTES:,} bytes",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _error(file, line, column, "encoding", "this is not UTF-8 text; save the file as UTF-8") from exc
    return load_text(text, file)


def load_text(text: str, file: str = "<text>") -> LocatedDocument:
    """Parse YAML text into a located document, or raise ``DefinitionError`` with the place."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise _error(file, 1, 1, "too-large", f"a definition may be at most {MAX_FILE_BYTES:,} bytes")
    builder = _Builder(file)
    try:
        for event in _events(text):
            builder.feed(event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = _describe_syntax_error(exc, text, mark)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise _error(file, line, column, "yaml-syntax", message) from exc
    except yaml.YAMLError as exc:  # reader errors (control characters) carry no mark
        raise _error(file, 1, 1, "yaml-syntax", str(exc).splitlines()[0]) from exc
    return builder.document()


def _events(text: str) -> Iterator[yaml.Event]:
    loader = _Loader(text)
    try:
        while loader.check_event():
            yield loader.get_event()
    finally:
        loader.dispose()


@dataclass
class _Frame:
    container: dict[str, JsonValue] | list[JsonValue]
    path: DocumentPath
    anchor: str | None
    size: int = 1
    pending_key: str | None = None


@dataclass
class _Builder:
    file: str
    stack: list[_Frame] = field(default_factory=list)
    anchors: dict[str, tuple[JsonValue, int]] = field(default_factory=dict)
    value_locations: dict[DocumentPath, SourceLocation] = field(default_factory=dict)
    key_locations: dict[DocumentPath, SourceLocation] = field(default_factory=dict)
    text_starts: dict[DocumentPath, SourceLocation] = field(default_factory=dict)
    total_values: int = 0
    documents: int = 0
    root: JsonValue = None

    def feed(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise self._at(
                    event, "yaml-syntax", "a definition file holds one YAML document; remove the second `---`"
                )
        elif isinstance(event, yaml.ScalarEvent):
            self._scalar(event)
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self._start(event)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frame = self.stack.pop()
            self._remember_anchor(frame.anchor, frame.container, frame.size)
            self._add_size(frame.size, event)

    def document(self) -> LocatedDocument:
        return LocatedDocument(
            self.root, SourceMap(self.file, self.value_locations, self.key_locations, self.text_starts)
        )

    def _start(self, event: yaml.MappingStartEvent | yaml.SequenceStartEvent) -> None:
        is_mapping = isinstance(event, yaml.MappingStartEvent)
        expected = "map" if is_mapping else "seq"
        if event.tag not in (None, "!", _CORE + expected):
            raise self._at(event, "tag", _tag_message(event.tag))
        if len(self.stack) >= MAX_DEPTH:
            raise self._at(event, "too-deep", f"the file nests deeper than {MAX_DEPTH} levels")
        container: dict[str, JsonValue] | list[JsonValue] = {} if is_mapping else []
        path = self._place(container, event)
        self.stack.append(_Frame(container, path, event.anchor))

    def _scalar(self, event: yaml.ScalarEvent) -> None:
        parent = self.stack[-1] if self.stack else None
        if isinstance(parent, _Frame) and isinstance(parent.container, dict) and parent.pending_key is None:
            self._key(parent, event)
            return
        value = self._resolve(event)
        path = self._place(value, event)
        marks = event.start_mark, event.end_mark
        if event.style in (None, "", "'", '"') and marks[0] and marks[1] and marks[0].line == marks[1].line:
            start = self._location(event)
            quoted = 1 if event.style in ("'", '"') else 0
            self.text_starts[path] = SourceLocation(start.file, start.line, start.column + quoted)
        self._remember_anchor(event.anchor, value, 1)
        self._add_size(1, event)

    def _key(self, frame: _Frame, event: yaml.ScalarEvent) -> None:
        assert isinstance(frame.container, dict)
        key = event.value
        if key == "<<" and event.implicit[0]:
            raise self._at(event, "merge-key", "merge keys (`<<: *name`) are not supported; write the keys out in full")
        path = frame.path + (key,)
        if key in frame.container or path in self.key_locations:
            first = self.key_locations[path]
            raise self._at(
                event,
                "duplicate-key",
                f"duplicate key `{key}` (first at line {first.line}); a key may appear once in a mapping",
            )
        frame.pending_key = key
        self.key_locations[path] = self._location(event)

    def _alias(self, event: yaml.AliasEvent) -> None:
        if event.anchor not in self.anchors:
            raise self._at(
                event, "alias", f"the alias `*{event.anchor}` is used before its anchor `&{event.anchor}` is complete"
            )
        value, size = self.anchors[event.anchor]
        parent = self.stack[-1] if self.stack else None
        if parent is not None and isinstance(parent.container, dict) and parent.pending_key is None:
            raise self._at(event, "alias", "an alias cannot be used as a key")
        self._place(value, event)
        self._add_size(size, event)

    def _place(self, value: JsonValue, event: yaml.Event) -> DocumentPath:
        """Put a value where the parser is, record its location, and return its path."""
        if not self.stack:
            self.root = value
            path: DocumentPath = ()
        else:
            frame = self.stack[-1]
            if isinstance(frame.container, dict):
                if frame.pending_key is None:
                    raise self._at(event, "complex-key", "a key must be plain text, not a list or mapping")
                path = frame.path + (frame.pending_key,)
                frame.container[frame.pending_key] = value
                frame.pending_key = None
            else:
                path = frame.path + (len(frame.container),)
                frame.container.append(value)
        self.value_locations[path] = self._location(event)
        return path

    def _resolve(self, event: yaml.ScalarEvent) -> JsonValue:
        tag, text = event.tag, event.value
        if tag is None and event.implicit[0]:
            return self._resolve_plain(event)
        if tag in (None, "!", _CORE + "str"):
            return text
        if tag == _CORE + "null" and _NULL.match(text):
            return None
        if tag == _CORE + "bool" and text in _TRUE | _FALSE:
            return text in _TRUE
        if tag in (_CORE + "int", _CORE + "float"):
            number = self._resolve_plain(event)
            if isinstance(number, (int, float)) and not isinstance(number, bool):
                return float(number) if tag.endswith("float") else number
            raise self._at(event, "tag", f"`{text}` is not a number")
        raise self._at(event, "tag", _tag_message(tag))

    def _resolve_plain(self, event: yaml.ScalarEvent) -> JsonValue:
        text = event.value
        if _NULL.match(text):
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        try:
            if _INT.match(text):
                return int(text)
            if _OCT.match(text):
                return int(text[2:], 8)
            if _HEX.match(text):
                return int(text[2:], 16)
        except ValueError:
            raise self._at(event, "number", "this number has too many digits") from None
        if _FLOAT.match(text):
            return float(text)
        if _NOT_FINITE.match(text):
            raise self._at(event, "number", f"`{text}` is not a finite number; write a number or quote it as text")
        return text

    def _remember_anchor(self, anchor: str | None, value: JsonValue, size: int) -> None:
        if anchor is not None:
            self.anchors[anchor] = (value, size)

    def _add_size(self, size: int, event: yaml.Event) -> None:
        self.total_values += size
        if self.stack:
            self.stack[-1].size += size
        if self.total_values > MAX_VALUES:
            raise self._at(
                event,
                "too-large",
                f"the document expands to more than {MAX_VALUES:,} values; aliases (`*name`) repeat too much",
            )

    def _location(self, event: yaml.Event) -> SourceLocation:
        mark = event.start_mark
        return SourceLocation(self.file, mark.line + 1, mark.column + 1) if mark else SourceLocation(self.file, 1, 1)

    def _at(self, event: yaml.Event, code: str, message: str) -> DefinitionError:
        location = self._location(event)
        return DefinitionError([Problem(location, message, code=code)])


def _tag_message(tag: str | None) -> str:
    shown = str(tag).replace(_CORE, "!!")
    return (
        f"the tag `{shown}` is not allowed; a definition holds plain YAML only: "
        "text, numbers, true/false, null, lists and mappings"
    )


def _describe_syntax_error(exc: yaml.MarkedYAMLError, text: str, mark: yaml.Mark | None) -> str:
    problem = (exc.problem or "invalid YAML").strip()
    context = (exc.context or "").strip()
    if mark is not None and _character_at(text, mark.line, mark.column) == "\t":
        return "YAML syntax: a tab character here — tabs cannot indent YAML; indent with spaces"
    for needle, hint in _SYNTAX_HINTS:
        if needle in problem or needle in context:
            return f"YAML syntax: {problem} — {hint}"
    return f"YAML syntax: {problem}" + (f" ({context})" if context else "")


def _character_at(text: str, line: int, column: int) -> str:
    lines = text.split("\n")
    if line < len(lines) and column < len(lines[line]):
        return lines[line][column]
    return ""


def _error(file: str, line: int, column: int, code: str, message: str) -> DefinitionError:
    return DefinitionError([Problem(SourceLocation(file, line, column), message, code=code)])
