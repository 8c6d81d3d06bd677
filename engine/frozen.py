"""Frozen dataclasses that are cheap: to define (``@frozen``) and to make (``@quick_init``, ``quick_maker``).

``@frozen`` defines a class exactly as ``@dataclass(frozen=True)`` would: the same ``__init__`` (signature,
defaults, ``field(default_factory=...)``), ``repr``, equality, hash, ordering with ``order=True``, slots with
``slots=True``, ``__match_args__`` and ``FrozenInstanceError`` on assignment; ``dataclasses.fields``, ``replace``,
``asdict`` and ``is_dataclass`` take it as a dataclass. It is cheaper to define: ``dataclass`` compiles six
functions per frozen class from source (about 40 µs each on CPython 3.11) and imports ``inspect`` (with ``ast``,
``dis`` and ``tokenize``); ``@frozen`` makes the other methods as closures, ``__init__`` from a template of the
class's shape with the field names put in (``_init``), and imports ``dataclasses`` only when something asks for
the fields. The templates are written out in ``engine.frozen_inits``, so that they come compiled from Python's
bytecode cache: compiling them at import cost more than the rest of defining the classes (11 M instructions
of ``procflow validate``, which defines forty of these classes on every start).

``@quick_init`` (under ``@dataclass(frozen=True, slots=True)``) gives a class an ``__init__`` of the same
signature that lends the new object, for the time of its making, a twin class with the same slots and no
``__setattr__`` of its own, stores each field as a plain attribute, and gives it its class back. A frozen
dataclass's own ``__init__`` sets every field through ``object.__setattr__``, one call per field (an ``Entry``'s
23 fields cost three times the rest of its making). The object is then exactly what the dataclass's ``__init__``
would have made: same type, same fields, frozen; equality, hashing, ``repr`` and ``dataclasses.replace`` are the
dataclass's.

Calling the class still costs a type call and an ``__init__`` run outside the interpreter's frame, and
each keyword argument costs more than storing a field (about 600 instructions on CPython 3.11). For the
few objects made on every event, ``quick_maker(cls)`` gives a plain function taking the fields in order,
positionally, that makes the object as its twin and gives it its class once: the same object again, at
about a third of the cost of ``cls(field=...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from types import CodeType, FunctionType
from typing import Any, TypeVar, cast, dataclass_transform, overload

from engine import frozen_inits

_T = TypeVar("_T")

_MISSING: Any = type("_MissingType", (), {"__repr__": lambda self: "MISSING"})()
"""No default given (``dataclasses.MISSING`` without importing ``dataclasses``)."""
_FACTORY: Any = type("_HasDefaultFactory", (), {"__repr__": lambda self: "<factory>"})()
"""The default of a parameter whose field has a ``default_factory``, as ``dataclass`` shows it."""


class _Field:
    """What ``field()`` says of one field of a ``@frozen`` class."""

    __slots__ = ("compare", "default", "default_factory", "repr")

    def __init__(self, default: Any, default_factory: Any, repr: bool, compare: bool):
        self.default, self.default_factory, self.repr, self.compare = default, default_factory, repr, compare


def field(
    *, default: Any = _MISSING, default_factory: Callable[[], Any] = _MISSING, repr: bool = True, compare: bool = True
) -> Any:
    """``dataclasses.field`` for a ``@frozen`` class: a default or a ``default_factory``, and whether the
    field is shown by ``repr`` and compared (and hashed)."""
    if default is not _MISSING and default_factory is not _MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return _Field(default, default_factory, repr, compare)


@overload
def frozen(cls: type[_T], /) -> type[_T]: ...
@overload
def frozen(*, order: bool = False, slots: bool = False) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def frozen(cls: type[_T] | None = None, /, *, order: bool = False, slots: bool = False) -> Any:
    """``@dataclass(frozen=True, order=order, slots=slots)``, cheaper to define (the module's docstring says how)."""

    def define(cls: type[_T]) -> type[_T]:
        return _define(cls, order, slots)

    return define if cls is None else define(cls)


def _define(cls: type[_T], order: bool, slots: bool) -> type[_T]:
    if cls.__bases__ != (object,) or "__post_init__" in cls.__dict__:
        raise TypeError(f"@frozen makes classes with no base class and no __post_init__: {cls.__name__}")
    fields: dict[str, _Field] = {}
    annotations: dict[str, Any] = cls.__dict__.get("__annotations__", {})
    for name, kind in annotations.items():
        if isinstance(kind, str) and kind.split("[")[0].rsplit(".")[-1] in ("ClassVar", "InitVar"):
            raise TypeError(f"@frozen takes no ClassVar or InitVar: {cls.__name__}.{name}")
        given = cls.__dict__.get(name, _MISSING)
        spec = given if isinstance(given, _Field) else _Field(given, _MISSING, True, True)
        if spec.default is not _MISSING and type(spec.default).__hash__ is None:
            raise ValueError(
                f"mutable default {type(spec.default)} for field {name} is not allowed: use default_factory"
            )
        if isinstance(given, _Field):  # as dataclass leaves it: the default as a class attribute, or nothing
            if spec.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, spec.default)
        fields[name] = spec
    for name in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
        if name in cls.__dict__:
            raise TypeError(f"@frozen makes {name} itself: {cls.__name__} defines it")
    if slots:
        cls = _slotted(cls, tuple(fields))
    names = tuple(fields)
    compared = _values_of(tuple(n for n, f in fields.items() if f.compare))
    methods: dict[str, Any] = {
        "__init__": _init(cls, fields, annotations),
        "__repr__": _repr(tuple(n for n, f in fields.items() if f.repr)),
        "__eq__": _compare(cls, compared, "__eq__", lambda mine, theirs: mine == theirs),
        "__hash__": lambda self: hash(compared(self)),
        "__match_args__": names,
        "__dataclass_fields__": _DataclassInfo("__dataclass_fields__", fields, annotations, order),
        "__dataclass_params__": _DataclassInfo("__dataclass_params__", fields, annotations, order),
    }
    methods["__setattr__"], methods["__delattr__"] = _refusals(cls, frozenset(names))
    methods["__replace__"] = _replace  # copy.replace, from Python 3.13, as dataclass defines it there
    if order:
        methods["__lt__"] = _compare(cls, compared, "__lt__", lambda mine, theirs: mine < theirs)
        methods["__le__"] = _compare(cls, compared, "__le__", lambda mine, theirs: mine <= theirs)
        methods["__gt__"] = _compare(cls, compared, "__gt__", lambda mine, theirs: mine > theirs)
        methods["__ge__"] = _compare(cls, compared, "__ge__", lambda mine, theirs: mine >= theirs)
    if slots:
        methods["__getstate__"] = lambda self: [getattr(self, n) for n in names]
        methods["__setstate__"] = _set_state(names)
    for name, method in methods.items():
        if callable(method) and hasattr(method, "__qualname__"):
            method.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, method)
    if cls.__doc__ is None:  # as dataclass writes it, from the signature
        cls.__doc__ = f"{cls.__name__}({', '.join(_parameter(n, annotations[n], f) for n, f in fields.items())})"
    return cls


