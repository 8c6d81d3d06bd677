"""YAML text → a located document: plain data plus a map from document paths to source locations.

The document is built straight from the parser's event stream with an explicit stack, not from
PyYAML's node graph: the composer recurses (libyaml's crashes the interpreter on deep nesting), and
working from events lets us resolve scalars by YAML 1.2's core schema (``on``, ``yes`` and ``no``
stay text), refuse duplicate keys and foreign tags, and bound what aliases can expand to.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, Union

from engine.collector import collector_paused
from engine.errors import DefinitionError, Problem
from engine.files import FileTooLarge, display_name, read_bounded
from engine.frozen import frozen
from engine.pyyaml import yaml
from engine.source import DocumentPath, Mark, SourceLocation, SourceMap

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 64
MAX_VALUES = 200_000
"""How many values a document may hold once aliases are counted as often as they are used."""

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_BOM = b"\xef\xbb\xbf"
"""The byte order mark in UTF-8, which a file may begin with (``codecs.BOM_UTF8``)."""

_CORE = "tag:yaml.org,2002:"
_NULL = re.compile(r"^(?:~|null|Null|NULL|)\Z")
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT = re.compile(r"^[-+]?[0-9]+\Z")
_FLOAT_CHARACTERS = frozenset("0123456789+-.eE")
"""Every character ``_float`` can match: a text with another is no float, told without the pattern,
which is compiled (with the other numbers' below) for the first text that may be one, as most texts
that begin with a digit are not numbers (`3 working days`, `6. 退款`)."""


@cache
def _octal() -> re.Pattern[str]:
    return re.compile(r"^0o[0-7]+\Z")


@cache
def _hexadecimal() -> re.Pattern[str]:
    return re.compile(r"^0x[0-9a-fA-F]+\Z")


@cache
def _float() -> re.Pattern[str]:
    return re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")


@cache
def _not_finite() -> re.Pattern[str]:
    return re.compile(r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z")


_WORDS: dict[str, bool | None] = {"null": None, "Null": None, "NULL": None} | dict.fromkeys(_TRUE, True)
_WORDS |= dict.fromkeys(_FALSE, False)
_WORD_STARTS = frozenset("nNtTfF")
"""The plain scalars that begin with a letter and are not text: these exactly (a plain scalar ends in no line break)."""

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


@frozen
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
    body = raw[len(_BOM) :] if raw.startswith(_BOM) else raw
    try:  # as "utf-8-sig" decodes it, without importing that codec's module (not on a valid file's way)
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = body[: exc.start].decode("utf-8", "replace")  # the error's place is counted in the body
        line, column = _place(before, len(before))
        raise _error(file, line, column, "encoding", "this is not UTF-8 text; save the file as UTF-8") from exc
    # The body is the text's UTF-8 already: strict UTF-8 decodes no surrogate.
    return _load(text, file, body)


def load_text(text: str, file: str = "<text>") -> LocatedDocument:
    """Parse YAML text into a located document, or raise ``DefinitionError`` with the place."""
    return _load(text, file, _utf8(text))


def _load(text: str, file: str, encoded: bytes | None) -> LocatedDocument:
    """``load_text``, ``encoded`` being the text in UTF-8 (``None`` when it holds a lone surrogate)."""
    if encoded is None or not _surely_allowed(encoded):
        _refuse_characters(text, file)  # first: a lone surrogate (in a str from an embedding program) cannot be encoded
    assert encoded is not None  # only a lone surrogate stops the encoding, and it is refused above
    if len(encoded) > MAX_FILE_BYTES:
        raise _error(file, 1, 1, "too-large", f"a definition may be at most {MAX_FILE_BYTES:,} bytes")
    try:
        try:
            return _parse(_Loader, text, file, source=encoded)
        except DefinitionError:  # worded again with every place known, as some messages cite another
            return _parse(_Loader, text, file, record=True, source=encoded)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if _NESTING_LIMIT in (exc.problem or ""):
            # libyaml stops at its own nesting limit, possibly while it scans ahead of the events;
            # the pure-Python parser has none, so it reaches ours and says where it is passed.
            raise _too_deep_from_python_parser(text, file, mark) from exc
        message = _describe_syntax_error(exc, text, mark)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise _error(file, line, column, "yaml-syntax", message) from exc
    except yaml.reader.ReaderError as exc:  # a character the checks above let through
        line, column = _place(text, exc.position)
        raise _error(file, line, column, "yaml-syntax", f"YAML syntax: {exc.reason}") from exc
    except yaml.YAMLError as exc:
        raise _error(file, 1, 1, "yaml-syntax", f"YAML syntax: {str(exc).splitlines()[0]}") from exc


def _parse(loader: Any, text: str, file: str, *, record: bool = False, source: bytes | None = None) -> LocatedDocument:
    """The document in ``text``; the places of its nodes recorded now with ``record``, else by
    parsing it again the first time one is asked for (most loads never ask). ``source`` is the text
    in UTF-8, when known: libyaml's parser reads that (it would encode the text itself), with the
    same events and marks (which count characters)."""
    parser = loader(text if source is None else source)
    try:
        with collector_paused():
            return _build(parser.get_event, text, file, record)
    finally:
        parser.dispose()


_NESTING_LIMIT = "exceeded maximum nesting depth"


def _too_deep_from_python_parser(text: str, file: str, mark: yaml.Mark | None) -> DefinitionError:
    try:
        _parse(yaml.SafeLoader, text, file)
    except DefinitionError as error:
        if error.problems[0].code == "too-deep":
            return error
    except yaml.YAMLError:
        pass
    return _refuse(file, mark, "too-deep", _TOO_DEEP)


@cache
def _not_allowed_character() -> re.Pattern[str]:
    """Not YAML 1.2's printable characters, less three that YAML 1.1 (so libyaml) reads as line breaks
    (U+0085, U+2028, U+2029). Listed as the few refused, not as "none of" the many allowed: compiling that
    class took 8 ms, a tenth of `procflow validate`'s start-up; compiled only for a text in which
    ``_surely_allowed`` finds one (4M instructions still)."""
    return re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


_LINE_SEPARATORS = {"\x85": "next line", "\u2028": "line separator", "\u2029": "paragraph separator"}
_ESCAPES = {"\x85": "\\N", "\u2028": "\\L", "\u2029": "\\P"}


def _utf8(text: str) -> bytes | None:
    """The text in UTF-8, or ``None`` when it holds a lone surrogate (no UTF-8 holds one)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


_CONTROL_BYTES = bytes(range(0x09)) + b"\x0b\x0c" + bytes(range(0x0E, 0x20)) + b"\x7f"
_OTHER_BYTES = bytes(sorted(set(range(0x100)) - set(_CONTROL_BYTES)))
_REFUSED_SEQUENCES = ("\u2028".encode(), "\u2029".encode(), "\ufffe".encode(), "\uffff".encode())
_C1_LEAD, _C1_END = 0xC2, 0xA0  # U+0080 to U+009F are C2 80 to C2 9F


def _surely_allowed(encoded: bytes) -> bool:
    """Whether none of the characters ``_refuse_characters`` refuses is in the text, told from its UTF-8:
    a few passes in C over the bytes, where the pattern tests every character in turn (2M instructions
    for a shipped definition). In UTF-8 each control character is its own byte, and each other one a
    sequence that begins where a character does. (A lone surrogate has no UTF-8 at all.)"""
    if encoded.translate(None, _OTHER_BYTES) or any(sequence in encoded for sequence in _REFUSED_SEQUENCES):
        return False
    at = encoded.find(_C1_LEAD)
    while at != -1:
        if encoded[at + 1] < _C1_END:
            return False
        at = encoded.find(_C1_LEAD, at + 2)
    return True


def _refuse_characters(text: str, file: str) -> None:
    """Refuse, at its line and column, the first character YAML does not allow in a file.

    U+0085, U+2028 and U+2029 are refused too: YAML 1.2 and editors read them as text, but libyaml
    reads YAML 1.1, where each breaks the line, so every line number after one would be wrong.
    """
    found = _not_allowed_character().search(text)
    if found is None:
        return
    character = found.group()
    line, column = _place(text, found.start())
    code = f"U+{ord(character):04X}"
    if character in _LINE_SEPARATORS:
        message = (
            f"the character {code} ({_LINE_SEPARATORS[character]}) is not allowed: some YAML readers break the "
            f"line there and others do not; use an ordinary line break, or write `{_ESCAPES[character]}` "
            "inside double quotes"
        )
    else:
        message = (
            f"control characters are not allowed: {code} here; remove it, or write it as an escape "
            f"such as `\\x{ord(character):02x}` inside double quotes"
            if ord(character) < 0x100
            else f"the character {code} is not allowed in a YAML file; remove it"
        )
    raise _error(file, line, column, "character", message)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _place(text: str, index: int) -> tuple[int, int]:
    """The line and column (from 1) of ``text[index]``, counting lines as editors do: at \\n, \\r\\n or \\r."""
    line = 1
    line_start = 0
    for found in _LINE_BREAK.finditer(text, 0, index):
        line += 1
        line_start = found.end()
    return line, index - line_start + 1


_Container = Union[dict[str, JsonValue], list[JsonValue], None]
"""The mapping or list being filled; None at the top level, before the root value."""

_PLAIN_TEXT_STARTS = frozenset("~nNtTfF0123456789+-.")
"""The first characters of every plain scalar that is not text (null, booleans, numbers, .inf/.nan)."""


def _build(next_event: Callable[[], Any], text: str, file: str, record: bool) -> LocatedDocument:
    """Fold the parser's events into plain data and, with ``record``, the parser's mark for every key
    and value (without, the document's map records them by parsing again when first asked).

    This runs once per event (thousands for a shipped process): scalars, most of them, are handled
    in the loop itself, calling nothing they need not; the rest by ``_Builder``. The parser's marks
    are kept as they are (``SourceMap`` turns one into a location only when asked). Events are told
    apart by their exact type and read by attribute, hence ``Any``: the kinds are PyYAML's event
    classes, which libyaml's parser and the pure-Python one both produce.
    """
    builder = _Builder(text, file, record)
    scalar_event, mapping_end, sequence_end = yaml.ScalarEvent, yaml.MappingEndEvent, yaml.SequenceEndEvent
    mapping_start, sequence_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    alias, document_start = yaml.AliasEvent, yaml.DocumentStartEvent
    yaml12, values, keys, text_shifts = builder.yaml12, builder.values, builder.keys, builder.text_shifts
    most = builder.most
    plain_text_starts, indicators = _PLAIN_TEXT_STARTS, _INDICATORS
    event: Any
    while (event := next_event()) is not None:
        kind = type(event)
        if kind is not scalar_event:
            if kind is mapping_end or kind is sequence_end:
                builder.closes(event)
            elif kind is mapping_start:
                builder.opens(event, True)
            elif kind is sequence_start:
                builder.opens(event, False)
            elif kind is alias:
                builder.alias(event)
            elif kind is document_start:
                builder.document_starts(event)
            continue  # stream start and end and document end hold nothing
        text, tag, mark, end, style = event.value, event.tag, event.start_mark, event.end_mark, event.style
        if style:
            yaml12.styled_scalar(style, mark, end)
        elif yaml12.flow_depth and (yaml12.may_glue_comments or text[:1] in indicators):
            yaml12.flow_plain_scalar(text, mark, end)  # only then: most in a flow collection have nothing to check
        inside = builder.open
        container = inside.value
        plain = event.implicit[0]
        if inside.is_mapping:
            key = inside.key
            if key is None:  # the scalar is a key
                if text in container or (plain and text == "<<"):
                    raise builder.bad_key(inside, text, plain, mark)
                inside.key = text
                if record:
                    keys[inside.path + (text,)] = mark
                continue
        value: JsonValue
        if plain and tag is None:
            value = text if text and text[0] not in plain_text_starts else _resolve_plain(text, file, mark)
        else:
            value = _resolve_tagged(tag, text, file, mark)
        if inside.is_mapping:
            container[key] = value
            inside.key = None
            if record:
                assert key is not None  # the scalar is a value: its key came before
                path = inside.path + (key,)
                values[path] = mark
        elif container is not None:  # a list
            if record:
                path = inside.path + (len(container),)
                values[path] = mark
            container.append(value)
        else:
            path = builder.place(value, mark)  # the root
        if record and style in _ONE_LINE_STYLES and mark.line == end.line:
            text_shifts[path] = 0 if not style else 1  # past the opening quote
        anchor = event.anchor
        if anchor is not None:
            builder.anchors[anchor] = (value, 1)
        builder.total += 1
        if builder.total > most:
            raise builder.too_large(mark)
    return builder.document()


class _Open:
    """A mapping or list being filled, or (``value`` None) the document, before its root value."""

    __slots__ = ("anchor", "before", "is_mapping", "key", "path", "value")

    def __init__(self, value: Any, is_mapping: bool, path: DocumentPath, anchor: str | None, before: int):
        self.value = value
        """The dict or list (``_Container``), typed ``Any`` as the loop that fills it knows which."""
        self.is_mapping = is_mapping
        self.path = path
        self.key: str | None = None
        """In a mapping, the key read whose value comes next."""
        self.anchor = anchor
        self.before = before
        """``_Builder.total`` plus ``_Builder.collections`` before it opened: what they grow by until it
        closes is its size, what an alias of its anchor adds (``_Builder.anchors``)."""


class _Builder:
    """The document being built from events: its values, the marks of its keys and values, its
    anchors, and the open mappings and lists, the innermost in ``open``."""

    __slots__ = (
        "anchors", "by_aliases", "collections", "documents", "file", "keys", "most", "open", "outer", "record",
        "root", "text", "text_shifts", "total", "values", "yaml12",
    )  # fmt: skip

    def __init__(self, text: str, file: str, record: bool):
        self.text = text
        self.file = file
        self.record = record
        """Whether the marks are kept (and the paths that key them made); without, the map is
        recorded by parsing the text again when first asked."""
        self.values: dict[DocumentPath, Mark] = {}
        self.keys: dict[DocumentPath, Mark] = {}
        self.text_shifts: dict[DocumentPath, int] = {}
        """Where a one-line text's characters begin, past its opening quote (0 or 1 columns)."""
        self.anchors: dict[str, tuple[JsonValue, int]] = {}
        """Each anchor's value and its size: a scalar 1, a collection what ``_Open.before`` says."""
        self.open = _Open(None, False, (), None, 0)
        self.outer: list[_Open] = []
        """The open mappings and lists around ``open``, outermost first."""
        self.root: JsonValue = None
        self.total = 0
        """Every value once, an alias counted as all it stands for."""
        self.collections = 0
        """How many mappings and lists have opened: each counts twice in the size of an anchor's."""
        self.by_aliases = 0
        """How much of ``total`` the aliases added."""
        self.most = MAX_VALUES
        self.documents = 0
        self.yaml12 = _Yaml12(text, file)

    def document(self) -> LocatedDocument:
        self.yaml12.check_continuation_lines()
        if self.record:
            return LocatedDocument(self.root, SourceMap.from_marks(self.file, self.values, self.keys, self.text_shifts))
        text, file = self.text, self.file
        return LocatedDocument(
            self.root, SourceMap.when_asked(file, lambda: _parse(_Loader, text, file, record=True).source_map)
        )

    def bad_key(self, mapping: _Open, text: str, plain: bool, mark: Mark) -> DefinitionError:
        """Why a merge key (``<<``), or a key that is in the mapping already, is refused."""
        if text == "<<" and plain:
            return _refuse(self.file, mark, "merge-key", _NO_MERGE_KEYS)
        first = self.keys.get(mapping.path + (text,))  # known when recording; load_text records to say it
        first_at = f" (first at line {first.line + 1})" if first is not None else ""
        return _refuse(
            self.file,
            mark,
            "duplicate-key",
            f"duplicate key `{text}`{first_at}; a key may appear once in a mapping",
        )

    def opens(self, event: Any, is_mapping: bool) -> None:
        anchor, tag, mark, flow_style = event.anchor, event.tag, event.start_mark, event.flow_style
        if tag is not None and tag != "!" and tag != (_MAP_TAG if is_mapping else _SEQ_TAG):
            raise _refuse(self.file, mark, "tag", _tag_message(tag))
        if len(self.outer) >= MAX_DEPTH:
            raise _refuse(self.file, mark, "too-deep", _TOO_DEEP)
        self.yaml12.opens(flow_style, mark)
        value: dict[str, JsonValue] | list[JsonValue] = {} if is_mapping else []
        path = self.place(value, mark)  # () when not recording: the children need no path either
        self.outer.append(self.open)
        self.open = _Open(value, is_mapping, path, anchor, self.total + self.collections)
        self.collections += 1
        self.total += 1
        if self.total > self.most:
            raise self.too_large(mark)

    def closes(self, event: Any) -> None:
        self.yaml12.closes(event.start_mark, event.end_mark)
        closed = self.open
        if closed.anchor is not None:
            self.anchors[closed.anchor] = (closed.value, self.total + self.collections - closed.before)
        self.open = self.outer.pop()

    def alias(self, event: Any) -> None:
        name, mark = event.anchor, event.start_mark
        if name not in self.anchors:
            raise _refuse(
                self.file, mark, "alias", f"the alias `*{name}` is used before its anchor `&{name}` is complete"
            )
        if self.open.is_mapping and self.open.key is None:
            raise _refuse(self.file, mark, "alias", "an alias cannot be used as a key")
        value, size = self.anchors[name]
        self.place(value, mark)
        self.by_aliases += size
        self.total += size
        if self.total > self.most:
            raise self.too_large(mark)

    def document_starts(self, event: Any) -> None:
        self.documents += 1
        if self.documents > 1:
            raise _refuse(
                self.file,
                event.start_mark,
                "yaml-syntax",
                "a definition file holds one YAML document; remove the second `---`",
            )

    def place(self, value: JsonValue, mark: Mark) -> DocumentPath:
        """Put the value where the parser is and, when recording, note where it came from and say where that is."""
        inside = self.open
        container = inside.value
        if inside.is_mapping:
            key = inside.key
            if key is None:
                raise _refuse(self.file, mark, "complex-key", "a key must be plain text, not a list or mapping")
            path = inside.path + (key,) if self.record else ()
            container[key] = value
            inside.key = None
        elif container is None:
            self.root = value
            path = ()
        else:
            path = inside.path + (len(container),) if self.record else ()
            container.append(value)
        if self.record:
            self.values[path] = mark
        return path

    def too_large(self, mark: Mark) -> DefinitionError:
        return _refuse(self.file, mark, "too-large", _too_large(self.total - self.by_aliases))


_MAP_TAG = _CORE + "map"
_SEQ_TAG = _CORE + "seq"
_ONE_LINE_STYLES = (None, "", "'", '"')
_NO_MERGE_KEYS = "merge keys (`<<: *name`) are not supported; write the keys out in full"
_TOO_DEEP = f"the file nests deeper than {MAX_DEPTH} levels; a definition may nest at most {MAX_DEPTH} levels"


def _too_large(written: int) -> str:
    """Blame the aliases only when the values written out fit and the aliases' copies do not."""
    if written <= MAX_VALUES:
        return f"the document expands to more than {MAX_VALUES:,} values; aliases (`*name`) repeat too much"
    return f"the document is too large: it holds more than {MAX_VALUES:,} values, the most a definition may hold"


class _Yaml12:
    """The rules of YAML 1.2 that libyaml lets through, each refused at its place.

    * a comment needs a space before its `#` (yaml-test-suite SU5Z, X4QW, 9JBA, CVW2);
    * a plain scalar in a flow collection cannot be `-` alone (YJV2, G5U8);
    * the lines a flow collection or a quoted text continues on are indented past the block
      collection it is in, and tabs do not count (9C9N, QB6E, DK95-01, Y79Y-03). One leniency:
      a closing `]` or `}` may stand at that block collection's own column, as most tools allow;
    * the blank lines that open a block scalar are no more indented than its first line (S98Z).
    """

    def __init__(self, text: str, file: str):
        self.text = text
        self.file = file
        self.continued: list[tuple[Any, int, int, bool]] = []
        """(the mark on the first line, the last line, spaces needed, whether lines starting with `#`
        are comments): the lines after the first, up to the last, must be indented that far."""
        self.quoted: set[int] = set()
        """Lines inside a quoted text in a flow collection: a `#` there is text, not a comment."""
        self.closing_lines: list[tuple[int, str, int]] = []
        """A flow collection's closing line that starts with its bracket: number, indent, spaces needed."""
        self.flow_start: tuple[Any, int] = (None, 0)  # the outermost open flow collection: mark, spaces needed
        self.may_glue_comments = _glues_a_comment(text)
        self.carriage_returns = "\r" in text
        """Whether a line may end at \r\n or \r: if not, every line ends at \n (``lines_after``)."""
        """Whether a `#` follows a quote, a bracket or a comma anywhere; if not, no comment is glued."""
        self.blocks: list[int] = []
        """The column of each open block collection (flow ones hold none)."""
        self.block_column = -1
        """The column of the innermost open block collection."""
        self.flow_depth = 0
        """How many flow collections are open."""

    def styled_scalar(self, style: str, start: Any, end: Any) -> None:
        """A quoted scalar, or a block one (``|``, ``>``)."""
        if style == '"' or style == "'":
            if self.may_glue_comments:
                self.comment_after(end.index)
            if end.line != start.line:
                self.quoted_lines(start, end)
        else:
            self.block_scalar(start)

    def flow_plain_scalar(self, value: str, start: Any, end: Any) -> None:
        """A plain scalar in a flow collection: the loader calls this only when it begins with one of
        ``_INDICATORS`` or when a comment may be glued somewhere (``may_glue_comments``)."""
        if value[:1] in ("-", "?", ":") and value[1:2] in ("", " ", "\t"):
            raise _refuse(
                self.file,
                start,
                "yaml-syntax",
                f"YAML syntax: `{value[0]}` cannot begin a plain value inside `[...]` or `{{...}}`; "
                f'quote it, e.g. "{value}"',
            )
        if self.may_glue_comments:
            self.comment_after(end.index)

    def opens(self, flow_style: bool | None, start: Any) -> None:
        if flow_style:
            if not self.flow_depth:
                self.flow_start = (start, self.block_column + 1)
            self.flow_depth += 1
        else:  # a flow collection holds no block ones
            self.block_column = start.column
            self.blocks.append(self.block_column)

    def closes(self, start: Any, end: Any) -> None:
        if self.flow_depth:
            self.flow_depth -= 1
            if self.may_glue_comments:
                self.comment_after(end.index)
            if not self.flow_depth:
                self.flow_closes(start)
        else:
            self.blocks.pop()
            self.block_column = self.blocks[-1] if self.blocks else -1

    def lines_after(self, mark: Any) -> Iterator[tuple[int, str]]:
        """The number (from 0) and text of each line after the one ``mark`` is on."""
        text = self.text
        number = mark.line
        if self.carriage_returns:  # lines may end at \r\n or \r too
            for found in _LINE_BREAK.finditer(text, mark.index):
                number += 1
                end = _LINE_BREAK.search(text, found.end())
                yield number, text[found.end() : end.start() if end is not None else len(text)]
            return
        at = text.find("\n", mark.index)  # every break a \n: found by str.find, not the pattern
        while at != -1:
            number += 1
            after = text.find("\n", at + 1)
            yield number, text[at + 1 : after if after != -1 else len(text)]
            at = after

    def quoted_lines(self, start: Any, end: Any) -> None:
        """A quoted text over several lines: its lines are text, and in block context need indenting."""
        if self.flow_depth:
            self.quoted.update(range(start.line + 1, end.line + 1))
        else:
            self.continued.append((start, end.line, self.block_column + 1, False))

    def flow_closes(self, closing: Any) -> None:
        """The outermost flow collection closes (at ``closing``, its bracket's mark): its lines need
        indenting past the block it is in."""
        opening, needed = self.flow_start
        if closing.line > opening.line:
            before = self.text[closing.index - closing.column : closing.index]
            bracket_first = not before.strip(" \t")
            self.continued.append((opening, closing.line - 1, needed, True))
            if bracket_first:  # the line holds nothing but the closing bracket and what follows it
                self.closing_lines.append((closing.line, before, needed - 1))
            else:
                self.continued[-1] = (opening, closing.line, needed, True)

    def comment_after(self, index: int) -> None:
        """A `#` straight after a quoted text, a closing bracket or a comma is not a comment."""
        found = _GLUED_COMMENT.match(self.text, index)
        if found is not None:
            line, column = _place(self.text, found.end() - 1)
            raise _error(
                self.file,
                line,
                column,
                "yaml-syntax",
                "YAML syntax: a comment needs a space before its `#`; write ` #`, or quote the text that holds `#`",
            )

    def block_scalar(self, mark: Any) -> None:
        header = _BLOCK_HEADER.match(self.text, mark.index)
        if header is None:
            return
        if header.group(2):
            line, column = _place(self.text, header.end() - 1)
            raise _error(
                self.file,
                line,
                column,
                "yaml-syntax",
                f"YAML syntax: a comment needs a space before its `#`; write `{header.group(1)} #`",
            )
        if any(c.isdigit() for c in header.group(1)):
            return  # the indentation is given, not guessed from the first line
        blank: list[tuple[int, int]] = []  # the spaces and number of each blank line before the first
        for number, text in self.lines_after(mark):
            spaces = len(text) - len(text.lstrip(" "))
            if not text.strip(" "):
                blank.append((spaces, number))
                continue
            wider = [at for n, at in blank if n > spaces]
            if spaces > self.block_column and wider:
                raise _error(
                    self.file,
                    wider[0] + 1,
                    1,
                    "yaml-syntax",
                    "YAML syntax: a blank line at the start of a block text (`|` or `>`) has more spaces "
                    f"than its first line (line {number + 1}); remove the extra spaces",
                )
            return

    def check_continuation_lines(self) -> None:
        for first, last, needed, comments in self.continued:
            for number, line in self.lines_after(first):
                if number > last:
                    break
                self.continuation_line(number, line, needed, comments)
        for number, indent, needed in self.closing_lines:
            self.continuation_line(number, indent + "]", needed, True)

    def continuation_line(self, number: int, line: str, needed: int, comments: bool) -> None:
        content = line.lstrip(" \t")
        if not content or (comments and content[0] == "#" and number not in self.quoted):
            return
        spaces = len(line) - len(line.lstrip(" "))
        if spaces >= needed:
            return
        if line[spaces : spaces + 1] == "\t":
            message = "YAML syntax: a tab character here — tabs cannot indent YAML; indent with spaces"
        else:
            message = (
                f"YAML syntax: this line continues a value begun on an earlier line, so it must be indented "
                f"further than the key or `-` that value belongs to: indent it by at least {needed} "
                f"space{'s' if needed > 1 else ''}"
            )
        raise _error(self.file, number + 1, spaces + 1, "yaml-syntax", message)


_GLUED_COMMENT = re.compile(r"(?:[ \t]*,)?#")
_INDICATORS = frozenset("-?:")
_BLOCK_HEADER = re.compile(r"([|>][0-9+-]{0,2})(#)?")


def _resolve_tagged(tag: str | None, text: str, file: str, mark: Mark) -> JsonValue:
    if tag in (None, "!", _CORE + "str"):
        return text
    shown = text.replace("\n", "\\n")  # a quoted text's line break, as it was written
    if tag == _CORE + "null":
        if _NULL.match(text):
            return None
        raise _refuse(file, mark, "tag", f"`{shown}` is not null; write `~`, `null` or nothing after `!!null`")
    if tag == _CORE + "bool" and text in _TRUE | _FALSE:
        return text in _TRUE
    if tag in (_CORE + "int", _CORE + "float"):
        number = _resolve_plain(text, file, mark)
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            if not tag.endswith("float"):
                return number
            if isinstance(number, int) and abs(number) >= 2**1024:  # float() would overflow
                raise _refuse(
                    file, mark, "number", f"`{text[:20]}…` is too large to be a number; write a smaller number"
                )
            return float(number)
        raise _refuse(file, mark, "tag", f"`{shown}` is not a number")
    raise _refuse(file, mark, "tag", _tag_message(tag))


def _resolve_plain(text: str, file: str, mark: Mark) -> JsonValue:
    """A plain scalar by YAML 1.2's core schema: ``yes``, ``on`` and ``no`` stay text."""
    if text[:1] in _WORD_STARTS:  # one look-up, not the patterns: most such scalars are words (`task`, `final`)
        return _WORDS.get(text, text)
    if _NULL.match(text):
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    try:
        if _INT.match(text):
            return int(text)
        if text.startswith("0o") and _octal().match(text):
            return int(text[2:], 8)
        if text.startswith("0x") and _hexadecimal().match(text):
            return int(text[2:], 16)
    except ValueError:
        raise _refuse(file, mark, "number", "this number has too many digits") from None
    if _FLOAT_CHARACTERS.issuperset(text) and _float().match(text):
        number = float(text)
        if math.isinf(number):
            raise _refuse(
                file,
                mark,
                "number",
                f"`{text}` is too large to be a number (it would be read as infinity); "
                "write a smaller number or quote it as text",
            )
        return number
    if text[-3:].lower() in ("inf", "nan") and _not_finite().match(text):
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


def _glues_a_comment(text: str) -> bool:
    """Whether a `#` follows a quote, a bracket or a comma anywhere: a few `#`s found by ``str.find``,
    where a pattern would test every character of the file."""
    at = text.find("#", 1)
    while at != -1:
        if text[at - 1] in "\"']},":
            return True
        at = text.find("#", at + 1)
    return False
