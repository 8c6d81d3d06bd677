"""PyYAML, imported without compiling the one pattern of its that costs more than the rest of it.

Importing PyYAML compiles ``yaml.reader.Reader.NON_PRINTABLE``, the characters YAML does not allow, as a
negated class whose ranges reach U+10FFFF; Python's pattern compiler marks such a class one code point
at a time, 63,000 of them: 57 M instructions, an eighth of ``procflow validate``. The same characters
named as what the class matches (control characters, lone surrogates, U+FFFE and U+FFFF) compile in a
twelfth of that. ``re.compile`` looks in its cache before compiling, so the equivalent is put there
under PyYAML's pattern text before PyYAML is imported (``tests/test_pyyaml.py`` checks that the two
match the same characters, every one of them). Where a Python keeps that cache otherwise, PyYAML
compiles its own pattern, as it would anyway.

Modules import PyYAML from here (``from engine.pyyaml import yaml``), so whichever imports it first
finds the pattern in the cache. The cache is the whole process's: anyone else's ``re.compile`` of that
very text gets the equivalent pattern too (the same matches; its ``.pattern`` reads differently).
"""

from __future__ import annotations

import re
import sys

YAML_NON_PRINTABLE = "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
"""The pattern as ``yaml/reader.py`` writes it (the characters themselves, not escapes)."""
NON_PRINTABLE = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]"
"""What it matches, named: every code point outside the ranges it negates."""


def _cache_non_printable() -> None:
    cache = getattr(re, "_cache", None)
    if "yaml" not in sys.modules and isinstance(cache, dict):
        cache[(str, YAML_NON_PRINTABLE, 0)] = re.compile(NON_PRINTABLE)


_cache_non_printable()

import yaml  # noqa: E402 - after the cache holds the pattern

__all__ = ["yaml"]
