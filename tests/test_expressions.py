"""The expression language: documented behaviour, refused constructs, sandbox escapes, fuzzing."""

import ast
import datetime
import math
import zoneinfo
from collections.abc import Collection, Iterator, Mapping

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from engine.errors import ExpressionEvaluationError, ExpressionSyntaxError
from engine.expressions import MAX_EXPRESSION_LENGTH, Expression, ExpressionCalendar, compile_expression, to_json

SCOPE = {
    "data": {
        "in_warranty": True,
        "customer": {"name": "Ada", "tier": "gold"},
        "parts": [{"sku": "A1"}, {"sku": "B2"}],
        "counts": {"a": 3, "odd key": 4},
        "reason": "quality",
        "n": 7,
        "zero": 0,
        "empty": "",
        "nothing": None,
    },
    "payload": {"quote": 450, "price": 12.5, "tags": ["urgent", "vip"]},
}


def run(text: str, scope: Mapping[str, object] = SCOPE) -> object:
    return compile_expression(text).evaluate(scope)


def syntax_error(text: str, roots: Collection[str] = ("data", "payload")) -> ExpressionSyntaxError:
    with pytest.raises(ExpressionSyntaxError) as caught:
        compile_expression(text, roots)
    return caught.value


def evaluation_error(text: str, scope: Mapping[str, object] = SCOPE) -> ExpressionEvaluationError:
    expression = compile_expression(text)
    with pytest.raises(ExpressionEvaluationError) as caught:
        expression.evaluate(scope)
    return caught.value


# -- documented behaviour --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("data.in_warranty and payload.quote <= 500", True),
        ("data.in_warranty and payload.quote > 500", False),
        ("data.zero and data.n", 0),  # `and` returns an operand, as in Python
        ("data.empty or data.reason", "quality"),
        ("data.nothing or data.zero or data.n", 7),
        ("data.n and data.reason and data.zero", 0),
        ("not data.in_warranty", False),
        ("not data.nothing", True),
        ("-data.n", -7),
        ("+data.n", 7),
        ("data.n + 1", 8),
        ("data.n - 10", -3),
        ("data.n * payload.price", 87.5),
        ("data.n / 2", 3.5),
        ("data.n % 4", 3),
        ("data.n // 2", 3),
        ("-7 // 2", -4),
        ("data.customer.name + ' Lovelace'", "Ada Lovelace"),
        ("payload.tags + ['new']", ["urgent", "vip", "new"]),
        ("data.n == 7", True),
        ("data.n != 7", False),
        ("data.n == 7.0", True),
        ("payload.quote < 450", False),
        ("payload.quote <= 450", True),
        ("payload.quote > 449.5", True),
        ("payload.quote >= 451", False),
        ("'abc' < 'abd'", True),
        ("0 < data.n <= 7", True),
        ("0 < data.n < 7", False),
        ("1 < 2 > 3", False),
        ("data.reason in ['quality', 'size']", True),
        ("data.reason not in ('quality', 'size')", False),
        ("'vip' in payload.tags", True),
        ("'ua' in data.reason", True),
        ("'a' in data.counts", True),
        ("'z' not in data.counts", True),
        ("'high' if payload.quote > 400 else 'low'", "high"),
        ("'high' if payload.quote > 500 else 'low'", "low"),
        ("[data.n, 'x', [null]]", [7, "x", [None]]),
        ("(data.n, 1)", [7, 1]),
        ("true", True),
        ("false", False),
        ("null", None),
        ("True and not False", True),
        ("None == null", True),
        ("data.nothing == null", True),
        ("data.missing == null", True),
        ("data.customer.missing", None),
        ("data.parts[0].sku", "A1"),
        ("data.parts[-1].sku", "B2"),
        ("data.parts[5]", None),
        ("data.parts[-3]", None),
        ("data.counts['a']", 3),
        ("data.counts['odd key']", 4),
        ("data.counts['missing']", None),
        ("data.customer", {"name": "Ada", "tier": "gold"}),
        ("1e3", 1000.0),
        ("'\\d'", "\\d"),  # an invalid escape warns while parsing; warnings are errors in this suite
    ],
)
def test_evaluates_as_documented(text: str, expected: object) -> None:
    result = run(text)
    assert result == expected
    assert type(result) is type(expected)


def test_a_bare_root_reads_the_whole_mapping() -> None:
    expression = compile_expression("data")
    assert expression.paths == {("data",)}
    assert expression.evaluate(SCOPE) is SCOPE["data"]


