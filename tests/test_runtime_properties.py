"""Random actors, triggers, payloads and the passing of time against each shipped process.

Whatever happens: the instance is always in a state of its definition; a refused event changes
nothing; replaying the history gives the instance exactly; and a final state admits no trigger.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conftest import SHIPPED
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from engine import Actor, EventRefused, Runtime, UnknownTrigger, instance_to_json, load_process
from engine.model import thaw_json
from engine.sampling import Sampler

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
PEOPLE = ("wang", "li", "zhou")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10_000) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


# Most events are drawn to be plausible (an offered trigger, the roles it needs, a payload sampled
# from its form) so that walks get deep into the process; the rest are anything at all.
usually = st.sampled_from([True, True, True, True, False])


def snapshot(instance) -> str:
    return json.dumps(instance_to_json(instance), sort_keys=True, ensure_ascii=False)


def machine_for(runtime: Runtime) -> type[RuleBasedStateMachine]:
    process = runtime.process
    roles = sorted(process.roles)
    triggers = sorted({t.trigger for t in process.transitions})

    class InstanceMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            start = process.start
            assert start is not None
            starter_roles = {r for t in runtime.compiled.transitions[start.id] for r in t.roles}
            self.instance = runtime.start(Actor("wang", starter_roles), at=START, instance_id="property")
            self.now = START
            self.refused = 0

        @rule(data=st.data(), who=st.sampled_from(PEOPLE), held=st.sets(st.sampled_from(roles), max_size=3))
        def fire(self, data: st.DataObject, who: str, held: set[str]) -> None:
            here = runtime.compiled.transitions[self.instance.state]
            offered = [c.trigger for c in here]
            trigger = data.draw(
                st.sampled_from(offered) if offered and data.draw(usually) else st.sampled_from(triggers)
            )
            candidate = next((c for c in here if c.trigger == trigger), None)
            if candidate is not None and data.draw(usually):
                held = held | {data.draw(st.sampled_from(sorted(candidate.roles)))}
                held |= {s.role for s in candidate.transition.signoffs}
            payload = self.payload(data, candidate)
            self.now += dt.timedelta(minutes=data.draw(st.integers(0, 600)))
            before = snapshot(self.instance)
            try:
                runtime.fire(self.instance, trigger, Actor(who, held), payload, at=self.now)
            except EventRefused:
                self.refused += 1
                assert snapshot(self.instance) == before

        def payload(self, data: st.DataObject, candidate) -> object:
            if candidate is None or candidate.transition.payload_schema is None or not data.draw(usually):
                return data.draw(st.dictionaries(st.text(max_size=6), json_values, max_size=3))
            sampler = Sampler(thaw_json(process.document), data.draw(st.randoms(use_true_random=False)))
            return sampler.value(thaw_json(candidate.transition.payload_schema))

        @rule(hours=st.integers(1, 24 * 10))
        def let_time_pass(self, hours: int) -> None:
            self.now += dt.timedelta(hours=hours)
            before = len(self.instance.history)
            result = runtime.advance(self.instance, self.now)
            assert len(self.instance.history) == before + len(result.fired)
            assert all(e.by_deadline and e.at <= self.now for e in result.fired)

        @invariant()
        def the_state_is_a_state_of_the_definition(self) -> None:
            assert self.instance.state in process.states
            assert process.states[self.instance.state].kind.value != "decision"

        @invariant()
        def replay_gives_the_instance(self) -> None:
            assert runtime.replay(self.instance.history, instance_id=self.instance.id) == self.instance

        @precondition(lambda self: process.states[self.instance.state].is_final)
        @rule(who=st.sampled_from(PEOPLE), trigger=st.sampled_from(triggers))
        def a_final_state_admits_nothing(self, who: str, trigger: str) -> None:
            everyone = Actor(who, roles)
            before = snapshot(self.instance)
            with pytest.raises(UnknownTrigger, match="has finished"):
                runtime.fire(self.instance, trigger, everyone, {}, at=self.now)
            assert runtime.available(self.instance, everyone) == ()
            assert snapshot(self.instance) == before

    return InstanceMachine


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_random_events_keep_every_promise(path):
    machine = machine_for(Runtime(load_process(path)))
    machine.TestCase.settings = settings(
        max_examples=25, stateful_step_count=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    machine.TestCase().runTest()
