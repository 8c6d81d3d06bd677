"""Regular expressions a definition brings (``pattern``, ``patternProperties``, the ``regex`` format),
run by RE2, whose matching time grows in step with the text: no payload can make a pattern backtrack
for minutes. RE2 leaves out the constructs that need backtracking (backreferences, lookaround,
possessive repetition), so a pattern using them is refused when the definition loads, in words.

Text is matched as UTF-8; a lone surrogate (which JSON allows) is passed through rather than refused,
so matching never fails, it only answers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jsonschema
    import re2

Search = Callable[[str], bool]
"""True when the pattern matches somewhere in the text (JSON Schema patterns are not anchored)."""

# RE2's messages, by their opening words, turned into what to write instead.
_CONSTRUCTS = (
    ("invalid perl operator: (?=", "lookahead `(?=…)` is not supported"),
    ("invalid perl operator: (?!", "negative lookahead `(?!…)` is not supported"),
    ("invalid perl operator: (?<=", "lookbehind `(?<=…)` is not supported"),
    ("invalid perl operator: (?<!", "negative lookbehind `(?<!…)` is not supported"),
    ("invalid perl operator: (?#", "comments `(?#…)` are not supported"),
    ("invalid perl operator: (?>", "atomic groups `(?>…)` are not supported"),
    ("bad repetition operator: *+", "possessive repetition (`*+`, `++`, `?+`) is not supported"),
    ("bad repetition operator: ++", "possessive repetition (`*+`, `++`, `?+`) is not supported"),
    ("bad repetition operator: ?+", "possessive repetition (`*+`, `++`, `?+`) is not supported"),
    ("invalid repetition size", "a repetition may count to 1000 at most, nested counts multiplied"),
    ("invalid escape sequence: \\Z", "`\\Z` is not supported; write `$` for the end of the text"),
    ("pattern too large", "the pattern is too large to run in bounded memory; simplify it"),
)
_BACKREFERENCE = "backreferences such as `\\1` are not supported"


@cache
def formats() -> jsonschema.FormatChecker:
    """The formats a definition's schemas check: those of draft 2020-12, with ``regex`` meaning a pattern
    RE2 can run (Python's own ``re.compile`` recurses on deeply nested groups, and would run backtracking
    patterns later). Built at the first use: importing jsonschema costs more than the rest of validating
    a valid definition, which needs none of it (``engine.quick_checks``)."""
    import jsonschema

    checker = jsonschema.FormatChecker(())
    checker.checkers = {**jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers, "regex": (is_regex, ())}
    return checker


class PatternNotSupported(Exception):
    """A pattern RE2 cannot run; ``str()`` says why and what is supported."""


def pattern_search(pattern: str) -> Search:
    """A search for ``pattern``, compiled once; ``PatternNotSupported`` when RE2 cannot run it."""
    return _compiled(pattern)


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used, in words, or ``None`` when it can."""
    try:
        _compiled(pattern)
    except PatternNotSupported as exc:
        return str(exc)
    return None


def is_regex(value: object) -> bool:
    """The ``regex`` format: text that RE2 can compile (non-text values are not this check's concern)."""
    return not isinstance(value, str) or pattern_problem(value) is None


@cache
def _options() -> re2.Options:
    import re2  # at the first pattern, not with the engine: most definitions bring none

    options = re2.Options()
    options.log_errors = False  # RE2 writes each refused pattern to stderr otherwise
    options.max_mem = 8 << 20  # the compiled program's memory, RE2's default, written down
    return options


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> Search:
    import re2

    try:
        regexp = re2.compile(_utf8(pattern), _options())
    except re2.error as exc:
        raise PatternNotSupported(_words(pattern, _reason(exc))) from None
    search = regexp.search
    return lambda text: search(_utf8(text)) is not None


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _reason(exc: re2.error) -> str:
    raw = exc.args[0] if exc.args else ""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _words(pattern: str, reason: str) -> str:
    shown = pattern if len(pattern) <= 60 else pattern[:57] + "…"
    words = next((said for opening, said in _CONSTRUCTS if reason.startswith(opening)), None)
    if words is None and reason.startswith("invalid escape sequence: \\") and reason[-1:].isdigit():
        words = _BACKREFERENCE
    if words is None:
        words = f"it is not a regular expression RE2 can run ({reason})"
    return (
        f"the pattern `{shown}` cannot be used: {words}. Patterns run with RE2, in time proportional to "
        "the text: write it without backreferences, lookaround or possessive repetition"
    )
