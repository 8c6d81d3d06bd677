"""Guard conditions and ``set`` values: a tiny expression language over instance data and payload.

``data.in_warranty and payload.quote <= 500`` comes from YAML that process owners edit, so it is
untrusted. The text is parsed with ``ast.parse`` (parsing only: nothing is ever passed to
``eval``, ``exec`` or ``compile``), every node is checked against a whitelist and turned into a
Python closure once, at load time; evaluating is then only calling those closures. Values are read
through ``Mapping`` lookups and list indexing, never attribute access, so nothing but the data is
reachable.

The language:

* ``and``, ``or``, ``not`` (Python truthiness; ``and``/``or`` return an operand, as in Python),
  ``a if condition else b``;
* ``==`` and ``!=`` compare as Python does (so ``1 == 1.0``, and also ``1 == true``);
* ``+ - * / % //`` and unary ``-``/``+`` on numbers (not ``true``/``false``); ``+`` also joins two
  texts or two lists. Results are capped: numbers at 2**63, texts and lists at 10,000 items;
* ``== != < <= > >= in``, ``not in``, chained (``0 < data.n <= 10``). ``<`` and friends compare
  two numbers or two texts only; ``in`` looks into a list, a text or a mapping's keys;
* numbers, quoted texts, ``true``/``false``/``null`` (``True``/``False``/``None`` also work) and
  list displays ``[a, b]`` (a tuple display ``(a, b)`` is a list too);
* reading the roots (``data`` and ``payload`` by default): ``data.customer.name``,
  ``data.parts[0]``, ``data.counts['a']``. A missing key or an index out of range reads as
  ``null``; reading a key of something that is not a mapping is an evaluation error.

* dates: a field whose schema says ``format: date`` or ``format: date-time`` reads as a date
  (``compile_expression``'s ``dates``), ``now`` is the time of the event, ``date('2026-12-01')`` a
  written date; dates compare with ``== != < <= > >=`` (with each other, and with ISO text such as
  ``'2026-12-01'``; a date-time compared with a date is taken as its day on the business calendar);
* the functions, and no others: ``len(x)``, ``date(text)``, ``days_between(a, b)``,
  ``working_days_between(a, b)`` (the working days after ``a`` up to and including ``b``, on the
  calendar), ``any(list)``, ``all(list)``, ``count(list)`` (items that are true), and with a field
  ``any(list, 'ok')`` (items whose ``ok`` is true) or ``count(list, 'status', 'open')`` (items whose
  ``status`` equals ``'open'``). Arguments are written in order, without names.

Line breaks read as spaces, as in YAML's folded style.

Refused when compiled, so at load: what could never be evaluated (a division by a written zero,
``'a' < 1``, ``1 in 'abc'``, any failing part made of written values only), a written number past
2**63, a name written with look-alike letters (``ｄａｔａ``, which Python would read as ``data``),
and the invisible marks that reorder text (U+202E and the other bidirectional controls), so the
text an auditor reads is the text that runs.
"""

from __future__ import annotations

import ast
import datetime
import difflib
import io
import operator
import re
import tokenize
import unicodedata
import warnings
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeGuard, Union

from engine.errors import ExpressionEvaluationError, ExpressionSyntaxError

MAX_EXPRESSION_LENGTH = 1000
MAX_DEPTH = 32
"""How deeply expression nodes may nest (``not not … x``, ``(((a + b) + c) …)``)."""
MAX_SEQUENCE_LENGTH = 10_000
"""The longest text or list that ``+`` may build."""
MAX_NUMBER = 2**63
"""The largest magnitude an arithmetic result may have."""

Scope = Mapping[str, object]
_Run = Callable[[Scope], object]
_Step = Union[str, int]
"""One step of a path: a mapping key (``.name``, ``['name']``) or a list index (``[0]``)."""

_CONSTANT_NAMES: dict[str, object] = {"true": True, "false": False, "null": None}
NOW = "now"
"""The name of the event's time in expressions: the runtime passes it in the scope, so a replay
evaluates exactly what the event did (never the wall clock)."""
MAX_DAYS_APART = 3660
"""The furthest apart (ten years, as for time limits) two dates may be for ``working_days_between``."""


@dataclass(frozen=True)
class ExpressionCalendar:
    """What date functions need of the business calendar: its time zone (a date-time's day is its
    day there) and which days are working days."""

    zone: datetime.tzinfo
    is_working_day: Callable[[datetime.date], bool]


_WEEKDAYS_UTC = ExpressionCalendar(datetime.UTC, lambda day: day.weekday() < 5)
_SHOWN_SOURCE = 60


@dataclass(frozen=True)
class Expression:
    """A compiled expression. Build it with ``compile_expression``.

    ``paths`` holds every name chain the expression reads, such as ``("data", "customer", "name")``;
    a chain stops at its first list index (``data.parts[0].name`` gives ``("data", "parts")``)
    because what follows depends on the element.
    """

    text: str
    paths: frozenset[tuple[str, ...]]
    _run: _Run = field(repr=False, compare=False)

    def evaluate(self, scope: Mapping[str, object]) -> object:
        """The value of the expression, with ``scope`` mapping each root name to its data.

        Values are returned as found in the data, not copied. Any failure raises
        ``ExpressionEvaluationError``.
        """
        try:
            return self._run(scope)
        except ExpressionEvaluationError:
            raise
        except RecursionError as exc:  # e.g. comparing two very deeply nested lists
            raise ExpressionEvaluationError("the data is nested too deeply to evaluate this expression") from exc
        except Exception as exc:  # e.g. a misbehaving Mapping in the scope; callers expect one type
            raise ExpressionEvaluationError(
                f"the expression could not be evaluated against this data ({type(exc).__name__})"
            ) from exc


