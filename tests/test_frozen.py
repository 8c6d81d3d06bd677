"""``engine.frozen``: its cheap ways of making frozen dataclasses make exactly what the class makes."""

import copy
import dataclasses
import datetime as dt
import importlib
import inspect
import sys

import pytest
from conftest import ROOT

from engine import frozen_inits, instances
from engine.frozen import _TWINS, _DataclassInfo, frozen, quick_init, quick_maker
from engine.frozen import field as frozen_field
from engine.instances import Entry

QUICK = sorted((cls for cls in _TWINS if cls.__module__ == instances.__name__), key=lambda cls: cls.__name__)


@pytest.mark.parametrize("cls", QUICK, ids=lambda cls: cls.__name__)
def test_a_quick_maker_makes_what_the_class_makes(cls):
    values = [f"{f.name}-value" for f in dataclasses.fields(cls)]
    made, expected = quick_maker(cls)(*values), cls(*values)
    assert type(made) is cls and made == expected and repr(made) == repr(expected) and hash(made) == hash(expected)
    assert [getattr(made, f.name) for f in dataclasses.fields(cls)] == values
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.__setattr__(dataclasses.fields(cls)[0].name, "changed")
    assert dataclasses.replace(made) == made


def test_fields_left_out_take_their_defaults():
    at = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
    made = quick_maker(Entry)(at, "wang", ("customer",), "submit", "apply", "review", {"model": "XK-200"})
    assert made == Entry(at, "wang", ("customer",), "submit", "apply", "review", {"model": "XK-200"})
    assert made.branches == () and made.key is None and made.assignment is None


def test_only_a_quick_init_class_has_a_maker():
    @dataclasses.dataclass(frozen=True, slots=True)
    class Plain:
        x: int

    with pytest.raises(TypeError):
        quick_maker(Plain)
    assert quick_init(Plain)(1) == quick_maker(Plain)(1)


# ``@frozen`` defines what ``@dataclass(frozen=True)`` defines: each case is one class body, made both ways.
_BODY = """
from __future__ import annotations

class Sample:
    name: str
    count: int = 0
    tags: tuple[str, ...] = ()
    cache: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    note: str | None = field(default=None, repr=False)

    @property
    def shown(self) -> str:
        return f"{self.name} x{self.count}"
"""


def _made_both_ways(**options):
    """``Sample`` as ``@frozen(**options)`` makes it, and as ``@dataclass(frozen=True, **options)`` does."""
    made = []
    ways = ((frozen(**options), frozen_field), (dataclasses.dataclass(frozen=True, **options), dataclasses.field))
    for decorate, field in ways:
        namespace = {"field": field, "__name__": __name__}
        exec(_BODY, namespace)  # noqa: S102 - the test's own class body
        made.append(decorate(namespace["Sample"]))
    return made


