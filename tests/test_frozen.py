"""``engine.frozen``: its cheap ways of making frozen dataclasses make exactly what the class makes."""

import dataclasses
import datetime as dt

import pytest

from engine import instances
from engine.frozen import _TWINS, quick_init, quick_maker
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