def compile_expression(
    text: str,
    roots: Collection[str] = ("data", "payload"),
    *,
    dates: Mapping[tuple[str, ...], str] | None = None,
    calendar: ExpressionCalendar | None = None,
) -> Expression:
    """Check ``text`` and compile it, or raise ``ExpressionSyntaxError`` saying what is wrong.

    ``dates`` names the fields that hold dates (``("data", "requested_date"): "date"``, or
    ``"date-time"``): reading one gives a date, and a text there that is no date is an evaluation error
    naming the field. ``calendar`` is the business calendar that ``working_days_between`` counts on
    and that turns a date-time into a day (Monday to Friday in UTC when none is given).
    """
    if not isinstance(text, str):
        raise ExpressionSyntaxError(f"an expression must be text, not {_kind(text)}")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionSyntaxError(
            f"the expression is too long ({len(text)} characters; at most {MAX_EXPRESSION_LENGTH} are allowed)",
            MAX_EXPRESSION_LENGTH,
        )
    if "\0" in text:
        raise ExpressionSyntaxError("the expression contains a NUL character", text.index("\0"))
    control = _CONTROL_CHARACTERS.search(text)
    if control is not None:
        code = ord(control.group())
        raise ExpressionSyntaxError(
            f"the expression contains the control character U+{code:04X}; to mean it inside quoted text, "
            f"write the escape `\\x{code:02x}`",
            control.start(),
        )
    hidden = _BIDI_CONTROLS.search(text)
    if hidden is not None:
        raise ExpressionSyntaxError(
            f"the expression contains U+{ord(hidden.group()):04X}, an invisible mark that reorders the text "
            "around it, so what is shown is not what runs; remove it",
            hidden.start(),
        )
    # Line breaks become spaces so that everything is on one line and an ast column plus the
    # stripped indent is the character offset; Python refuses a leading indent, so strip it.
    one_line = text.replace("\r", " ").replace("\n", " ")
    source = one_line.lstrip(" \t\f")
    indent = len(one_line) - len(source)
    if not source.strip():
        raise ExpressionSyntaxError("the expression is empty", 0)
    tree = _parse(source, indent)
    _refuse_look_alike_names(source, indent)
    compiler = _Compiler(
        source, indent, frozenset([roots] if isinstance(roots, str) else roots), dates or {}, calendar or _WEEKDAYS_UTC
    )
    run = compiler.compile(tree.body, 1)
    return Expression(text, frozenset(compiler.paths), run)


def _parse(source: str, indent: int) -> ast.Expression:
    try:
        # Parsing may warn (invalid escapes, `is` with a literal); with warnings turned into
        # errors that would escape as another exception. (catch_warnings is process-wide, which is
        # fine for compiling at load time.)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source, mode="eval")
    except SyntaxError as exc:
        offset = max(0, min((exc.offset or 1) - 1, len(source)))
        message = _syntax_message(exc.msg, source, offset)
        raise ExpressionSyntaxError(message, indent + offset) from None
    except ValueError:  # e.g. a lone surrogate, which cannot be encoded
        raise ExpressionSyntaxError("the expression has characters that cannot be read") from None
    except (RecursionError, MemoryError):
        raise ExpressionSyntaxError("the expression is nested too deeply") from None


