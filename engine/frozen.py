"""Frozen, slotted dataclasses that are cheap to make: ``@quick_init`` under ``@dataclass(frozen=True, slots=True)``.

A frozen dataclass's own ``__init__`` sets every field through ``object.__setattr__``, one call per field
(an ``Entry``'s 23 fields cost three times the rest of its making). ``quick_init`` gives the class an
``__init__`` of the same signature that lends the new object, for the time of its making, a twin class
with the same slots and no ``__setattr__`` of its own, stores each field as a plain attribute, and gives
it its class back. The object is then exactly what the dataclass's ``__init__`` would have made: same
type, same fields, frozen; equality, hashing, ``repr`` and ``dataclasses.replace`` are the dataclass's.

Calling the class still costs a type call and an ``__init__`` run outside the interpreter's frame, and
each keyword argument costs more than storing a field (about 600 instructions on CPython 3.11). For the
few objects made on every event, ``quick_maker(cls)`` gives a plain function taking the fields in order,
positionally, that makes the object as its twin and gives it its class once: the same object again, at
about a third of the cost of ``cls(field=...)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")

_TWINS: dict[type, type] = {}
"""Each ``quick_init`` class's twin: its slots, without the frozen ``__setattr__``."""


def quick_init(cls: type[_T]) -> type[_T]:
    """``cls`` (a frozen dataclass with slots, no ``default_factory``, no ``__post_init__``) with the cheap
    ``__init__``; anything else is refused at import, so the shortcut can never change what is made."""
    params = getattr(cls, "__dataclass_params__", None)
    slots = cls.__dict__.get("__slots__")
    if (
        params is None
        or not params.frozen
        or slots is None
        or cls.__bases__ != (object,)
        or hasattr(cls, "__post_init__")
    ):
        raise TypeError(f"quick_init needs a frozen dataclass with slots and no base or __post_init__: {cls.__name__}")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if any(not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING for f in fields):
        raise TypeError(f"quick_init makes only plain fields, no default_factory or keyword-only ({cls.__name__})")
    twin = type(f"_{cls.__name__}Making", (), {"__slots__": slots})
    _TWINS[cls] = twin
    # The new object is lent the twin by object.__setattr__ (its own class refuses every assignment), and
    # handed back by a plain assignment, which the twin allows: a call fewer.
    init = _generated(cls, "__init__", "self, ", "    _set(self, '__class__', _twin)\n", "")
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def quick_maker(cls: type[_T]) -> Callable[..., _T]:
    """A function making a ``cls`` (a ``quick_init`` class) from its fields given in order, positionally
    (those with defaults may be left out): exactly what ``cls(...)`` makes, without the type call."""
    if cls not in _TWINS:
        raise TypeError(f"quick_maker needs a quick_init class: {cls.__name__}")
    maker: Callable[..., _T] = _generated(
        cls, f"make_{cls.__name__}", "", "    self = _new(_twin)\n", "    return self\n"
    )
    maker.__doc__ = f"A new ``{cls.__name__}`` from its fields in order."
    return maker


def _generated(cls: type, name: str, first: str, lend: str, end: str) -> Any:
    """A function of ``cls``'s fields (after ``first``) that lends ``self`` the twin (``lend``), stores each
    field, gives ``self`` its class back, then runs ``end``."""
    fields = dataclasses.fields(cls)
    defaults: dict[str, Any] = {}
    parameters = []
    for f in fields:
        if f.default is dataclasses.MISSING:
            parameters.append(f.name)
        else:
            defaults[f"_default_{f.name}"] = f.default
            parameters.append(f"{f.name}=_default_{f.name}")
    body = "".join(f"    self.{f.name} = {f.name}\n" for f in fields)
    source = f"def {name}({first}{', '.join(parameters)}):\n{lend}{body}    self.__class__ = _cls\n{end}"
    namespace: dict[str, Any] = {
        "_set": object.__setattr__,
        "_new": object.__new__,
        "_twin": _TWINS[cls],
        "_cls": cls,
        **defaults,
    }
    exec(source, namespace)  # noqa: S102 - generated from the dataclass's own field names, as dataclasses does
    return namespace[name]