@pytest.mark.parametrize(
    ("text", "paths"),
    [
        ("data.in_warranty and payload.quote <= 500", {("data", "in_warranty"), ("payload", "quote")}),
        ("data.customer.name == 'Ada'", {("data", "customer", "name")}),
        ("data.counts['a'] + data.counts.b", {("data", "counts", "a"), ("data", "counts", "b")}),
        ("data.parts[0].sku", {("data", "parts")}),  # a path stops at a list index
        ("true or 1 < 2", set()),
    ],
)
def test_paths_name_every_chain_read(text: str, paths: set[tuple[str, ...]]) -> None:
    assert compile_expression(text).paths == paths


def test_roots_decide_which_names_can_be_read() -> None:
    expression = compile_expression("instance.state == 'open'", roots=("instance",))
    assert expression.evaluate({"instance": {"state": "open"}}) is True
    assert "`payload`" in syntax_error("payload.x", roots=["data"]).message
    assert "no data can be read here" in syntax_error("data.x", roots=()).message


def test_line_breaks_read_as_spaces_and_an_indent_is_allowed() -> None:
    assert run("  data.in_warranty and\n  payload.quote <= 500\n") is True
    # offsets still count characters of the original text
    assert syntax_error("\n  data.__x").offset == 8


def test_expressions_are_values() -> None:
    first, second = compile_expression("data.n > 1"), compile_expression("data.n > 1")
    assert first == second and hash(first) == hash(second)
    assert first != compile_expression("data.n > 2")
    with pytest.raises(AttributeError):
        first.text = "true"  # type: ignore[misc]


# -- compile-time refusals, with the offset of the offending construct -----------------------------


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("dta.x", 0, "unknown name `dta`; conditions can read `data` and `payload` — did you mean `data`?"),
        ("data.x == ture", 10, "did you mean `true`?"),
        ("data.x and zzz", 11, "unknown name `zzz`; conditions can read `data` and `payload`"),
        ("data.__class__", 5, "names starting with `_` are not allowed"),
        ("data.ok . _hidden", 10, "names starting with `_` are not allowed"),
        ("max(data.parts) > 1", 0, "unknown function `max`; the functions are `all`, `any`, `count`"),
        ("lenn(data.parts) > 1", 0, "did you mean `len`?"),
        ("data.x + 'é'.upper()", 9, "function calls such as `.upper(...)` are not allowed"),
        ("data.n ** 2", 0, "powers (`**`) are not allowed"),
        ("data.a or (lambda: 1)", 11, "functions (`lambda`) are not allowed"),
        ("[c for c in data]", 0, "comprehensions"),
        ("(c for c in data)", 0, "comprehensions"),
        ("{c for c in data}", 0, "comprehensions"),
        ("{c: 1 for c in data}", 0, "comprehensions"),
        ("f'{data}'", 0, "f-strings"),
        ("(x := 1)", 1, "assignments (`:=`) are not allowed"),
        ("{'a': 1}", 0, "mappings (`{...}`) are not allowed"),
        ("{1, 2}", 0, "sets (`{...}`) are not allowed; use a list"),
        ("[*data.parts]", 1, "`*` unpacking is not allowed"),
        ("data.parts[0:1]", 11, "slices"),
        ("data.parts[data.n]", 11, "an index in `[...]` must be a whole number or quoted text"),
        ("data.parts[true]", 11, "an index in `[...]` must be a whole number or quoted text"),
        ("data.a & data.b", 0, "bitwise operators"),
        ("data.a << 2", 0, "bitwise operators"),
        ("~data.a", 0, "bitwise operators (`~`) are not allowed; use `not`"),
        ("data.a is null", 0, "`is` is not allowed; use `==` or `!=`"),
        ("await data", 0, "`await` is not allowed"),
        ("(yield)", 1, "`yield` is not allowed"),
        ("b'x' == data.a", 0, "byte strings"),
        ("data.a == 1j", 10, "complex numbers are not allowed"),
        ("...", 0, "`...` is not allowed"),
        ("'abc'.upper", 0, "can only read from `data` or `payload`"),
        ("[1, 2][0]", 0, "can only read from `data` or `payload`"),
        ("null.x", 0, "`null` has no fields to read"),
        ("'a' * 3", 0, "`*` works on numbers only, not on text"),
        ("data.n - [1]", 0, "`-` works on numbers only, not on a list"),
        ("-'a'", 0, "`-` works on numbers only"),
        ("1 + 'a'", 0, "`+` adds two numbers or joins two texts or two lists, not a number and text"),
        ("null + data.n", 0, "`+` adds two numbers"),
        ("data.n < null", 9, "`<` compares two numbers or two texts; null has no order"),
        ("data.n >= [1]", 10, "a list has no order"),
        ("data.a && data.b", 8, "write `and` instead of `&&`"),
        ("data.a || data.b", 8, "write `or` instead of `||`"),
        ("!data.a", 0, "write `not` instead of `!`"),
        ("data.a = 1", 7, "write `==`"),
        ("é + (data.x", 4, "'(' was never closed"),
        ("data.a + * 2", 9, "this is not a valid expression: invalid syntax"),
        ("data.a == 'x", 10, "unterminated string"),
        ("", 0, "the expression is empty"),
        (" \n ", 0, "the expression is empty"),
        ("data.x\0", 6, "NUL character"),
        ("x" * (MAX_EXPRESSION_LENGTH + 1), MAX_EXPRESSION_LENGTH, "too long"),
        ("-" * 40 + "1", 32, "nested too deeply"),
        ("not " * 40 + "true", 128, "nested too deeply"),
    ],
)
def test_refuses_at_compile_time(text: str, offset: int, message: str) -> None:
    error = syntax_error(text)
    assert message in error.message
    assert error.offset == offset


