"""Random walks: every state, transition and branch of every shipped process is reachable by a real,
permitted, schema-valid run, and the same seed gives the same walks."""

from __future__ import annotations

import io
import json

import pytest
from conftest import FIXTURE, SHIPPED

from engine import Runtime, load_process
from engine.cli import run
from engine.simulate import simulate


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_walks_cover_every_state_transition_and_branch(path):
    coverage = simulate(Runtime(load_process(path)), walks=80, seed=7)
    assert coverage.states_missed == ()
    assert coverage.transitions_missed == ()
    assert coverage.branches_missed == ()
    assert coverage.finished > coverage.walks // 2
    assert coverage.stuck == 0


def test_the_same_seed_gives_the_same_walks():
    runtime = Runtime(load_process(FIXTURE))
    first, second = simulate(runtime, 20, seed=3), simulate(runtime, 20, seed=3)
    assert (first.states, first.transitions, first.branches) == (second.states, second.transitions, second.branches)


def test_a_transition_no_one_can_fire_is_reported_as_never_taken(tmp_path, fixture_text):
    # A guard that can never hold: the walks must say they never took it.
    text = fixture_text.replace("conditions: payload.quote <= 500", "conditions: payload.quote < 0")
    path = tmp_path / "never.yaml"
    path.write_text(text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run(["simulate", str(path), "-n", "30", "--seed", "1"], out, err) == 0
    assert "never taken: `send_quote` from `quote` to `accept`" in out.getvalue()
    assert "transitions taken: " in out.getvalue()


def test_simulate_prints_json_for_programs():
    out, err = io.StringIO(), io.StringIO()
    assert run(["simulate", str(FIXTURE), "-n", "10", "--format", "json"], out, err) == 0
    report = json.loads(out.getvalue())
    assert report["walks"] == 10 and report["process"] == "minimal_repair"
    assert {"source", "trigger", "dest", "count"} <= set(report["transitions"][0])


@pytest.mark.parametrize("argv", [["-n", "0"], ["-n", "many"], ["--seed", "x"]])
def test_simulate_refuses_bad_numbers(argv):
    out, err = io.StringIO(), io.StringIO()
    assert run(["simulate", str(FIXTURE), *argv], out, err) == 2
    assert "procflow simulate:" in err.getvalue()
