"""PyYAML, imported without compiling its patterns (each is compiled the first time it is used), and
without the parts of it that the loader does not use (imported at the first use of one of them).

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

The loader reads libyaml's events (``EventParser``) and PyYAML's error and event classes; importing
the package runs its ``__init__``, which imports the rest (loaders, dumpers, the resolver: 7M
instructions more). So the ``yaml`` module is made from its spec without running ``__init__``, its parts
the parser needs are imported into it, and ``__init__`` runs at the first look-up of any other name
(the module's ``__getattr__``): ``yaml.safe_load``, ``from yaml import SafeLoader``, whoever asks, in
this process; after that the module is what ``import yaml`` makes.

Modules import PyYAML from here (``from engine.pyyaml import yaml``), so whichever imports it first
imports it this way. Where PyYAML was imported before, it is taken as it is: whole, its own patterns
compiled, as they would be anyway.
"""

from __future__ import annotations

import _thread
import importlib
import importlib.util
import re
import sys
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

_T = TypeVar("_T")

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


def _with_lazy_patterns(run: Callable[[], _T]) -> _T:
    setattr(re, "compile", _compile)  # noqa: B010 - not a plain assignment, which mypy refuses for a function
    try:
        return run()
    finally:
        setattr(re, "compile", _python_compile)  # noqa: B010


_python_compile = re.compile

EVENT_PARSER_PARTS = (
    *("error", "tokens", "events", "nodes", "reader", "scanner", "parser", "composer"),
    *("constructor", "emitter", "serializer", "representer", "_yaml"),
)
"""The modules libyaml's parser (``yaml._yaml``) reads its classes from as it is imported."""


def _import_event_parser() -> ModuleType:
    """The ``yaml`` package with the parts libyaml's parser needs, its own ``__init__`` run at the first use
    of anything else (the module's ``__getattr__``): the loader reads events only, and ``__init__`` imports
    the rest of PyYAML (its loaders, dumpers and resolver), 7M instructions of ``procflow validate``."""
    imported = sys.modules.get("yaml")
    spec = importlib.util.find_spec("yaml") if imported is None else None
    if imported is not None or spec is None or spec.loader is None:
        import yaml  # imported already, or not a package this can take apart: as it comes

        return yaml
    package = importlib.util.module_from_spec(spec)
    sys.modules["yaml"] = package
    try:
        for part in EVENT_PARSER_PARTS:
            importlib.import_module(f"yaml.{part}")
    except ImportError:  # no libyaml: the pure-Python parser, which the whole package holds
        spec.loader.exec_module(package)
        return package
    except BaseException:
        del sys.modules["yaml"]
        raise
    loader = spec.loader
    completing = _thread.allocate_lock()

    def rest_of_pyyaml(name: str) -> Any:
        with completing:
            if "__getattr__" in vars(package):  # not run yet: as `import yaml` runs it
                del package.__getattr__
                try:
                    _with_lazy_patterns(lambda: loader.exec_module(package))
                except BaseException:
                    package.__getattr__ = rest_of_pyyaml  # type: ignore[method-assign]
                    raise
        return getattr(package, name)

    package.__getattr__ = rest_of_pyyaml  # type: ignore[method-assign]
    return package


if TYPE_CHECKING:
    import yaml
else:
    yaml = _with_lazy_patterns(_import_event_parser)
EventParser: Any = getattr(sys.modules.get("yaml._yaml"), "CParser", None) or yaml.SafeLoader
"""libyaml's parser where there is one (the events alone), else PyYAML's own (``SafeLoader``): what the
loader reads events from."""

__all__ = ["EventParser", "yaml"]