def test_the_length_limit_is_inclusive() -> None:
    text = "1" + " " * (MAX_EXPRESSION_LENGTH - 1)
    assert compile_expression(text).evaluate({}) == 1
    syntax_error(text + " ")


def test_text_that_cannot_be_encoded_is_a_syntax_error() -> None:
    assert "cannot be read" in syntax_error("data.a == '\ud800'").message


def test_an_expression_must_be_text() -> None:
    assert "must be text" in syntax_error(5).message  # type: ignore[arg-type]


# -- sandbox escapes -------------------------------------------------------------------------------

ESCAPES = [
    "().__class__.__bases__[0].__subclasses__()",
    "data.__class__",
    "payload.__init__.__globals__",
    "__import__('os').system('x')",
    "getattr(data, 'x')",
    "'{0.__class__}'.format(data)",
    "[c for c in data]",
    "lambda: 1",
    "9**9**9",
    "'a' * 10**9",
    "'a' * 100000000",
    "(x := 1)",
    "f'{data}'",
    "(" * 5000 + "1" + ")" * 5000,
    "not " * 10000 + "true",
    "-" * 100000 + "1",
    "[" * 3000 + "]" * 3000,
    "1+" * 600 + "1",
    "(" * 300 + "1" + ")" * 300,  # within the length limit: the parser's own nesting limit
    "[" * 300 + "]" * 300,
    "not " * 249 + "true",  # within the length limit: our depth limit
    "-" * 999 + "1",
    "1+" * 499 + "1",
    "data.a\0.__class__",
    "data." + "a" * MAX_EXPRESSION_LENGTH,
]


@pytest.mark.parametrize("text", ESCAPES, ids=lambda text: repr(text[:30]) + f"[{len(text)}]")
def test_known_escapes_are_refused_at_compile_time(text: str) -> None:
    syntax_error(text)


def test_fields_are_read_from_mappings_never_as_attributes() -> None:
    # `keys` and `get` are dict methods; as expression names they are only keys
    assert run("data.keys", {"data": {}}) is None
    assert run("data.get", {"data": {"get": 1}}) == 1

    class Secretive:
        secret = "leaked"

    error = evaluation_error("data.thing.secret", {"data": {"thing": Secretive()}})
    assert "`data.thing` is a value of type Secretive, not a mapping" in error.message


def test_string_repetition_from_data_fails_safely() -> None:
    error = evaluation_error("data.s * data.n", {"data": {"s": "a", "n": 100_000_000}})
    assert "works on numbers only, not text and a number" in error.message


