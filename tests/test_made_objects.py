"""Objects the event path makes without an ``__init__`` of their own (to spare a Python frame each)
have every field set, on every path the shipped scenarios take: a field forgotten by its maker would
fail only where it is read."""

from __future__ import annotations

import gc

import pytest
from conftest import PROCESSES

import engine.attempt as attempt_module
from engine import Runtime, load_process
from engine.attempt import Attempt
from engine.clocks import ClockRun
from engine.history_facts import Actors, Clocks, Loops, Records
from engine.scenarios import load_scenario, play

MADE_BY_HAND = (Attempt, ClockRun, Clocks, Loops, Actors, Records)


def _slots(kind: type) -> list[str]:
    return [name for klass in kind.__mro__ for name in getattr(klass, "__slots__", ())]


def _unset(obj: object) -> list[str]:
    return [name for name in _slots(type(obj)) if not hasattr(obj, name)]


@pytest.mark.parametrize("name", ["return_repair", "complaint", "exchange", "qc_signoff", "sales_service"])
def test_every_field_of_an_object_made_without_init_is_set(name, monkeypatch):
    made: list[object] = []
    begin = Attempt.begin

    def watched_begin(*args: object, **kwargs: object) -> Attempt:
        attempt = begin(*args, **kwargs)  # type: ignore[arg-type]
        made.append(attempt)
        return attempt

    monkeypatch.setattr(attempt_module.Attempt, "begin", staticmethod(watched_begin))
    played = play(
        Runtime(load_process(PROCESSES / f"{name}.yaml")), load_scenario(PROCESSES / "scenarios" / f"{name}.yaml")
    )
    assert played.ok
    made += [obj for obj in gc.get_objects() if type(obj) in MADE_BY_HAND]
    assert {type(obj) for obj in made} >= {Attempt, ClockRun}
    assert [(type(obj).__name__, _unset(obj)) for obj in made if _unset(obj)] == []
