"""The shared machine moves an instance only where the gate admits a transition, whoever calls it."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.compiler import CompiledBranch, CompiledProcess, CompiledTransition
from engine.processes import load_process

PROCESSES = sorted(Path(__file__).resolve().parents[1].glob("processes/*.yaml"))


class _Refusing:
    def admit(self, candidate: CompiledTransition) -> bool:
        return False

    def take(self, branch: CompiledBranch) -> bool:
        return False


class _Admitting(_Refusing):
    def admit(self, candidate: CompiledTransition) -> bool:
        return True


@pytest.mark.parametrize("path", PROCESSES, ids=lambda p: p.stem)
def test_a_transition_the_gate_refuses_is_not_taken_even_when_the_caller_names_none(path):
    compiled = CompiledProcess(load_process(path))
    singles = [(state, trigger) for (state, trigger) in compiled.only]
    assert singles, "each shipped procedure has triggers with one transition"
    for state, trigger in singles:
        assert compiled.fire(state, trigger, _Refusing(), None) is None
        assert compiled.fire(state, trigger, _Refusing(), compiled.only[(state, trigger)]) is None
        admitted = compiled.fire(state, trigger, _Admitting(), None)
        assert admitted == compiled.fire(state, trigger, _Admitting(), compiled.only[(state, trigger)])
        assert admitted is not None