def test_the_package_never_calls_eval_exec_compile_or_getattr() -> None:
    modules = sorted((ROOT / "engine" / "expressions").glob("*.py"))
    assert len(modules) > 1
    called = {
        node.func.id
        for module in modules
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert "Compiler" in called  # the walk sees the calls
    assert not called & {"eval", "exec", "compile", "getattr", "__import__", "vars", "globals"}


# -- evaluation errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "scope", "message"),
    [
        (
            "data.customer.name.first",
            SCOPE,
            "`data.customer.name` is text, not a mapping, so `data.customer.name.first` cannot be read",
        ),
        ("data.missing.name", SCOPE, "`data.missing` has no value (null), so `data.missing.name` cannot be read"),
        ("data.reason[0]", SCOPE, "`data.reason` is text, not a list or a mapping"),
        ("data.parts.sku", SCOPE, "`data.parts` is a list, not a mapping"),
        ("data.x['odd key'].y", {"data": {"x": 1}}, "`data.x` is a number, not a mapping, so `data.x['odd key']`"),
        ("payload.quote > 1", {"data": {}}, "`payload` is not available here"),
        (
            "payload.quote <= 500",
            {"data": {}, "payload": {}},
            "`<=` compares two numbers or two texts, not null and a number, in `payload.quote <= 500`",
        ),
        ("data.reason < data.n", SCOPE, "not text and a number"),
        ("data.in_warranty < 2", SCOPE, "not true/false and a number"),
        ("data.n / data.zero", SCOPE, "division by zero in `data.n / data.zero`"),
        ("data.n % data.zero", SCOPE, "division by zero"),
        ("data.n // data.f", {"data": {"n": 1, "f": 0.0}}, "division by zero"),
        (
            "data.in_warranty + 1",
            SCOPE,
            "`+` adds two numbers or joins two texts or two lists, not true/false and a number",
        ),
        ("data.reason + payload.tags", SCOPE, "not text and a list"),
        ("data.in_warranty * 2", SCOPE, "`*` works on numbers only, not true/false and a number"),
        ("-data.reason", SCOPE, "`-data.reason` needs a number, not text"),
        ("data.big * data.big", {"data": {"big": 2**40}}, "the result of `data.big * data.big` is too large"),
        ("data.big + 1", {"data": {"big": 2**63}}, "too large"),
        ("data.f * 10", {"data": {"f": 1e308}}, "too large"),
        ("data.big / 3", {"data": {"big": 10**400}}, "too large"),
        ("data.s + data.s", {"data": {"s": "a" * 5001}}, "longer than 10,000 characters or items"),
        ("data.l + data.l", {"data": {"l": [0] * 5001}}, "longer than 10,000"),
        ("data.n in data.reason", SCOPE, "only text can be looked for in text, not a number"),
        ("data.n in data.nothing", SCOPE, "`in` needs a list, a text or a mapping on its right, not null"),
        ("data.n not in data.n", SCOPE, "`not in` needs a list"),
        ("payload.tags in data.counts", SCOPE, "a list cannot be a key of a mapping"),
    ],
)
def test_evaluation_errors_say_what_went_wrong(text: str, scope: Mapping[str, object], message: str) -> None:
    assert message in evaluation_error(text, scope).message


def test_evaluation_errors_carry_the_offset_of_the_failing_part() -> None:
    assert evaluation_error("true and data.n / data.zero > 1").offset == 9
    assert evaluation_error("1 < 2 and data.missing.x").offset == 10


def test_limits_are_inclusive() -> None:
    assert run("data.big + 0", {"data": {"big": 2**63}}) == 2**63
    assert len(str(run("data.s + data.s", {"data": {"s": "a" * 5000}}))) == 10_000


def test_short_circuit_skips_what_would_fail() -> None:
    assert run("data.missing != null and data.missing.x > 1") is False
    assert run("data.n > 0 or data.n / data.zero") is True
    assert run("data.n if data.n > 0 else data.n / data.zero") == 7


def test_chained_comparisons_stop_at_the_first_false() -> None:
    assert run("2 < 1 < data.reason") is False  # `1 < data.reason` is never evaluated
    evaluation_error("1 < 2 < data.reason")


def test_failures_inside_the_data_become_evaluation_errors() -> None:
    class Broken(Mapping[str, object]):
        def __getitem__(self, key: str) -> object:
            raise RuntimeError("broken store")

        def __iter__(self) -> Iterator[str]:
            return iter(())

        def __len__(self) -> int:
            return 0

    assert "RuntimeError" in evaluation_error("data.x", {"data": Broken()}).message
    assert "RuntimeError" in evaluation_error("data", Broken()).message
    evaluation_error("data.x", None)  # type: ignore[arg-type]


def test_data_nested_too_deeply_to_compare_fails_safely() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    other: list[object] = []
    for _ in range(100_000):
        other = [other]
    error = evaluation_error("data.a == data.b", {"data": {"a": deep, "b": other}})
    assert "nested too deeply" in error.message


