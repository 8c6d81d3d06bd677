"""The memory store's work per event does not grow with the case's history: a load hands out the
entries it keeps and parses only the data, a save encodes only the new entries.

Counted, not timed: the entries the store encodes or parses on an event, and every call (Python or
built-in) its ``load`` and ``save`` make, on a short case and on the same case 200 events later.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from store_support import CUSTOMER, MINIMAL, OUT_OF_WARRANTY, SUPERVISOR, at

import engine.stores.memory as memory
from engine.service import Workflows

LONGER = 200


@pytest.fixture
def quoting() -> Iterator[Workflows]:
    """A case waiting in `quote`, where `escalate` keeps it: each escalation one entry longer."""
    with Workflows("memory:") as flows:
        flows.register(MINIMAL)
        flows.start("minimal_repair", CUSTOMER, instance_id="A", at=at())
        flows.fire("A", "submit", CUSTOMER, OUT_OF_WARRANTY, at=at(hours=1))
        yield flows


def escalate(flows: Workflows, n: int) -> None:
    flows.fire("A", "escalate", SUPERVISOR, key=f"escalate-{n}", at=at(hours=2 + n))


def counted(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Count the calls of the memory store's ``name`` (a function it imports)."""
    calls = [0]
    real = getattr(memory, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(memory, name, counting)
    return calls


def test_an_event_encodes_its_new_entry_only_and_a_load_parses_none(quoting, monkeypatch):
    encoded, parsed = counted(monkeypatch, "entry_to_json"), counted(monkeypatch, "entry_from_json")
    for n in range(LONGER):
        escalate(quoting, n)
    assert (encoded[0], parsed[0]) == (LONGER, 0)
    loaded = quoting.get("A")
    assert loaded.version == 2 + LONGER
    assert loaded.facts_cache, "a load hands over what the runtime worked out of the history"


def calls_made(action: Callable[[], Any]) -> int:
    """How many functions ``action`` calls, its own callees' calls included."""
    made = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal made
        if event in ("call", "c_call"):
            made += 1

    sys.setprofile(profile)
    try:
        action()
    finally:
        sys.setprofile(None)
    return made


def test_the_calls_a_load_and_a_save_make_are_as_many_on_a_long_history_as_on_a_short_one(quoting, monkeypatch):
    store = quoting.store
    spent: dict[str, list[int]] = {"load": [], "save": []}
    for name, made in spent.items():
        real = getattr(store, name)

        def profiled(*args: Any, _real: Any = real, _made: list[int] = made) -> Any:
            found: list[Any] = []
            _made.append(calls_made(lambda: found.append(_real(*args))))
            return found[0]

        monkeypatch.setattr(store, name, profiled)
    escalate(quoting, 0)
    short = {name: made[-1] for name, made in spent.items()}
    for n in range(1, LONGER):
        escalate(quoting, n)
    assert quoting.get("A").version == 2 + LONGER
    long = {name: made[-1] for name, made in spent.items()}
    assert long == short
