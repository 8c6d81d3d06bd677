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
import functools
import io
import re
import warnings
from collections.abc import Collection, Mapping

from engine.errors import ExpressionEvaluationError, ExpressionSyntaxError
from engine.expressions.compiler import Compiler
from engine.expressions.values import (
    MAX_DEPTH,
    MAX_EXPRESSION_LENGTH,
    MAX_NUMBER,
    MAX_SEQUENCE_LENGTH,
    NOW,
    WEEKDAYS_UTC,
    ExpressionCalendar,
    Run,
    Scope,
    kind_of,
    to_json,
)
from engine.frozen import field, frozen

__all__ = [
    "MAX_DEPTH",
    "MAX_EXPRESSION_LENGTH",
    "MAX_NUMBER",
    "MAX_SEQUENCE_LENGTH",
    "NOW",
    "Expression",
    "ExpressionCalendar",
    "Scope",
    "compile_expression",
    "to_json",
]


@frozen
class Expression:
    """A compiled expression. Build it with ``compile_expression``.

    ``paths`` holds every name chain the expression reads, such as ``("data", "customer", "name")``;
    a chain stops at its first list index (``data.parts[0].name`` gives ``("data", "parts")``)
    because what follows depends on the element.
    """

    text: str
    paths: frozenset[tuple[str, ...]]
    _run: Run = field(repr=False, compare=False)

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
        raise ExpressionSyntaxError(f"an expression must be text, not {kind_of(text)}")
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
    hidden = None if text.isascii() else _bidi_controls().search(text)
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
    tree = _checked_tree(source, indent)
    compiler = Compiler(
        source, indent, frozenset([roots] if isinstance(roots, str) else roots), dates or {}, calendar or WEEKDAYS_UTC
    )
    run = compiler.compile(tree.body, 1)
    return Expression(text, frozenset(compiler.paths), run)


@functools.lru_cache(maxsize=4096)
def _checked_tree(source: str, indent: int) -> ast.Expression:
    """The parsed text, refused if it hides a look-alike name. Kept per text: the checks and the compiler
    of a definition compile each condition, and the compiler only reads the tree."""
    tree = _parse(source, indent)
    _refuse_look_alike_names(source, indent)
    return tree


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


@functools.cache
def _bidi_controls() -> re.Pattern[str]:
    """Marks that change the order in which text is shown (the "Trojan Source" characters): compiled
    for the first expression that is not ASCII, as the class of these few costs 2M instructions."""
    return re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _refuse_look_alike_names(source: str, indent: int) -> None:
    """Python reads names in their NFKC form, so ``ｄａｔａ`` (full-width letters) would run as ``data``."""
    if source.isascii():
        return
    import tokenize  # here: most expressions are ASCII, and it costs start-up time
    import unicodedata

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