_CONTROL_CHARACTERS = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Marks that change the order in which text is shown (the "Trojan Source" characters)."""


def _refuse_look_alike_names(source: str, indent: int) -> None:
    """Python reads names in their NFKC form, so ``ｄａｔａ`` (full-width letters) would run as ``data``."""
    if source.isascii():
        return
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):  # ast.parse accepted it; nothing more to find here
        return
    for token in tokens:
        if token.type == tokenize.NAME and unicodedata.normalize("NFKC", token.string) != token.string:
            raise ExpressionSyntaxError(
                f"`{token.string}` is written with look-alike letters (full-width or other compatibility "
                f"forms) that would be read as `{unicodedata.normalize('NFKC', token.string)}`; "
                "type the name with ordinary letters",
                indent + token.start[1],
            )


def _syntax_message(message: str, source: str, offset: int) -> str:
    around = source[max(0, offset - 1) : offset + 2]  # Python may point at either `&` of `&&`
    for wrong, right in (("&&", "and"), ("||", "or")):
        if wrong in around:
            return f"write `{right}` instead of `{wrong}`"
    here = source[offset:]
    if here.startswith("!") and not here.startswith("!="):
        return "write `not` instead of `!`"
    if here.startswith("=") and not here.startswith("=="):
        return "to compare two values write `==`; a single `=` is not allowed"
    return f"this is not a valid expression: {message}"


class _Compiler:
    """Turns a checked ``ast`` tree into closures, collecting the paths it reads."""

    def __init__(
        self,
        source: str,
        indent: int,
        roots: frozenset[str],
        dates: Mapping[tuple[str, ...], str],
        calendar: ExpressionCalendar,
    ) -> None:
        self.source = source
        self.indent = indent
        self.roots = roots
        self.dates = dates
        self.calendar = calendar
        self.paths: set[tuple[str, ...]] = set()
        self._encoded = None if source.isascii() else source.encode("utf-8")

    # -- positions and messages ------------------------------------------------------------------

    def _column(self, byte_column: int) -> int:
        # ast columns count UTF-8 bytes; callers want characters
        if self._encoded is None:
            return byte_column
        return len(self._encoded[:byte_column].decode("utf-8", "replace"))

    def offset(self, node: ast.expr) -> int:
        return self.indent + self._column(node.col_offset)

    def shown(self, node: ast.expr) -> str:
        start = self._column(node.col_offset)
        end = self._column(node.end_col_offset or len(self.source))
        text = self.source[start:end]
        return text if len(text) <= _SHOWN_SOURCE else text[: _SHOWN_SOURCE - 1] + "…"

    def fail(self, message: str, node: ast.expr, offset: int | None = None) -> NoReturn:
        raise ExpressionSyntaxError(message, self.offset(node) if offset is None else offset)

    # -- the walk --------------------------------------------------------------------------------

    def compile(self, node: ast.expr, depth: int) -> _Run:
        run = self.compile_node(node, depth)
        if isinstance(node, _OPERATIONS) and _reads_nothing(node):
            try:  # what reads no data gives the same result every time: find now if that is a failure
                run({})
            except ExpressionEvaluationError as exc:
                self.fail(f"{exc.message}; this can never be evaluated", node, exc.offset)
        return run

    def compile_node(self, node: ast.expr, depth: int) -> _Run:
        if depth > MAX_DEPTH:
            self.fail("the expression is nested too deeply; split it into simpler parts", node)
        depth += 1
        match node:
            case ast.Constant(value=value):
                return _constant(self.constant(value, node))
            case ast.Name(id=name):
                if name in _CONSTANT_NAMES:
                    return _constant(_CONSTANT_NAMES[name])
                if name == NOW:
                    return _now(self.offset(node))
                return self.path(node)
            case ast.Call():
                return self.call(node, depth)
            case ast.Attribute() | ast.Subscript():
                return self.path(node)
            case ast.BoolOp(op=op, values=values):
                return _bool_op(isinstance(op, ast.And), [self.compile(v, depth) for v in values])
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                run = self.compile(operand, depth)
                return lambda scope: not run(scope)
            case ast.UnaryOp(op=ast.USub() | ast.UAdd() as op, operand=operand):
                return self.unary(op, operand, node, depth)
            case ast.BinOp(left=left, op=op, right=right):
                return self.arithmetic(left, op, right, node, depth)
            case ast.Compare(left=left, ops=ops, comparators=comparators):
                return self.compare(left, ops, comparators, node, depth)
            case ast.IfExp(test=test, body=body, orelse=orelse):
                return _if(self.compile(test, depth), self.compile(body, depth), self.compile(orelse, depth))
            case ast.List(elts=elements) | ast.Tuple(elts=elements):
                return self.display(elements, depth)
        self.fail(_refusal(node), node)

    def call(self, node: ast.Call, depth: int) -> _Run:
        func = node.func
        if not isinstance(func, ast.Name):
            self.fail(_refusal(node), node)
        name = func.id
        if name not in _FUNCTIONS:
            guess = difflib.get_close_matches(name, list(_FUNCTIONS), n=1)
            self.fail(
                f"unknown function `{name}`; the functions are {_listing(_FUNCTIONS, 'and')}"
                + (f" — did you mean `{guess[0]}`?" if guess else ""),
                func,
            )
        fewest, most, usage = _FUNCTIONS[name]
        if node.keywords:
            self.fail(f"write the arguments of `{name}` in order, without names: {usage}", node)
        arguments = node.args
        if not fewest <= len(arguments) <= most:
            wanted = str(fewest) if fewest == most else f"{fewest} to {most}"
            plural = "" if most == 1 else "s"
            self.fail(f"`{name}` takes {wanted} argument{plural}, got {len(arguments)}: write {usage}", node)
        runs = [self.compile(argument, depth) for argument in arguments]
        where, offset = self.shown(node), self.offset(node)
        if name == "len":
            kind = _static_kind(arguments[0])
            if kind is not None and kind not in ("text", "a list"):
                self.fail(f"`len` counts the items of a list, a text or a mapping, not {kind}", arguments[0])
            return _length(runs[0], where, offset)
        if name == "date":
            if isinstance(arguments[0], ast.Constant):
                text = arguments[0].value
                if not isinstance(text, str) or _parse_date(text) is None:
                    self.fail(f"`date` needs a date written as 'YYYY-MM-DD', such as {usage}", arguments[0])
            return _to_date(runs[0], where, offset)
        if name in ("days_between", "working_days_between"):
            for argument in arguments:
                kind = _static_kind(argument)
                value = argument.value if isinstance(argument, ast.Constant) else None
                if (kind is not None and kind != "text") or (isinstance(value, str) and _parse_moment(value) is None):
                    self.fail(
                        f"`{name}` needs two dates (a date field, `now`, or `date('2026-12-01')`), "
                        f"not {_show_written(argument, kind)}",
                        argument,
                    )
            working = self.calendar.is_working_day if name == "working_days_between" else None
            return _between(runs[0], runs[1], working, self.calendar.zone, where, offset)
        # any, all, count
        kind = _static_kind(arguments[0])
        if kind is not None and kind != "a list":
            self.fail(f"`{name}` goes through a list, not {kind}: write {usage}", arguments[0])
        field_name = None
        if len(arguments) > 1:
            second = arguments[1]
            if not (isinstance(second, ast.Constant) and isinstance(second.value, str) and second.value):
                self.fail(
                    f"the second argument of `{name}` names a field of each item, written as quoted text "
                    f"such as 'ok': {usage}",
                    second,
                )
            field_name = second.value
        target = runs[2] if len(runs) > 2 else None
        return _over_list(name, runs[0], field_name, target, self.calendar.zone, where, offset)

    def constant(self, value: object, node: ast.expr) -> object:
        if _is_number(value) and not abs(value) <= MAX_NUMBER:  # `not <=` also catches nan
            self.fail(f"`{self.shown(node)}` is larger than numbers may be (at most 2**63 either side of 0)", node)
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, bytes):
            self.fail("byte strings (`b'...'`) are not allowed; write text such as 'abc'", node)
        if isinstance(value, complex):
            self.fail("complex numbers are not allowed", node)
        self.fail("`...` is not allowed", node)

    def path(self, node: ast.expr) -> _Run:
        steps: list[_Step] = []
        chain = node
        while isinstance(chain, (ast.Attribute, ast.Subscript)):
            if isinstance(chain, ast.Attribute):
                if chain.attr.startswith("_"):
                    at = self.indent + self._column(chain.end_col_offset or 0) - len(chain.attr)
                    self.fail(
                        f"names starting with `_` are not allowed (to read such a key, write `['{chain.attr}']`)",
                        chain,
                        at,
                    )
                steps.append(chain.attr)
            else:
                steps.append(self.index(chain.slice))
            chain = chain.value
        if not isinstance(chain, ast.Name):
            self.fail(
                "`.` and `[...]` can only read from "
                f"{_listing(self.roots, 'or') or 'the data'}, such as `data.customer.name`",
                chain,
            )
        if chain.id in _CONSTANT_NAMES or chain.id == NOW:
            self.fail(f"`{chain.id}` has no fields to read", chain)
        if chain.id not in self.roots:
            self.fail(self.unknown_name(chain.id), chain)
        steps.reverse()
        keys = []
        for step in steps:
            if isinstance(step, int):
                break
            keys.append(step)
        self.paths.add((chain.id, *keys))
        reader = _reader(chain.id, steps, self.offset(node))
        form = self.dates.get((chain.id, *keys)) if len(keys) == len(steps) else None
        if form is not None:
            return _date_reader(reader, _path_text(chain.id, steps), form, self.offset(node))
        return reader

    def index(self, node: ast.expr) -> _Step:
        match node:
            case ast.Constant(value=str() | int() as value) if not isinstance(value, bool):
                return value
            case ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=int() as value)) if not isinstance(value, bool):
                return -value
            case ast.Slice():
                self.fail("slices (`[a:b]`) are not allowed; use one index such as `[0]`", node)
        self.fail("an index in `[...]` must be a whole number or quoted text, such as `[0]` or `['name']`", node)

    def unknown_name(self, name: str) -> str:
        allowed = sorted(self.roots)
        message = f"unknown name `{name}`; "
        message += f"conditions can read {_listing(allowed, 'and')}" if allowed else "no data can be read here"
        guess = difflib.get_close_matches(name, [*allowed, *_CONSTANT_NAMES, NOW], n=1)
        if guess:
            message += f" — did you mean `{guess[0]}`?"
        return message

    def unary(self, op: ast.unaryop, operand: ast.expr, node: ast.expr, depth: int) -> _Run:
        symbol = "-" if isinstance(op, ast.USub) else "+"
        kind = _static_kind(operand)
        if kind is not None and kind != "a number":
            self.fail(f"`{symbol}` works on numbers only, not on {kind}", node)
        if isinstance(operand, ast.Constant) and _is_number(operand.value):
            self.constant(operand.value, operand)  # within the limit
            value = operand.value  # fold `-5` so that comparing with it stays cheap
            return _constant(-value if symbol == "-" else value)
        return _negate(self.compile(operand, depth), symbol == "-", self.shown(node), self.offset(node))

    def arithmetic(self, left: ast.expr, op: ast.operator, right: ast.expr, node: ast.expr, depth: int) -> _Run:
        if isinstance(op, ast.Pow):
            self.fail("powers (`**`) are not allowed", node)
        if type(op) not in _ARITHMETIC:
            self.fail(
                "bitwise operators (`&`, `|`, `^`, `<<`, `>>`, `@`) are not allowed; "
                "use `and`, `or` and `not` to combine conditions",
                node,
            )
        symbol, function = _ARITHMETIC[type(op)]
        kinds = (_static_kind(left), _static_kind(right))
        if symbol == "+":
            wrong = {k for k in kinds if k is not None} - {"a number", "text", "a list"}
            if wrong or (None not in kinds and kinds[0] != kinds[1]):
                self.fail(
                    "`+` adds two numbers or joins two texts or two lists, "
                    f"not {kinds[0] or 'a value'} and {kinds[1] or 'a value'}",
                    node,
                )
        else:
            for kind in kinds:
                if kind is not None and kind != "a number":
                    self.fail(f"`{symbol}` works on numbers only, not on {kind}", node)
            if symbol in ("/", "%", "//") and _static_value(right) == 0:
                self.fail(f"division by zero in `{self.shown(node)}`; this can never be evaluated", node)
        return _arithmetic(
            symbol, function, self.compile(left, depth), self.compile(right, depth), self.shown(node), self.offset(node)
        )

    def compare(
        self, left: ast.expr, ops: list[ast.cmpop], comparators: list[ast.expr], node: ast.expr, depth: int
    ) -> _Run:
        where, offset = self.shown(node), self.offset(node)
        operands = [left, *comparators]
        tests: list[_Test] = []
        for i, op in enumerate(ops):
            if isinstance(op, (ast.Is, ast.IsNot)):
                self.fail("`is` is not allowed; use `==` or `!=`, such as `data.x == null`", node)
            symbol = _COMPARISONS[type(op)]
            kinds = [_static_kind(operand) for operand in operands[i : i + 2]]
            if symbol in _ORDER:
                for operand, kind in zip(operands[i : i + 2], kinds, strict=True):
                    if kind not in (None, "a number", "text"):
                        self.fail(f"`{symbol}` compares two numbers or two texts; {kind} has no order", operand)
                if None not in kinds and kinds[0] != kinds[1]:
                    self.fail(
                        f"`{symbol}` compares two numbers or two texts, not {kinds[0]} and {kinds[1]}; "
                        "this can never be evaluated",
                        operands[i],
                    )
            elif symbol in ("in", "not in") and kinds[1] not in (None, "text", "a list"):
                self.fail(
                    f"`{symbol}` needs a list, a text or a mapping on its right, not {kinds[1]}; "
                    "this can never be evaluated",
                    operands[i + 1],
                )
            elif symbol in ("in", "not in") and kinds[1] == "text" and kinds[0] not in (None, "text"):
                self.fail(
                    f"only text can be looked for in text, not {kinds[0]}; this can never be evaluated", operands[i]
                )
            tests.append(_comparison_test(symbol, where, offset, self.calendar.zone))
        return _comparison([self.compile(o, depth) for o in operands], tests)

    def display(self, elements: list[ast.expr], depth: int) -> _Run:
        runs = [self.compile(e, depth) for e in elements]
        return lambda scope: [run(scope) for run in runs]


# -- what is refused, in plain words ---------------------------------------------------------------

_REFUSALS: dict[type[ast.AST], str] = {
    ast.Lambda: "functions (`lambda`) are not allowed",
    ast.ListComp: "comprehensions (`[... for ... in ...]`) are not allowed",
    ast.SetComp: "comprehensions (`{... for ... in ...}`) are not allowed",
    ast.DictComp: "comprehensions (`{... for ... in ...}`) are not allowed",
    ast.GeneratorExp: "comprehensions (`(... for ... in ...)`) are not allowed",
    ast.JoinedStr: "f-strings (`f'...'`) are not allowed; join texts with `+`",
    ast.FormattedValue: "f-strings (`f'...'`) are not allowed; join texts with `+`",
    ast.NamedExpr: "assignments (`:=`) are not allowed; to compare, write `==`",
    ast.Dict: "mappings (`{...}`) are not allowed in expressions",
    ast.Set: "sets (`{...}`) are not allowed; use a list such as `['a', 'b']`",
    ast.Starred: "`*` unpacking is not allowed",
    ast.Await: "`await` is not allowed",
    ast.Yield: "`yield` is not allowed",
    ast.YieldFrom: "`yield` is not allowed",
}


def _refusal(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else f".{func.attr}" if isinstance(func, ast.Attribute) else "len"
        return (
            f"function calls such as `{name}(...)` are not allowed; "
            "expressions can only read, compare and combine values"
        )
    if isinstance(node, ast.UnaryOp):  # only `~` is left
        return "bitwise operators (`~`) are not allowed; use `not`"
    return _REFUSALS.get(type(node), "this kind of expression is not allowed")


def _static_kind(node: ast.expr) -> str | None:
    """The kind of value ``node`` always has, when that is known without data."""
    match node:
        case ast.Constant(value=value):
            return _kind(value)
        case ast.Name(id=name) if name in _CONSTANT_NAMES:
            return _kind(_CONSTANT_NAMES[name])
        case ast.List() | ast.Tuple():
            return "a list"
    return None


_OPERATIONS = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp)


def _reads_nothing(node: ast.expr) -> bool:
    """Whether ``node`` is made of written values only, so that it has the same value for all data."""
    return not any(isinstance(n, ast.Name) and n.id not in _CONSTANT_NAMES for n in ast.walk(node))


def _static_value(node: ast.expr) -> object:
    """The number ``node`` is when it is written as one (``0``, ``-0.0``), else None."""
    match node:
        case ast.Constant(value=value) if _is_number(value):
            return value
        case ast.UnaryOp(op=ast.USub() | ast.UAdd(), operand=ast.Constant(value=value)) if _is_number(value):
            return value
    return None


def _listing(names: Collection[str], conjunction: str) -> str:
    quoted = [f"`{name}`" for name in sorted(names)]
    if len(quoted) <= 1:
        return "".join(quoted)
    return f"{', '.join(quoted[:-1])} {conjunction} {quoted[-1]}"


# -- evaluation: values and closures ---------------------------------------------------------------


def _kind(value: object) -> str:
    """How a value is described to process owners (never the value itself: it may be huge)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, datetime.datetime):
        return "a date-time"
    if isinstance(value, datetime.date):
        return "a date"
    return f"a value of type {type(value).__name__}"


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _constant(value: object) -> _Run:
    return lambda scope: value


