"""YAML text → a located document: plain data plus a map from document paths to source locations.

The document is built straight from the parser's event stream with an explicit stack, not from
PyYAML's node graph: the composer recurses (libyaml's crashes the interpreter on deep nesting), and
working from events lets us resolve scalars by YAML 1.2's core schema (``on``, ``yes`` and ``no``
stay text), refuse duplicate keys and foreign tags, and bound what aliases can expand to.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import yaml

from engine.errors import DefinitionError, Problem
from engine.files import FileTooLarge, display_name, read_bounded
from engine.source import DocumentPath, Mark, SourceLocation, SourceMap

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
    name = display_name(path)  # the name problems and the model carry: printable, whatever its bytes
    try:
        raw = read_bounded(path, MAX_FILE_BYTES)
    except FileTooLarge as exc:
        message = f"the file is larger than {MAX_FILE_BYTES:,} bytes, the most a definition or scenario may hold"
        raise _error(name, 1, 1, "too-large", message) from exc
    except OSError as exc:
        raise _error(name, 1, 1, "io", f"cannot read the file: {exc.strerror or exc}") from exc
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
    parser = _Loader(text)
    try:
        return _build(parser.get_event, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = _describe_syntax_error(exc, text, mark)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise _error(file, line, column, "yaml-syntax", message) from exc
    except yaml.YAMLError as exc:  # reader errors (control characters) carry no mark
        raise _error(file, 1, 1, "yaml-syntax", str(exc).splitlines()[0]) from exc
    finally:
        parser.dispose()


_Container = Union[dict[str, JsonValue], list[JsonValue], None]
"""The mapping or list being filled; None at the top level, before the root value."""

_PLAIN_TEXT_STARTS = frozenset("~nNtTfF0123456789+-.")
"""The first characters of every plain scalar that is not text (null, booleans, numbers, .inf/.nan)."""


def _build(next_event: Callable[[], Any], file: str) -> LocatedDocument:
    """Fold the parser's events into plain data and the parser's mark for every key and value.

    One loop with the state of the open container in local variables: this runs once per event
    (thousands for a shipped process), so it avoids per-event method calls and objects, and keeps
    the parser's marks as they are (``SourceMap`` turns one into a location only when asked).
    Events are told apart by their exact type and read by attribute, hence ``Any``: the kinds are
    PyYAML's event classes, which libyaml's parser and the pure-Python one both produce.
    """
    values: dict[DocumentPath, Mark] = {}
    keys: dict[DocumentPath, Mark] = {}
    text_shifts: dict[DocumentPath, int] = {}
    anchors: dict[str, tuple[JsonValue, int]] = {}
    # The open container: what it is, where it is, the key awaiting its value (mappings only), how
    # many values it holds with aliases counted in full, and its anchor. Enclosing ones wait on `outer`.
    container: _Container = None
    is_mapping = False
    path: DocumentPath = ()
    key: str | None = None
    size = 0
    anchor: str | None = None
    outer: list[tuple[_Container, bool, DocumentPath, str | None, int, str | None]] = []
    root: JsonValue = None
    total = 0
    documents = 0

    while (event := next_event()) is not None:
        kind = type(event)
        mark = event.start_mark
        if kind is yaml.ScalarEvent:
            text = event.value
            if is_mapping and key is None:
                if text == "<<" and event.implicit[0]:
                    raise _refuse(file, mark, "merge-key", _NO_MERGE_KEYS)
                assert isinstance(container, dict)
                if text in container:
                    raise _refuse(
                        file,
                        mark,
                        "duplicate-key",
                        f"duplicate key `{text}` (first at line {keys[path + (text,)].line + 1}); "
                        "a key may appear once in a mapping",
                    )
                key = text
                keys[path + (text,)] = mark
                continue
            value: JsonValue
            if event.tag is None and event.implicit[0]:
                value = text if text and text[0] not in _PLAIN_TEXT_STARTS else _resolve_plain(text, file, mark)
            else:
                value = _resolve_tagged(event.tag, text, file, mark)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            opens_mapping = kind is yaml.MappingStartEvent
            if event.tag not in (None, "!", _MAP_TAG if opens_mapping else _SEQ_TAG):
                raise _refuse(file, mark, "tag", _tag_message(event.tag))
            if len(outer) >= MAX_DEPTH:
                raise _refuse(file, mark, "too-deep", f"the file nests deeper than {MAX_DEPTH} levels")
            value = {} if opens_mapping else []
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            if anchor is not None:
                anchors[anchor] = (container, size)
            closed_size = size
            container, is_mapping, path, key, size, anchor = outer.pop()
            size += closed_size
            total += closed_size
            if total > MAX_VALUES:
                raise _refuse(file, mark, "too-large", _TOO_LARGE)
            continue
        elif kind is yaml.AliasEvent:
            name = event.anchor
            if name not in anchors:
                raise _refuse(
                    file, mark, "alias", f"the alias `*{name}` is used before its anchor `&{name}` is complete"
                )
            if is_mapping and key is None:
                raise _refuse(file, mark, "alias", "an alias cannot be used as a key")
            value = anchors[name][0]
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _refuse(
                    file, mark, "yaml-syntax", "a definition file holds one YAML document; remove the second `---`"
                )
            continue
        else:  # stream start and end, document end
            continue

        # Put the value where the parser is and record where it came from.
        if is_mapping:
            if key is None:
                raise _refuse(file, mark, "complex-key", "a key must be plain text, not a list or mapping")
            assert isinstance(container, dict)
            value_path = path + (key,)
            container[key] = value
            key = None
        elif container is None:
            root = value
            value_path = ()
        else:
            assert isinstance(container, list)
            value_path = path + (len(container),)
            container.append(value)
        values[value_path] = mark

        if kind is yaml.ScalarEvent:
            style = event.style
            if style in _ONE_LINE_STYLES and mark.line == event.end_mark.line:
                text_shifts[value_path] = 0 if not style else 1  # past the opening quote
            if event.anchor is not None:
                anchors[event.anchor] = (value, 1)
            added = 1
        elif kind is yaml.AliasEvent:
            added = anchors[event.anchor][1]
        else:  # a mapping or list opens: what it holds is counted when it closes
            outer.append((container, is_mapping, path, key, size, anchor))
            container, is_mapping, path, key, size, anchor = (
                value,  # type: ignore[assignment]
                isinstance(value, dict),
                value_path,
                None,
                1,
                event.anchor,
            )
            continue
        size += added
        total += added
        if total > MAX_VALUES:
            raise _refuse(file, mark, "too-large", _TOO_LARGE)

    return LocatedDocument(root, SourceMap.from_marks(file, values, keys, text_shifts))


_MAP_TAG = _CORE + "map"
_SEQ_TAG = _CORE + "seq"
_ONE_LINE_STYLES = (None, "", "'", '"')
_NO_MERGE_KEYS = "merge keys (`<<: *name`) are not supported; write the keys out in full"
_TOO_LARGE = f"the document expands to more than {MAX_VALUES:,} values; aliases (`*name`) repeat too much"


def _resolve_tagged(tag: str | None, text: str, file: str, mark: Mark) -> JsonValue:
    if tag in (None, "!", _CORE + "str"):
        return text
    if tag == _CORE + "null" and _NULL.match(text):
        return None
    if tag == _CORE + "bool" and text in _TRUE | _FALSE:
        return text in _TRUE
    if tag in (_CORE + "int", _CORE + "float"):
        number = _resolve_plain(text, file, mark)
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            return float(number) if tag.endswith("float") else number
        raise _refuse(file, mark, "tag", f"`{text}` is not a number")
    raise _refuse(file, mark, "tag", _tag_message(tag))


def _resolve_plain(text: str, file: str, mark: Mark) -> JsonValue:
    """A plain scalar by YAML 1.2's core schema: ``yes``, ``on`` and ``no`` stay text."""
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
        raise _refuse(file, mark, "number", "this number has too many digits") from None
    if _FLOAT.match(text):
        return float(text)
    if _NOT_FINITE.match(text):
        raise _refuse(file, mark, "number", f"`{text}` is not a finite number; write a number or quote it as text")
    return text


def _refuse(file: str, mark: Mark | None, code: str, message: str) -> DefinitionError:
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return _error(file, line, column, code, message)


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