def _replace(self: Any, /, **changes: Any) -> Any:
    import dataclasses  # only when a copy is asked for (see the module docstring)

    return dataclasses.replace(self, **changes)


def _slotted(cls: type[_T], names: tuple[str, ...]) -> type[_T]:
    """The class again, with a slot for each field and no ``__dict__`` (as ``dataclass(slots=True)`` makes it)."""
    namespace = {k: v for k, v in cls.__dict__.items() if k not in (*names, "__dict__", "__weakref__")}
    namespace["__slots__"] = names
    slotted = cast("type[_T]", type(cls.__name__, cls.__bases__, namespace))
    slotted.__qualname__ = cls.__qualname__
    return slotted


def _init(cls: type, fields: dict[str, _Field], annotations: dict[str, Any]) -> Callable[..., None]:
    """``dataclass``'s ``__init__`` for a frozen class: each field set through ``object.__setattr__``, those
    left out given their default or their ``default_factory()``.

    Made from the template of the same shape (how many fields, whether any has a factory) with the field
    names put in: a template compiled once, and rarely at all (``engine.frozen_inits`` holds them)."""
    names = tuple(fields)
    factories = tuple(None if spec.default_factory is _MISSING else spec.default_factory for spec in fields.values())
    defaults: list[Any] = []
    for name, spec in fields.items():
        if spec.default is not _MISSING or spec.default_factory is not _MISSING:
            defaults.append(_FACTORY if spec.default_factory is not _MISSING else spec.default)
        elif defaults:
            raise TypeError(f"non-default argument {name!r} follows default argument")
    template = _template(len(names), any(f is not None for f in factories))
    placeholders = [f"_{i}" for i in range(len(names))]
    renamed = dict(zip(placeholders, names, strict=True))
    code = template.replace(
        co_name="__init__",
        co_varnames=("self", *names),
        co_consts=tuple(renamed.get(c, c) if type(c) is str else c for c in template.co_consts),
        co_qualname=f"{cls.__qualname__}.__init__",
    )
    namespace = {"_set": object.__setattr__, "_FACTORY": _FACTORY, "_factories": factories}
    namespace["__builtins__"] = __builtins__
    init: Callable[..., None] = FunctionType(code, namespace, "__init__", tuple(defaults) or None)
    init.__annotations__ = {**{name: annotations[name] for name in fields}, "return": None}
    init.__module__ = cls.__module__
    return init


