"""PyYAML, imported without compiling its patterns: each is compiled the first time it is used.

Importing PyYAML compiles a dozen regular expressions: the implicit tags of its resolver (booleans,
numbers, timestamps...), its constructor's timestamp, and its pure-Python reader's ``NON_PRINTABLE``
(the characters YAML does not allow). Python's pattern compiler is itself Python, and these cost 15 M
instructions, a twentieth of ``procflow validate``, which uses none of them: the loader folds
libyaml's events into a document itself (``engine.loader``) and resolves scalars by YAML 1.2's rules.
So while PyYAML is imported, a ``re.compile`` called from one of its modules makes a ``LazyPattern``,
which compiles the same pattern with the same flags at its first use and then answers as it does.
Everyone else's ``re.compile`` is Python's own, also during the import, and ``re.compile`` is Python's
own again once PyYAML is imported.

``NON_PRINTABLE`` is compiled in cheaper words when it is used (by PyYAML's pure-Python reader only):
written as PyYAML writes it, a negated class whose ranges reach U+10FFFF, which Python's pattern compiler
marks one code point at a time, 63,000 of them (57 M instructions); named as what the class matches
(control characters, lone surrogates, U+FFFE and U+FFFF) it compiles in a twelfth of that
(``tests/test_pyyaml.py`` checks that the two match the same characters, every one of them).

Modules import PyYAML from here (``from engine.pyyaml import yaml``), so whichever imports it first
imports it this way. Where PyYAML was imported before, it compiled its own patterns, as it would anyway.
"""

from __future__ import annotations

import re
import sys
from typing import Any

YAML_NON_PRINTABLE = "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
"""The pattern as ``yaml/reader.py`` writes it (the characters themselves, not escapes)."""
NON_PRINTABLE = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]"
"""What it matches, named: every code point outside the ranges it negates."""
_IN_CHEAPER_WORDS = {(YAML_NON_PRINTABLE, 0): NON_PRINTABLE}


class LazyPattern:
    """A pattern of PyYAML's, compiled at its first use: then each attribute is the compiled pattern's
    (``match``, ``search``, ``pattern``...), kept on this object so that later uses cost no more."""

    def __init__(self, pattern: str, flags: int) -> None:
        self.source = pattern, flags

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle and the like ask for protocols: this object has none
            raise AttributeError(name)
        pattern, flags = self.source
        value = getattr(re.compile(_IN_CHEAPER_WORDS.get((pattern, flags), pattern), flags), name)
        setattr(self, name, value)
        return value

    def __repr__(self) -> str:
        return f"LazyPattern({self.source[0]!r}, {self.source[1]!r})"


def _compile(pattern: Any, flags: Any = 0) -> Any:
    """``re.compile`` while PyYAML is imported: lazily for its modules, at once for anyone else."""
    if sys._getframe(1).f_globals.get("__name__", "").startswith("yaml.") and type(pattern) is str:
        return LazyPattern(pattern, flags)
    return _python_compile(pattern, flags)


_python_compile = re.compile
setattr(re, "compile", _compile)  # noqa: B010 - not a plain assignment, which mypy refuses for a function
try:
    import yaml
finally:
    setattr(re, "compile", _python_compile)  # noqa: B010

__all__ = ["yaml"]