@pytest.mark.parametrize("options", [{}, {"order": True}, {"slots": True}], ids=["plain", "order", "slots"])
def test_frozen_defines_what_a_frozen_dataclass_does(options):
    ours, theirs = _made_both_ways(**options)
    assert str(inspect.signature(ours)) == str(inspect.signature(theirs))
    assert ours.__doc__ == theirs.__doc__ and ours.__match_args__ == theirs.__match_args__
    assert [(f.name, f.type, f.default, f.default_factory, f.repr, f.compare) for f in dataclasses.fields(ours)] == [
        (f.name, f.type, f.default, f.default_factory, f.repr, f.compare) for f in dataclasses.fields(theirs)
    ]
    assert ours.__dataclass_params__.frozen and dataclasses.is_dataclass(ours)
    assert ("__dict__" in dir(ours)) == ("__dict__" in dir(theirs))
    assert getattr(ours, "__slots__", None) == getattr(theirs, "__slots__", None)
    for cls in (ours, theirs) if not options.get("slots") else ():  # the class attributes dataclass leaves
        assert not hasattr(cls, "cache") and cls.count == 0 and cls.note is None
    a, b = ours("a", 2, ("x",), {"k": 1}), theirs("a", 2, ("x",), {"k": 1})
    assert repr(a) == repr(b) == "Sample(name='a', count=2, tags=('x',))"
    assert a == ours("a", 2, ("x",), {"other": 2}) and a != ours("a", 2, ("x",), {}, "noted") and a != b
    assert hash(a) == hash(b) == hash(("a", 2, ("x",), None)) and a.shown == "a x2"
    assert ours("a").cache == {} and ours("a").cache is not ours("a").cache
    assert dataclasses.replace(a, count=5) == ours("a", 5, ("x",)) and dataclasses.asdict(a) == dataclasses.asdict(b)
    assert a.__replace__(count=5) == ours("a", 5, ("x",))  # what copy.replace calls, from Python 3.13
    assert copy.copy(a) == a and copy.deepcopy(a) == a
    for made in (a, b):
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'count'"):
            made.count = 1
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'name'"):
            del made.name
    if options.get("order"):
        assert ours("a", 1) < ours("a", 2) <= ours("b") and ours("b") > ours("a") >= ours("a")
        with pytest.raises(TypeError):
            assert ours("a") < b
    else:
        with pytest.raises(TypeError):
            assert a < a


def test_frozen_refuses_what_it_does_not_make():
    class Base:
        pass

    class Derived(Base):
        x: int

    class Mutable:
        x: list[int] = []  # noqa: RUF012 - the mistake refused

    class Misordered:
        x: int = 0
        y: int

    for cls, error in ((Derived, TypeError), (Mutable, ValueError), (Misordered, TypeError)):
        with pytest.raises(error):
            frozen(cls)


def test_a_recursive_repr_is_cut_short():
    @frozen
    class Holder:
        items: list[object]

    holder = Holder([])
    holder.items.append(holder)
    assert repr(holder).endswith("Holder(items=[...])")


def test_the_written_templates_are_the_generated_ones():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        written = importlib.import_module("frozen_inits")
    finally:
        sys.path.remove(str(ROOT / "tools"))
    assert (ROOT / "engine" / "frozen_inits.py").read_text(encoding="utf-8") == written.text(), (
        "run python tools/frozen_inits.py"
    )


def test_the_engines_classes_are_made_from_written_templates():
    """None of them compiles its ``__init__`` as its module is imported (``engine.frozen`` says why)."""
    importlib.import_module("engine.processes")
    made = [
        value
        for name, module in list(sys.modules.items())
        if name.startswith("engine.")
        for value in vars(module).values()
        if isinstance(value, type) and type(value.__dict__.get("__dataclass_fields__")) is _DataclassInfo
    ]
    assert len(made) >= 40
    assert {cls.__init__.__code__.co_filename for cls in made} == {frozen_inits.__file__}


def test_a_class_of_more_fields_than_written_is_made_as_dataclass_makes_it():
    """Its template is compiled when it is defined, to the same ``__init__``."""
    count = 30
    body = "".join(f"    f{i}: int\n" for i in range(count - 2))
    body += "    tags: list[int] = field(default_factory=list)\n    last: int = 7\n"
    made = []
    for decorate, field in ((frozen, frozen_field), (dataclasses.dataclass(frozen=True), dataclasses.field)):
        namespace = {"field": field, "__name__": __name__}
        exec(f"class Wide:\n{body}", namespace)  # noqa: S102 - the test's own class body
        made.append(decorate(namespace["Wide"]))
    ours, theirs = made
    assert ours.__init__.__code__.co_filename != frozen_inits.__file__
    assert str(inspect.signature(ours)) == str(inspect.signature(theirs))
    values = list(range(count - 2))
    a, b = ours(*values), theirs(*values)
    assert repr(a) == repr(b) and a.tags == [] and a.tags is not ours(*values).tags and a.last == 7
    assert ours(*values, [1], 2) == ours(*values, tags=[1], last=2) and ours(*values, [1]).tags == [1]
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'f27'"):
        ours(*values[:-1])