def _bool_op(is_and: bool, runs: list[_Run]) -> _Run:
    if len(runs) == 2:  # the common case, without a loop
        first, second = runs
        if is_and:
            return lambda scope: first(scope) and second(scope)
        return lambda scope: first(scope) or second(scope)

    def run(scope: Scope) -> object:
        value: object = None
        for operand in runs:
            value = operand(scope)
            if bool(value) is not is_and:  # `and` stops at a falsy operand, `or` at a truthy one
                return value
        return value

    return run


def _if(test: _Run, body: _Run, orelse: _Run) -> _Run:
    return lambda scope: body(scope) if test(scope) else orelse(scope)


def _reader(root: str, steps: list[_Step], offset: int) -> _Run:
    def run(scope: Scope) -> object:
        try:
            value = scope[root]
        except KeyError:
            raise ExpressionEvaluationError(f"`{root}` is not available here", offset) from None
        for i, step in enumerate(steps):
            if type(value) is dict and type(step) is str:  # the usual case, fast
                value = value.get(step)
            else:
                value = _step(value, step, root, steps[:i], offset)
        return value

    return run


def _step(value: object, step: _Step, root: str, before: list[_Step], offset: int) -> object:
    if isinstance(value, Mapping):
        return value.get(step)
    if isinstance(step, int) and isinstance(value, (list, tuple)):
        return value[step] if -len(value) <= step < len(value) else None
    where = _path_text(root, before)
    what = "a mapping" if isinstance(step, str) else "a list or a mapping"
    found = "has no value (null)" if value is None else f"is {_kind(value)}, not {what}"
    raise ExpressionEvaluationError(
        f"`{where}` {found}, so `{_path_text(root, [*before, step])}` cannot be read", offset
    )