def test_not_a_number_passes_through_arithmetic() -> None:
    assert math.isnan(run("data.x + 1", {"data": {"x": math.nan}}))  # type: ignore[arg-type]


# -- properties ------------------------------------------------------------------------------------

TOKENS = [
    "data",
    "payload",
    "true",
    "null",
    "x",
    "_",
    ".",
    "a",
    "__class__",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "0",
    "1",
    "-1",
    "2.5",
    "1e999",
    "'s'",
    '"',
    "'",
    "f'",
    "b'",
    "+",
    "-",
    "*",
    "**",
    "/",
    "//",
    "%",
    "<",
    "<=",
    "==",
    "!=",
    "=",
    ":=",
    " and ",
    " or ",
    " not ",
    " in ",
    " is ",
    " if ",
    " else ",
    "lambda",
    ":",
    ",",
    "&",
    "|",
    "~",
    "@",
    "\\",
    "\n",
    "\t",
    " ",
    "\0",
    "#",
    "é",
    "\ud800",
    "...",
]
arbitrary_text = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(TOKENS), max_size=30).map("".join),
)


@settings(max_examples=400, deadline=None)
@given(arbitrary_text)
def test_compiling_any_text_returns_or_raises_a_syntax_error(text: str) -> None:
    try:
        expression = compile_expression(text)
    except ExpressionSyntaxError as error:
        assert error.message
        assert error.offset is None or 0 <= error.offset <= len(text)
    else:
        assert isinstance(expression, Expression)
        assert all(path[0] in ("data", "payload") for path in expression.paths)


KEYS = ["a", "b", "n", "l"]
LEAVES = [
    "data.a",
    "data.b",
    "data.a.b",
    "data.n",
    "payload.n",
    "data.l[0]",
    "data.l[-1]",
    "data['a']",
    "data",
    "payload",
    "payload.l",
    "true",
    "false",
    "null",
    "0",
    "1",
    "-1",
    "2.5",
    "'x'",
    "''",
    "[]",
    "[1, 'x']",
]
BINARY = [
    " and ",
    " or ",
    " + ",
    " - ",
    " * ",
    " / ",
    " % ",
    " // ",
    " == ",
    " != ",
    " < ",
    " <= ",
    " > ",
    " >= ",
    " in ",
    " not in ",
]
expressions = st.recursive(
    st.one_of(st.sampled_from(LEAVES), st.integers().map(str), st.text(max_size=3).map(repr)),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(BINARY), inner).map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
        inner.map(lambda e: f"(not {e})"),
        inner.map(lambda e: f"(-{e})"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        st.lists(inner, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
    ),
    max_leaves=10,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    max_leaves=12,
)
roots = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=4)
scopes = st.fixed_dictionaries({"data": roots}, optional={"payload": st.one_of(roots, json_values)})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(expressions, scopes)
def test_evaluating_returns_or_raises_an_evaluation_error(text: str, scope: Mapping[str, object]) -> None:
    try:
        expression = compile_expression(text)
    except ExpressionSyntaxError:
        reject()  # refused for its constant operands, such as `('x' * 1)`
    try:
        expression.evaluate(scope)
    except ExpressionEvaluationError as error:
        assert error.message


# -- refused when compiled, because they could never run, or would run as other text than is shown ------


@pytest.mark.parametrize(
    ("text", "offset", "words"),
    [
        ("1 // 0", 0, "division by zero"),
        ("data.n > 0 and data.n % 0 == 1", 15, "division by zero"),
        ("data.n / -0.0 > 1", 0, "division by zero"),
        ("'a' < 1", 0, "not text and a number"),
        ("data.n > 0 and 2 < 1 < 'a'", 19, "not a number and text"),
        ("1 in 'abc'", 0, "only text can be looked for in text"),
        ("data.n not in 5", 14, "`not in` needs a list, a text or a mapping on its right"),
        ("[1] + 'a' == data.x", 0, "`+` adds two numbers or joins two texts or two lists"),
        ("data.n < 9223372036854775809", 9, "larger than numbers may be"),
        ("data.n < -9223372036854775809", 10, "larger than numbers may be"),
        ("data.n < 1e999", 9, "larger than numbers may be"),
        ("2**62 * 4 > data.n", 0, "powers"),
        ("4611686018427387904 * 4 > data.n", 0, "too large"),
    ],
)
def test_what_can_never_be_evaluated_is_refused_when_compiled(text: str, offset: int, words: str) -> None:
    error = syntax_error(text)
    assert words in error.message
    assert error.offset == offset