_TEMPLATES: dict[tuple[int, bool], CodeType] = {}
"""The code of ``__init__`` by shape: how many fields, and whether any has a ``default_factory``."""


def _template(count: int, factories: bool) -> CodeType:
    code = _TEMPLATES.get((count, factories))
    if code is None:
        written = getattr(frozen_inits, template_name(count, factories), None)
        if written is None:  # more fields than the written templates take: compiled here
            namespace: dict[str, Any] = {"Any": Any}
            exec(template_source(count, factories), namespace)  # noqa: S102 - placeholders only, no names of ours
            written = namespace[template_name(count, factories)]
        code = _TEMPLATES[count, factories] = written.__code__
    return code


def template_name(count: int, factories: bool) -> str:
    return f"{'factories' if factories else 'plain'}_{count}"


def template_source(count: int, factories: bool) -> str:
    """The template of ``__init__`` for ``count`` fields, the ``i``th stored as ``_i``: with ``factories``,
    a field given ``_FACTORY`` (its default, when it has a factory) stored as ``_factories[i]()``."""
    parameters = "".join(f"    _{i}: Any,\n" for i in range(count))
    body = "".join(
        f'    _set(self, "_{i}", _factories[{i}]() if _{i} is _FACTORY else _{i})\n'
        if factories
        else f'    _set(self, "_{i}", _{i})\n'
        for i in range(count)
    )
    body = body or "    pass\n"
    return f"def {template_name(count, factories)}(\n    self: Any,\n{parameters}) -> None:\n{body}"