def _path_text(root: str, steps: list[_Step]) -> str:
    text = root
    for step in steps:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if step.isidentifier() else f"[{step!r}]"
    return text


def _check_number(value: float, where: str, offset: int) -> float:
    if abs(value) > MAX_NUMBER:
        raise ExpressionEvaluationError(f"the result of `{where}` is too large", offset)
    return value


def _negate(operand: _Run, negate: bool, where: str, offset: int) -> _Run:
    def run(scope: Scope) -> object:
        value = operand(scope)
        if not _is_number(value):
            raise ExpressionEvaluationError(f"`{where}` needs a number, not {_kind(value)}", offset)
        return -value if negate else value

    return run


_Arithmetic = Callable[[float, float], float]
_ARITHMETIC: dict[type[ast.operator], tuple[str, _Arithmetic]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.Mod: ("%", operator.mod),
    ast.FloorDiv: ("//", operator.floordiv),
}


def _arithmetic(symbol: str, function: _Arithmetic, left: _Run, right: _Run, where: str, offset: int) -> _Run:
    divides = symbol in ("/", "%", "//")

    def run(scope: Scope) -> object:
        a = left(scope)
        b = right(scope)
        if _is_number(a) and _is_number(b):
            if divides and b == 0:
                raise ExpressionEvaluationError(f"division by zero in `{where}`", offset)
            try:
                return _check_number(function(a, b), where, offset)
            except OverflowError:
                raise ExpressionEvaluationError(f"the result of `{where}` is too large", offset) from None
        if symbol == "+":
            return _join(a, b, where, offset)
        raise ExpressionEvaluationError(
            f"`{symbol}` works on numbers only, not {_kind(a)} and {_kind(b)}, in `{where}`", offset
        )

    return run