def test_the_number_limit_itself_is_allowed() -> None:
    assert run("data.n < 9223372036854775808") is True
    assert run("-9223372036854775808 < data.n") is True


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("ｄａｔａ.n > 1", 0),
        ("ｐａｙｌｏａｄ.quote > 1", 0),
        ("dａta.n > 1", 0),
        ("data.ｎ > 1", 5),
        ("data.ﬁeld > 1", 5),
    ],
)
def test_look_alike_letters_in_names_are_refused(text: str, offset: int) -> None:
    # Python's tokenizer reads names in NFKC form: `ｄａｔａ.n` would run as `data.n`.
    error = syntax_error(text)
    assert "look-alike letters" in error.message
    assert error.offset == offset


def test_look_alike_letters_inside_quotes_stay_text() -> None:
    assert run("data.reason != 'ｄａｔａ'") is True
    assert run("data.客户 == null") is True


@pytest.mark.parametrize("mark", ["\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f", "\u061c"])
def test_marks_that_reorder_text_are_refused(mark: str) -> None:
    text = f"data.reason == 'quality{mark} ' or true"
    error = syntax_error(text)
    assert f"U+{ord(mark):04X}" in error.message and "what is shown is not what runs" in error.message
    assert error.offset == text.index(mark)


@pytest.mark.parametrize("character", ["\x1b", "\x07", "\x85", "\x0b"])
def test_control_characters_are_refused_so_messages_cannot_carry_them(character: str) -> None:
    text = f"data.reason == 'a{character}b'"
    error = syntax_error(text)
    assert f"U+{ord(character):04X}" in error.message and error.offset == text.index(character)
    assert run("data.reason == 'a\\x1bb'") is False  # the escape is the way to mean it


# -- dates, `now` and functions --------------------------------------------------------------------

DAY = datetime.date
NOW_UTC = datetime.datetime(2026, 12, 10, 16, 30, tzinfo=datetime.UTC)  # 11 December in Shanghai
DATES = {("data", "due"): "date", ("data", "received"): "date-time", ("payload", "on"): "date"}
DATED = {
    "data": {
        "due": "2026-12-10",
        "received": "2026-12-01T08:00:00+08:00",
        "items": [{"status": "open", "ok": True}, {"status": "done", "ok": True}, {"status": "open", "ok": False}],
        "flags": [True, 0, "x"],
        "counts": {"a": 1, "b": 2},
    },
    "payload": {"on": "2026-12-11"},
    "now": NOW_UTC,
}
# Shanghai's working week, with 1 January a holiday and Sunday 4 January worked in its stead (调休)
SHANGHAI = ExpressionCalendar(
    zoneinfo.ZoneInfo("Asia/Shanghai"),
    lambda day: (day.weekday() < 5 and day != datetime.date(2027, 1, 1)) or day == datetime.date(2027, 1, 3),
)


def dated(text: str, scope: Mapping[str, object] = DATED) -> object:
    return compile_expression(text, ("data", "payload"), dates=DATES, calendar=SHANGHAI).evaluate(scope)


