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


def test_a_shared_transition_is_compiled_once_for_every_state_it_leaves():
    from benchmarks.generated import definition_text
    from engine.processes import load_process_text

    compiled = CompiledProcess(load_process_text(definition_text(30), "generated.yaml"))
    shared = [c for candidates in compiled.transitions.values() for c in candidates if c.transition.shared]
    assert len({c.source for c in shared}) == len(shared) > 20  # one for each state `cancel` leaves
    first = shared[0]
    for candidate in shared:
        assert candidate.transition is first.transition and candidate.source in first.transition.sources
        assert candidate.roles is first.roles and candidate.notify is first.notify  # made once, not per state
        assert candidate.guards is first.guards and candidate.assignments is first.assignments


def _shape_of(machine):
    return [
        (trigger, source, [(t.source, t.dest, [(c.func, c.target) for c in t.conditions]) for t in transitions])
        for trigger, event in machine.events.items()
        for source, transitions in event.transitions.items()
    ]


@pytest.mark.parametrize("path", PROCESSES, ids=lambda p: p.stem)
def test_the_machine_holds_what_transitions_add_transition_would_have_made(path):
    from engine.compiler import _LeanMachine

    compiled = CompiledProcess(load_process(path))
    built = compiled._machine
    again = _LeanMachine(
        model=None,
        states=list(compiled.process.states),
        initial=built.initial,
        auto_transitions=False,
        send_event=True,
        model_attribute="procflow_state",
    )
    for event in built.events.values():
        for transitions in event.transitions.values():
            for t in transitions:
                again.add_transition(event.name, t.source, t.dest, conditions=[c.func for c in t.conditions])
    assert _shape_of(built) == _shape_of(again) and len(_shape_of(built)) > 10
    assert all(type(e) is type(f) for e, f in zip(built.events.values(), again.events.values(), strict=True))
    kinds = {type(t) for event in built.events.values() for ts in event.transitions.values() for t in ts}
    assert kinds == {type(t) for event in again.events.values() for ts in event.transitions.values() for t in ts}