def _join(a: object, b: object, where: str, offset: int) -> object:
    if isinstance(a, str) and isinstance(b, str):
        _check_length(len(a) + len(b), where, offset)
        return a + b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        _check_length(len(a) + len(b), where, offset)
        return [*a, *b]
    raise ExpressionEvaluationError(
        f"`+` adds two numbers or joins two texts or two lists, not {_kind(a)} and {_kind(b)}, in `{where}`", offset
    )


def _check_length(length: int, where: str, offset: int) -> None:
    if length > MAX_SEQUENCE_LENGTH:
        raise ExpressionEvaluationError(
            f"the result of `{where}` would be longer than {MAX_SEQUENCE_LENGTH:,} characters or items", offset
        )


_Test = Callable[[object, object], bool]
"""One comparison of a (possibly chained) ``Compare``, checking its operands' types."""

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ORDER_FAMILY: dict[type, str] = {
    int: "number",
    float: "number",
    str: "text",
    datetime.date: "date",
    datetime.datetime: "date-time",
}


def _comparison_test(symbol: str, where: str, offset: int, zone: datetime.tzinfo = datetime.UTC) -> _Test:
    if symbol in ("==", "!="):
        equal = symbol == "=="

        def same(a: object, b: object) -> bool:
            if isinstance(a, datetime.date) or isinstance(b, datetime.date):
                pair = _as_dates(a, b, zone)
                if pair is not None:
                    a, b = pair
            return (a == b) is equal

        return same
    if symbol in _ORDER:
        return _ordering(symbol, where, offset, zone)
    return _membership(symbol == "in", where, offset)