def dated_error(text: str, scope: Mapping[str, object] = DATED) -> ExpressionEvaluationError:
    expression = compile_expression(text, ("data", "payload"), dates=DATES, calendar=SHANGHAI)
    with pytest.raises(ExpressionEvaluationError) as caught:
        expression.evaluate(scope)
    return caught.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("data.due", DAY(2026, 12, 10)),  # a `format: date` field reads as a date
        ("data.due < now", True),  # now is already 11 December on the calendar's day
        ("data.due == date('2026-12-10')", True),
        ("data.due < '2026-12-11'", True),  # ISO text compares as a date
        ("data.due >= '2026-12-10' and data.due <= '2026-12-10'", True),
        ("payload.on > data.due", True),
        ("data.received < data.due", True),  # a date-time against a date: its day in Shanghai
        ("data.received == '2026-12-01'", True),
        ("data.received == '2026-12-01T00:00:00Z'", True),  # the same moment as 08:00 in Shanghai
        ("data.received < now", True),
        ("data.missing_date == null", True),
        ("days_between(data.due, now)", 1),
        ("days_between(now, data.due)", -1),
        ("days_between(data.received, '2026-12-31')", 30),
        ("days_between(date('2026-02-27'), date('2026-03-01'))", 2),
        # Thu 31 Dec 2026 → Tue 5 Jan 2027: Fri 1 Jan is a holiday, Sun 3 Jan a worked Sunday, Mon, Tue
        ("working_days_between(date('2026-12-31'), date('2027-01-05'))", 3),
        ("working_days_between(date('2027-01-05'), date('2026-12-31'))", -3),
        ("working_days_between(data.due, data.due)", 0),
        ("len(data.items)", 3),
        ("len('abc')", 3),
        ("len(data.counts)", 2),
        ("any(data.flags)", True),
        ("all(data.flags)", False),
        ("count(data.flags)", 2),
        ("all(data.items, 'ok')", False),
        ("any(data.items, 'ok')", True),
        ("count(data.items, 'ok')", 2),
        ("count(data.items, 'status', 'open')", 2),
        ("any(data.items, 'status', 'closed')", False),
        ("all(data.items, 'status', data.items[0].status)", False),
        ("count([], 'x', 1) == 0 and all([])", True),
        ("count(data.items, 'status', 'open') > 1 and len(data.items) < 5", True),
    ],
)
def test_dates_and_functions_evaluate_as_documented(text: str, expected: object) -> None:
    assert dated(text) == expected


def test_working_days_default_to_monday_to_friday_without_a_calendar() -> None:
    assert run("working_days_between(date('2026-12-04'), date('2026-12-07'))", {}) == 1  # Fri → Mon


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("lenn(data.items)", 0, "unknown function `lenn`; the functions are `all`, `any`, `count`, `date`"),
        ("1 + lenn(data.items)", 4, "did you mean `len`?"),
        ("sum(data.items)", 0, "unknown function `sum`"),
        ("__import__('os')", 0, "unknown function `__import__`"),
        ("len(data.a, data.b)", 0, "`len` takes 1 argument, got 2: write `len(data.parts)`"),
        ("days_between(data.a)", 0, "`days_between` takes 2 arguments, got 1"),
        ("any()", 0, "`any` takes 1 to 3 arguments, got 0"),
        ("count(data.a, 'x', 1, 2)", 0, "`count` takes 1 to 3 arguments, got 4"),
        ("len(x=data.a)", 0, "write the arguments of `len` in order, without names"),
        ("len(*data.a)", 4, "`*` unpacking is not allowed"),
        ("len(5)", 4, "`len` counts the items of a list, a text or a mapping, not a number"),
        ("any(data.a, data.b)", 12, "the second argument of `any` names a field of each item"),
        ("any(data.a, '')", 12, "written as quoted text"),
        ("count(3)", 6, "`count` goes through a list, not a number"),
        ("date('2026-02-30')", 5, "`date` needs a date written as 'YYYY-MM-DD'"),
        ("date('tomorrow') < now", 5, "`date` needs a date"),
        ("days_between('soon', now)", 13, "not the text 'soon'"),
        ("days_between(1, now)", 13, "`days_between` needs two dates"),
        ("now.year", 0, "`now` has no fields to read"),
        ("data.items.count(1)", 0, "function calls such as `.count(...)` are not allowed"),
        ("nw > data.a", 0, "did you mean `now`?"),
    ],
)
def test_bad_function_calls_are_refused_at_compile_time_with_their_place(text: str, offset: int, message: str) -> None:
    error = syntax_error(text)
    assert message in error.message
    assert error.offset == offset


@pytest.mark.parametrize(
    ("text", "scope", "message"),
    [
        (
            "data.due < now",
            {"data": {"due": "next week"}, "now": NOW_UTC},
            "`data.due` should hold a date written YYYY-MM-DD, but holds the text 'next week'",
        ),
        (
            "data.due < now",
            {"data": {"due": 20261210}, "now": NOW_UTC},
            "`data.due` should hold a date written YYYY-MM-DD, but holds a number",
        ),
        (
            "data.received < now",
            {"data": {"received": "2026-12-01T08:00:00"}, "now": NOW_UTC},
            "a date-time with its UTC offset",
        ),
        ("data.due < now", {"data": {"due": "2026-12-10"}}, "`now` (the time of the event) is not available here"),
        ("data.due < 3", DATED, "`<` compares two numbers, two texts or two dates, not a date and a number"),
        ("data.due < 'soon'", DATED, "not a date and text"),
        ("len(data.due)", DATED, "`len(data.due)` counts the items of a list, a text or a mapping, not a date"),
        ("len(data.nothing)", DATED, "not null"),
        ("any(data.nothing)", DATED, "`any(data.nothing)` goes through a list, not null"),
        ("any(data.flags, 'ok')", DATED, "item 0 is true/false, not a mapping with `ok`"),
        ("days_between(data.flags, now)", DATED, "needs two dates, not a list"),
        ("working_days_between(date('1900-01-01'), now)", DATED, "more than 3,660 days (ten years) apart"),
        ("date(data.flags)", DATED, "`date(data.flags)` needs a date written 'YYYY-MM-DD', not a list"),
    ],
)
def test_date_and_function_evaluation_errors_name_the_field(
    text: str, scope: Mapping[str, object], message: str
) -> None:
    assert message in dated_error(text, scope).message


