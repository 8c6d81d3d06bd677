"""A checked ``ast`` tree turned into closures (``engine.expressions.operations``), with the paths it
reads; every node outside the whitelist is refused here, at load, with the reason in words."""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping
from typing import NoReturn

from engine.errors import ExpressionEvaluationError, ExpressionSyntaxError
from engine.expressions.functions import between, date_reader, length_of, now_of, over_list, to_date
from engine.expressions.operations import (
    ARITHMETIC,
    COMPARISONS,
    FUNCTIONS,
    ORDER,
    Test,
    arithmetic_of,
    bool_op,
    comparison_of,
    comparison_test,
    constant_of,
    if_of,
    negate_of,
    parse_date,
    parse_moment,
    path_text,
    reader_of,
)
from engine.expressions.values import (
    CONSTANT_NAMES,
    MAX_DEPTH,
    MAX_NUMBER,
    NOW,
    SHOWN_SOURCE,
    ExpressionCalendar,
    Run,
    Step,
    is_number,
    kind_of,
)


class Compiler:
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
        return text if len(text) <= SHOWN_SOURCE else text[: SHOWN_SOURCE - 1] + "…"

    def fail(self, message: str, node: ast.expr, offset: int | None = None) -> NoReturn:
        raise ExpressionSyntaxError(message, self.offset(node) if offset is None else offset)

    # -- the walk --------------------------------------------------------------------------------

    def compile(self, node: ast.expr, depth: int) -> Run:
        run = self.compile_node(node, depth)
        if isinstance(node, _OPERATIONS) and _reads_nothing(node):
            try:  # what reads no data gives the same result every time: find now if that is a failure
                run({})
            except ExpressionEvaluationError as exc:
                self.fail(f"{exc.message}; this can never be evaluated", node, exc.offset)
        return run

    def compile_node(self, node: ast.expr, depth: int) -> Run:
        if depth > MAX_DEPTH:
            self.fail("the expression is nested too deeply; split it into simpler parts", node)
        depth += 1
        match node:
            case ast.Constant(value=value):
                return constant_of(self.constant(value, node))
            case ast.Name(id=name):
                if name in CONSTANT_NAMES:
                    return constant_of(CONSTANT_NAMES[name])
                if name == NOW:
                    return now_of(self.offset(node))
                return self.path(node)
            case ast.Call():
                return self.call(node, depth)
            case ast.Attribute() | ast.Subscript():
                return self.path(node)
            case ast.BoolOp(op=op, values=values):
                return bool_op(isinstance(op, ast.And), [self.compile(v, depth) for v in values])
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
                return if_of(self.compile(test, depth), self.compile(body, depth), self.compile(orelse, depth))
            case ast.List(elts=elements) | ast.Tuple(elts=elements):
                return self.display(elements, depth)
        self.fail(_refusal(node), node)

    def call(self, node: ast.Call, depth: int) -> Run:
        func = node.func
        if not isinstance(func, ast.Name):
            self.fail(_refusal(node), node)
        name = func.id
        if name not in FUNCTIONS:
            import difflib  # for a refusal only: not with every expression compiled

            guess = difflib.get_close_matches(name, list(FUNCTIONS), n=1)
            self.fail(
                f"unknown function `{name}`; the functions are {_listing(FUNCTIONS, 'and')}"
                + (f" — did you mean `{guess[0]}`?" if guess else ""),
                func,
            )
        fewest, most, usage = FUNCTIONS[name]
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
            return length_of(runs[0], where, offset)
        if name == "date":
            if isinstance(arguments[0], ast.Constant):
                text = arguments[0].value
                if not isinstance(text, str) or parse_date(text) is None:
                    self.fail(f"`date` needs a date written as 'YYYY-MM-DD', such as {usage}", arguments[0])
            return to_date(runs[0], where, offset)
        if name in ("days_between", "working_days_between"):
            for argument in arguments:
                kind = _static_kind(argument)
                value = argument.value if isinstance(argument, ast.Constant) else None
                if (kind is not None and kind != "text") or (isinstance(value, str) and parse_moment(value) is None):
                    self.fail(
                        f"`{name}` needs two dates (a date field, `now`, or `date('2026-12-01')`), "
                        f"not {_show_written(argument, kind)}",
                        argument,
                    )
            working = self.calendar.is_working_day if name == "working_days_between" else None
            return between(runs[0], runs[1], working, self.calendar.zone, where, offset)
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
        return over_list(name, runs[0], field_name, target, self.calendar.zone, where, offset)

    def constant(self, value: object, node: ast.expr) -> object:
        if is_number(value) and not abs(value) <= MAX_NUMBER:  # `not <=` also catches nan
            self.fail(f"`{self.shown(node)}` is larger than numbers may be (at most 2**63 either side of 0)", node)
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, bytes):
            self.fail("byte strings (`b'...'`) are not allowed; write text such as 'abc'", node)
        if isinstance(value, complex):
            self.fail("complex numbers are not allowed", node)
        self.fail("`...` is not allowed", node)

    def path(self, node: ast.expr) -> Run:
        steps: list[Step] = []
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
        if chain.id in CONSTANT_NAMES or chain.id == NOW:
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
        reader = reader_of(chain.id, steps, self.offset(node))
        form = self.dates.get((chain.id, *keys)) if len(keys) == len(steps) else None
        if form is not None:
            return date_reader(reader, path_text(chain.id, steps), form, self.offset(node))
        return reader

    def index(self, node: ast.expr) -> Step:
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
        import difflib

        guess = difflib.get_close_matches(name, [*allowed, *CONSTANT_NAMES, NOW], n=1)
        if guess:
            message += f" — did you mean `{guess[0]}`?"
        return message

    def unary(self, op: ast.unaryop, operand: ast.expr, node: ast.expr, depth: int) -> Run:
        symbol = "-" if isinstance(op, ast.USub) else "+"
        kind = _static_kind(operand)
        if kind is not None and kind != "a number":
            self.fail(f"`{symbol}` works on numbers only, not on {kind}", node)
        if isinstance(operand, ast.Constant) and is_number(operand.value):
            self.constant(operand.value, operand)  # within the limit
            value = operand.value  # fold `-5` so that comparing with it stays cheap
            return constant_of(-value if symbol == "-" else value)
        return negate_of(self.compile(operand, depth), symbol == "-", self.shown(node), self.offset(node))

    def arithmetic(self, left: ast.expr, op: ast.operator, right: ast.expr, node: ast.expr, depth: int) -> Run:
        if isinstance(op, ast.Pow):
            self.fail("powers (`**`) are not allowed", node)
        if type(op) not in ARITHMETIC:
            self.fail(
                "bitwise operators (`&`, `|`, `^`, `<<`, `>>`, `@`) are not allowed; "
                "use `and`, `or` and `not` to combine conditions",
                node,
            )
        symbol, function = ARITHMETIC[type(op)]
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
        return arithmetic_of(
            symbol, function, self.compile(left, depth), self.compile(right, depth), self.shown(node), self.offset(node)
        )

    def compare(
        self, left: ast.expr, ops: list[ast.cmpop], comparators: list[ast.expr], node: ast.expr, depth: int
    ) -> Run:
        where, offset = self.shown(node), self.offset(node)
        operands = [left, *comparators]
        tests: list[Test] = []
        for i, op in enumerate(ops):
            if isinstance(op, (ast.Is, ast.IsNot)):
                self.fail("`is` is not allowed; use `==` or `!=`, such as `data.x == null`", node)
            symbol = COMPARISONS[type(op)]
            kinds = [_static_kind(operand) for operand in operands[i : i + 2]]
            if symbol in ORDER:
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
            tests.append(comparison_test(symbol, where, offset, self.calendar.zone))
        return comparison_of([self.compile(o, depth) for o in operands], tests)

    def display(self, elements: list[ast.expr], depth: int) -> Run:
        runs = [self.compile(e, depth) for e in elements]
        return lambda scope: [run(scope) for run in runs]


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
            return kind_of(value)
        case ast.Name(id=name) if name in CONSTANT_NAMES:
            return kind_of(CONSTANT_NAMES[name])
        case ast.List() | ast.Tuple():
            return "a list"
    return None


_OPERATIONS = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp)


def _reads_nothing(node: ast.expr) -> bool:
    """Whether ``node`` is made of written values only, so that it has the same value for all data."""
    return not any(isinstance(n, ast.Name) and n.id not in CONSTANT_NAMES for n in ast.walk(node))


def _static_value(node: ast.expr) -> object:
    """The number ``node`` is when it is written as one (``0``, ``-0.0``), else None."""
    match node:
        case ast.Constant(value=value) if is_number(value):
            return value
        case ast.UnaryOp(op=ast.USub() | ast.UAdd(), operand=ast.Constant(value=value)) if is_number(value):
            return value
    return None


def _listing(names: Collection[str], conjunction: str) -> str:
    quoted = [f"`{name}`" for name in sorted(names)]
    if len(quoted) <= 1:
        return "".join(quoted)
    return f"{', '.join(quoted[:-1])} {conjunction} {quoted[-1]}"


def _show_written(node: ast.expr, kind: str | None) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return f"the text {node.value[:SHOWN_SOURCE]!r} (write dates as 'YYYY-MM-DD')"
    return kind or "this value"