def _ordering(symbol: str, where: str, offset: int, zone: datetime.tzinfo = datetime.UTC) -> _Test:
    compare = _ORDER[symbol]

    def test(a: object, b: object) -> bool:
        family = _ORDER_FAMILY.get(type(a))
        if family is not None and family == _ORDER_FAMILY.get(type(b)):  # the usual case, fast
            return compare(a, b)
        if (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
            return compare(a, b)
        if isinstance(a, datetime.date) or isinstance(b, datetime.date):
            pair = _as_dates(a, b, zone)
            if pair is not None:
                return compare(*pair)
        both = (
            "two numbers, two texts or two dates"
            if isinstance(a, datetime.date) or isinstance(b, datetime.date)
            else "two numbers or two texts"
        )
        raise ExpressionEvaluationError(
            f"`{symbol}` compares {both}, not {_kind(a)} and {_kind(b)}, in `{where}`", offset
        )

    return test


def _membership(positive: bool, where: str, offset: int) -> _Test:
    symbol = "in" if positive else "not in"

    def test(a: object, b: object) -> bool:
        if isinstance(b, str):
            if not isinstance(a, str):
                raise ExpressionEvaluationError(
                    f"only text can be looked for in text, not {_kind(a)}, in `{where}`", offset
                )
            found = a in b
        elif isinstance(b, (list, tuple)):
            found = a in b
        elif isinstance(b, Mapping):
            try:
                found = a in b
            except TypeError:  # unhashable, e.g. a list
                raise ExpressionEvaluationError(
                    f"{_kind(a)} cannot be a key of a mapping, in `{where}`", offset
                ) from None
        else:
            raise ExpressionEvaluationError(
                f"`{symbol}` needs a list, a text or a mapping on its right, not {_kind(b)}, in `{where}`", offset
            )
        return found is positive

    return test


_COMPARISONS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}


def _comparison(runs: list[_Run], tests: list[_Test]) -> _Run:
    if len(tests) == 1:  # the common case, without a loop
        (left, right), test = runs, tests[0]
        return lambda scope: test(left(scope), right(scope))

    def run(scope: Scope) -> object:
        a = runs[0](scope)
        for test, operand in zip(tests, runs[1:], strict=True):
            b = operand(scope)
            if not test(a, b):
                return False
            a = b
        return True

    return run


# -- dates, `now` and the functions -----------------------------------------------------------------

_FUNCTIONS: dict[str, tuple[int, int, str]] = {
    "len": (1, 1, "`len(data.parts)`"),
    "date": (1, 1, "`date('2026-12-01')`"),
    "days_between": (2, 2, "`days_between(data.received_on, now)`"),
    "working_days_between": (2, 2, "`working_days_between(data.received_on, now)`"),
    "any": (1, 3, "`any(data.parts)`, `any(data.parts, 'ok')` or `any(data.parts, 'status', 'open')`"),
    "all": (1, 3, "`all(data.parts)`, `all(data.parts, 'ok')` or `all(data.parts, 'status', 'done')`"),
    "count": (1, 3, "`count(data.parts)`, `count(data.parts, 'ok')` or `count(data.parts, 'status', 'open')`"),
}
"""Every function an expression may call: its fewest and most arguments, and how to write it."""

_DATE_TEXT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _parse_date(text: str) -> datetime.date | None:
    """The day ``text`` writes as ``YYYY-MM-DD`` (what JSON Schema's ``format: date`` means), or None."""
    if not _DATE_TEXT.match(text):
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def _parse_date_time(text: str) -> datetime.datetime | None:
    """The moment ``text`` writes in ISO 8601 with its UTC offset (``format: date-time``), or None."""
    if len(text) < 16 or not _DATE_TEXT.match(text[:10]) or text[10] not in "Tt ":
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def _parse_moment(text: str) -> datetime.date | None:
    """A date or a date-time written as text, or None."""
    return _parse_date(text) or _parse_date_time(text)