def _values_of(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The fields ``names`` of an object, as a tuple (as ``dataclass``'s methods compare and hash them)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda value: (one(value),)
    return lambda value: ()


def _compare(cls: type, values: Callable[[Any], tuple[Any, ...]], name: str, test: Callable[[Any, Any], Any]) -> Any:
    def compare(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return test(values(self), values(other))
        return NotImplemented

    compare.__name__ = name
    return compare


_REPR_RUNNING: set[tuple[int, int]] = set()
"""The objects whose ``repr`` is being made, by thread: one met again inside its own is shown as ``...``."""


def _repr(shown: tuple[str, ...]) -> Callable[[Any], str]:
    import _thread

    def __repr__(self: Any) -> str:
        key = id(self), _thread.get_ident()
        if key in _REPR_RUNNING:
            return "..."
        _REPR_RUNNING.add(key)
        try:
            return f"{self.__class__.__qualname__}({', '.join([f'{n}={getattr(self, n)!r}' for n in shown])})"
        finally:
            _REPR_RUNNING.discard(key)

    return __repr__


def _refusals(cls: type[Any], names: frozenset[str]) -> tuple[Callable[..., None], Callable[..., None]]:
    """``__setattr__`` and ``__delattr__`` refusing the fields (and, on the class itself, every attribute)."""

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            from dataclasses import FrozenInstanceError

            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            from dataclasses import FrozenInstanceError

            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __setattr__, __delattr__


def _set_state(names: tuple[str, ...]) -> Callable[[Any, list[Any]], None]:
    def __setstate__(self: Any, state: list[Any]) -> None:
        for name, value in zip(names, state, strict=True):
            object.__setattr__(self, name, value)

    return __setstate__


def _parameter(name: str, annotation: Any, spec: _Field) -> str:
    """A parameter of ``__init__`` as ``inspect.signature`` shows it."""
    shown = f"{name}: {annotation!r}" if isinstance(annotation, str) else f"{name}: {annotation}"
    if spec.default_factory is not _MISSING:
        return f"{shown} = <factory>"
    return shown if spec.default is _MISSING else f"{shown} = {spec.default!r}"


class _DataclassInfo:
    """``__dataclass_fields__`` or ``__dataclass_params__``, made the first time either is read (by
    ``dataclasses.fields``, ``replace``, ``asdict``): taken from a ``dataclass`` of the same fields, so that
    ``dataclasses`` finds what it would have made itself."""

    def __init__(self, name: str, fields: dict[str, _Field], annotations: dict[str, Any], order: bool):
        self._name, self._fields, self._annotations, self._order = name, fields, annotations, order

    def __get__(self, instance: object, owner: type) -> Any:
        import dataclasses

        namespace: dict[str, Any] = {
            "__annotations__": {name: self._annotations[name] for name in self._fields},
            "__module__": owner.__module__,
            "__qualname__": owner.__qualname__,
        }
        for name, spec in self._fields.items():
            namespace[name] = dataclasses.field(
                default=dataclasses.MISSING if spec.default is _MISSING else spec.default,
                default_factory=dataclasses.MISSING if spec.default_factory is _MISSING else spec.default_factory,
                repr=spec.repr,
                compare=spec.compare,
            )
        made: type[Any] = dataclasses.dataclass(frozen=True, order=self._order)(type(owner.__name__, (), namespace))
        type.__setattr__(owner, "__dataclass_fields__", made.__dataclass_fields__)
        type.__setattr__(owner, "__dataclass_params__", made.__dataclass_params__)
        return getattr(owner, self._name)


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
    import dataclasses

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
    (those with defaults may be left out): exactly what ``cls(...)`` makes, without calling ``cls`` (the twin is
    made by calling it: it has no ``__init__``, so that runs no Python frame and parses no arguments, as
    ``object.__new__(twin)`` would)."""
    if cls not in _TWINS:
        raise TypeError(f"quick_maker needs a quick_init class: {cls.__name__}")
    maker: Callable[..., _T] = _generated(cls, f"make_{cls.__name__}", "", "    self = _twin()\n", "    return self\n")
    maker.__doc__ = f"A new ``{cls.__name__}`` from its fields in order."
    return maker


def _generated(cls: type, name: str, first: str, lend: str, end: str) -> Any:
    """A function of ``cls``'s fields (after ``first``) that lends ``self`` the twin (``lend``), stores each
    field, gives ``self`` its class back, then runs ``end``."""
    import dataclasses

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
        "_twin": _TWINS[cls],
        "_cls": cls,
        **defaults,
    }
    exec(source, namespace)  # noqa: S102 - generated from the dataclass's own field names, as dataclasses does
    return namespace[name]