def test_a_date_set_into_the_data_is_kept_as_iso_text() -> None:
    assert to_json(dated("data.due")) == "2026-12-10"
    assert to_json(dated("now")) == "2026-12-10T16:30:00+00:00"
    assert to_json(dated("[data.due, 1]")) == ["2026-12-10", 1]


def test_dates_only_come_from_fields_declared_as_dates() -> None:
    # without `dates`, the same text is just text, compared as text
    assert compile_expression("data.due < '2026-12-9'").evaluate(DATED) is True
    assert "not a date and text" in dated_error("data.due < '2026-12-9'").message  # no ISO date


@settings(max_examples=200, deadline=None)
@given(
    st.dates(datetime.date(2020, 1, 1), datetime.date(2030, 12, 31)),
    st.integers(-400, 400),
    st.integers(-400, 400),
)
def test_days_and_working_days_between_add_up_and_reverse(start: datetime.date, one: int, two: int) -> None:
    middle, end = start + datetime.timedelta(days=one), start + datetime.timedelta(days=one + two)
    scope = {"data": {"a": start.isoformat(), "b": middle.isoformat(), "c": end.isoformat()}}
    fields = {("data", "a"): "date", ("data", "b"): "date", ("data", "c"): "date"}

    def value(text: str) -> object:
        return compile_expression(text, dates=fields, calendar=SHANGHAI).evaluate(scope)

    assert value("days_between(data.a, data.c)") == one + two
    assert value("days_between(data.c, data.a)") == -(one + two)
    working = value("working_days_between(data.a, data.c)")
    assert working == value("working_days_between(data.a, data.b)") + value("working_days_between(data.b, data.c)")
    assert working == -value("working_days_between(data.c, data.a)")  # type: ignore[operator]
    assert abs(working) <= abs(one + two)  # type: ignore[arg-type]


FUNCTION_NAMES = ["len", "date", "days_between", "working_days_between", "any", "all", "count"]
dated_expressions = st.recursive(
    st.one_of(
        st.sampled_from([*LEAVES, "now", "'2026-12-01'", "'x'", "date('2026-12-01')"]),
        st.dates().map(lambda day: repr(day.isoformat())),
    ),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(BINARY), inner).map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
        st.tuples(st.sampled_from(FUNCTION_NAMES), st.lists(inner, max_size=4)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
        st.tuples(st.sampled_from(["any", "all", "count"]), inner, st.sampled_from(["'a'", "'n'"]), inner).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]}, {t[3]})"
        ),
    ),
    max_leaves=8,
)
date_values = st.one_of(
    st.dates().map(datetime.date.isoformat),
    st.datetimes(timezones=st.just(datetime.UTC)).map(datetime.datetime.isoformat),
    json_values,
)
dated_scopes = st.fixed_dictionaries(
    {
        "data": st.fixed_dictionaries({}, optional={"a": date_values, "b": date_values, "l": json_values}),
        "now": st.datetimes(timezones=st.just(datetime.UTC)),
    },
    optional={"payload": st.one_of(roots, json_values)},
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(dated_expressions, dated_scopes)
def test_dates_and_functions_return_or_raise_an_expression_error(text: str, scope: Mapping[str, object]) -> None:
    fields = {("data", "a"): "date", ("data", "b"): "date-time"}
    try:
        expression = compile_expression(text, dates=fields, calendar=SHANGHAI)
    except ExpressionSyntaxError as error:
        assert error.offset is None or 0 <= error.offset <= len(text)
        return
    try:
        expression.evaluate(scope)
    except ExpressionEvaluationError as error:
        assert error.message