def _as_dates(a: object, b: object, zone: datetime.tzinfo) -> tuple[Any, Any] | None:
    """Two values made comparable when one is a date: a text in ISO form is read as a date or date-time,
    and a date-time compared with a date is taken as its day on the business calendar."""
    if isinstance(a, str):
        a = _parse_moment(a)
    if isinstance(b, str):
        b = _parse_moment(b)
    if not (isinstance(a, datetime.date) and isinstance(b, datetime.date)):
        return None
    a_time, b_time = isinstance(a, datetime.datetime), isinstance(b, datetime.datetime)
    if a_time and not b_time:
        a = a.astimezone(zone).date()  # type: ignore[attr-defined]
    elif b_time and not a_time:
        b = b.astimezone(zone).date()  # type: ignore[attr-defined]
    return a, b


def _as_day(value: object, zone: datetime.tzinfo, where: str, offset: int) -> datetime.date:
    moment = _parse_moment(value) if isinstance(value, str) else value
    if isinstance(moment, datetime.datetime):
        return moment.astimezone(zone).date()
    if isinstance(moment, datetime.date):
        return moment
    raise ExpressionEvaluationError(f"`{where}` needs two dates, not {_kind(value)}", offset)


def _show_written(node: ast.expr, kind: str | None) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return f"the text {node.value[:_SHOWN_SOURCE]!r} (write dates as 'YYYY-MM-DD')"
    return kind or "this value"


def _now(offset: int) -> _Run:
    def run(scope: Scope) -> object:
        try:
            return scope[NOW]
        except KeyError:
            raise ExpressionEvaluationError("`now` (the time of the event) is not available here", offset) from None

    return run


def _date_reader(reader: _Run, where: str, form: str, offset: int) -> _Run:
    """Reading a field the schema says holds a date: the text there becomes a date, or a date-time."""
    parse = _parse_date if form == "date" else _parse_date_time
    written = "a date written YYYY-MM-DD" if form == "date" else "a date-time with its UTC offset"

    def run(scope: Scope) -> object:
        value = reader(scope)
        if value is None or isinstance(value, datetime.date):
            return value
        parsed = parse(value) if isinstance(value, str) else None
        if parsed is None:
            shown = f"the text {value[:_SHOWN_SOURCE]!r}" if isinstance(value, str) else _kind(value)
            raise ExpressionEvaluationError(f"`{where}` should hold {written}, but holds {shown}", offset)
        return parsed

    return run


def _length(argument: _Run, where: str, offset: int) -> _Run:
    def run(scope: Scope) -> object:
        value = argument(scope)
        if isinstance(value, (str, list, tuple, Mapping)):
            return len(value)
        raise ExpressionEvaluationError(
            f"`{where}` counts the items of a list, a text or a mapping, not {_kind(value)}", offset
        )

    return run


def _to_date(argument: _Run, where: str, offset: int) -> _Run:
    def run(scope: Scope) -> object:
        value = argument(scope)
        if isinstance(value, datetime.date):
            return value
        parsed = _parse_date(value) if isinstance(value, str) else None
        if parsed is None:
            raise ExpressionEvaluationError(f"`{where}` needs a date written 'YYYY-MM-DD', not {_kind(value)}", offset)
        return parsed

    return run


def _between(
    first: _Run,
    second: _Run,
    working: Callable[[datetime.date], bool] | None,
    zone: datetime.tzinfo,
    where: str,
    offset: int,
) -> _Run:
    """Days from the first date to the second (negative when the second is earlier); with ``working``,
    the working days after the first up to and including the second."""

    def run(scope: Scope) -> object:
        start = _as_day(first(scope), zone, where, offset)
        end = _as_day(second(scope), zone, where, offset)
        days = (end - start).days
        if working is None:
            return days
        if abs(days) > MAX_DAYS_APART:
            raise ExpressionEvaluationError(
                f"`{where}`: the dates are more than {MAX_DAYS_APART:,} days (ten years) apart, "
                "too far to count working days",
                offset,
            )
        step = 1 if days >= 0 else -1
        low = start if days >= 0 else end
        counted = sum(1 for n in range(1, abs(days) + 1) if working(low + datetime.timedelta(days=n)))
        return step * counted

    return run


def _over_list(
    name: str,
    items: _Run,
    field_name: str | None,
    wanted: _Run | None,
    zone: datetime.tzinfo,
    where: str,
    offset: int,
) -> _Run:
    same = _comparison_test("==", where, offset, zone)

    def run(scope: Scope) -> object:
        values = items(scope)
        if not isinstance(values, (list, tuple)):
            raise ExpressionEvaluationError(f"`{where}` goes through a list, not {_kind(values)}", offset)
        target = wanted(scope) if wanted is not None else None
        found = []
        for index, item in enumerate(values):
            value = item
            if field_name is not None:
                if not isinstance(item, Mapping):
                    raise ExpressionEvaluationError(
                        f"`{where}`: item {index} is {_kind(item)}, not a mapping with `{field_name}`", offset
                    )
                value = item.get(field_name)
            found.append(same(value, target) if wanted is not None else bool(value))
        if name == "any":
            return any(found)
        if name == "all":
            return all(found)
        return sum(found)

    return run


def to_json(value: object) -> object:
    """A value an expression computed, as it is kept in JSON data: dates become their ISO text."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list):
        return [to_json(item) for item in value]
    return value
