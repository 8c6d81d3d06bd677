"""Random walks go through a step that starts another procedure as the engine does: entering the step
starts the child, the child is walked to one of its ends, and its end fires the step's continuation
with the child's `returns` as payload. A child whose definition is not given is named as not
available, and the walks take the ends the step's `on_end` declares."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
from pathlib import Path

from conftest import ROOT, mutate

from engine import Actor, Runtime, load_process, load_process_text
from engine.cli import run
from engine.runtime import ChildStart
from engine.simulate import MAX_NESTING, simulate

FIXTURES = ROOT / "tests" / "fixtures" / "subprocess"
INTAKE, WORKSHOP = FIXTURES / "intake.yaml", FIXTURES / "workshop_repair.yaml"
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
INTAKE_TEXT, WORKSHOP_TEXT = INTAKE.read_text(encoding="utf-8"), WORKSHOP.read_text(encoding="utf-8")


def walk(walks: int = 40, seed: int = 1, **children: Runtime):
    return simulate(Runtime(load_process(INTAKE)), walks, seed, definitions=children)


def call(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["simulate", *map(str, argv)], out, err)
    return code, out.getvalue(), err.getvalue()


def test_walks_run_the_child_to_its_ends_and_the_parent_goes_on_from_each() -> None:
    coverage = walk(workshop_repair=Runtime(load_process(WORKSHOP)))
    assert coverage.finished == coverage.walks and coverage.stuck == 0
    assert coverage.complete, "both continuations and the step after them were reached"
    (sub,) = coverage.sub_procedures
    assert (sub.step, sub.process, sub.available) == ("in_workshop", "workshop_repair", True)
    assert set(sub.ends) == {"repaired", "scrapped"} and all(sub.ends.values())
    assert sum(sub.ends.values()) == sub.started == coverage.walks
    child = coverage.children["workshop_repair"]
    assert child.walks == sub.started and child.finished == child.walks and child.complete
    assert (
        child.states["repaired"]
        == sub.ends["repaired"]
        == coverage.transitions[("in_workshop", "workshop_done", "return_goods")]
    ), "each child that ended repaired fired `workshop_done` on its parent"


def test_the_continuation_takes_the_childs_result_as_the_engine_does() -> None:
    # The child no longer records the cost; `returns` hands nothing back, so `workshop_done`, whose
    # form requires the cost, is refused, as it would be in a store.
    without_cost = mutate(WORKSHOP_TEXT, ("        set: {cost: payload.cost}\n", ""))
    coverage = walk(workshop_repair=Runtime(load_process_text(without_cost, str(WORKSHOP))))
    assert ("in_workshop", "workshop_done", "return_goods") in coverage.transitions_missed
    assert ("in_workshop", "workshop_failed", "closed") not in coverage.transitions_missed
    stuck = {(s.state, s.trigger): s for s in coverage.stuck_at}
    assert "payload.cost" in stuck[("in_workshop", "workshop_done")].example


def test_a_child_not_given_is_said_to_be_missing_and_its_declared_ends_are_taken() -> None:
    coverage = walk()
    (sub,) = coverage.sub_procedures
    assert sub.available is False and coverage.children == {}
    assert set(sub.ends) == {"repaired", "scrapped"} and all(sub.ends.values())
    assert coverage.complete and coverage.stuck == 0
    assert sub.ends["repaired"] == coverage.transitions[("in_workshop", "workshop_done", "return_goods")]


def test_the_same_seed_gives_the_same_walks_through_children() -> None:
    first, second = (walk(20, 9, workshop_repair=Runtime(load_process(WORKSHOP))) for _ in range(2))
    assert first.transitions == second.transitions
    assert first.sub_procedures == second.sub_procedures
    assert first.children["workshop_repair"].transitions == second.children["workshop_repair"].transitions


STARTS_THE_OTHER = """
procflow: 1
id: {own}
version: 1
title: {{zh: 互相启动, en: Each starts the other}}
owner: clerk
sources:
  procedure: {{file: 004_0781a068a735b19d.txt, title: {{zh: 返厂维修管理流程, en: Return repair}}}}
roles:
  clerk: {{zh: 客服人员, en: Clerk}}
states:
  begin:
    type: start
    zh: 开始
    en: Begin
    role: clerk
    source: "一"
    on:
      - {{trigger: go, zh: 转交, en: Hand over, dest: waiting}}
  waiting:
    type: task
    zh: 等待
    en: Waiting
    role: clerk
    source: "一"
    starts: {{process: {other}, on_end: {{done: finished}}}}
    on:
      - {{trigger: finished, zh: 完成, en: Finished, dest: done}}
  done:
    type: final
    zh: 结束
    en: Done
    source: "一"
"""


def test_two_procedures_that_start_each_other_stop_at_the_nesting_bound() -> None:
    ping, pong = (
        Runtime(load_process_text(STARTS_THE_OTHER.format(own=own, other=other), f"{own}.yaml"))
        for own, other in (("ping", "pong"), ("pong", "ping"))
    )
    coverage = simulate(ping, 2, seed=1, definitions={"ping": ping, "pong": pong})
    assert coverage.finished == 0 and coverage.stuck == 2
    reasons = [s.reason for child in coverage.children.values() for s in child.stuck_at]
    assert any(f"nest more than {MAX_NESTING} deep" in reason for reason in reasons)
    assert coverage.stuck_at[0].reason == "its sub-procedure `pong` got stuck in `waiting` (see its coverage)"


def test_the_command_finds_the_child_beside_the_parent_and_reports_both() -> None:
    code, out, err = call(INTAKE, "-n", "20", "--seed", "2")
    assert code == 0, err
    assert "intake: 20 walks (seed 2), 20 reached a final state, 0 got stuck" in out
    assert "step `in_workshop` started `workshop_repair` 20 times; it ended: repaired " in out
    assert f"sub-procedure `workshop_repair` ({WORKSHOP}): started 20 times, 20 reached a final state" in out


def test_the_command_says_when_a_child_is_not_available_and_with_adds_one(tmp_path: Path) -> None:
    alone = tmp_path / "intake.yaml"
    shutil.copy(INTAKE, alone)
    code, out, err = call(alone, "-n", "10")
    assert code == 0, err
    assert (
        f"step `in_workshop` starts `workshop_repair`, which is not available (no valid definition with that id "
        f"in {tmp_path}; add it with --with PATH): the walks did not run it, but took the ends its `on_end` declares"
    ) in out
    code, out, err = call(alone, "-n", "10", "--with", FIXTURES, "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["sub_procedures"][0]["available"] is True
    assert report["children"]["workshop_repair"]["walks"] == report["sub_procedures"][0]["started"] == 10


def test_the_command_refuses_a_child_that_does_not_fit_the_step(tmp_path: Path) -> None:
    (tmp_path / "intake.yaml").write_text(mutate(INTAKE_TEXT, ("as: engineer", "as: enginer")), encoding="utf-8")
    shutil.copy(WORKSHOP, tmp_path / "workshop_repair.yaml")
    code, out, err = call(tmp_path / "intake.yaml", "-n", "5")
    assert code == 1 and out == ""
    assert f"{tmp_path / 'intake.yaml'}:" in err and "did you mean `engineer`" in err
    assert "Traceback" not in err


def test_a_deadline_that_leads_into_the_step_starts_the_child_through_the_hook() -> None:
    # The walks let time pass with `Runtime.advance`, which now takes the same `spawn` hook as `fire`.
    timed = mutate(
        INTAKE_TEXT,
        (
            '    role: clerk\n    source: "一"\n    on:\n',
            '    role: clerk\n    source: "一"\n    deadlines:\n      - {after: 1 day, fire: auto}\n    on:\n'
            "      - {trigger: auto, zh: 自动送修, en: Sent on, dest: in_workshop}\n",
        ),
    )
    runtime = Runtime(load_process_text(timed, str(INTAKE)))
    started: list[ChildStart] = []
    instance = runtime.start(Actor("li", ["clerk"]), {"fault": "no power"}, at=MONDAY)

    def spawn(request: ChildStart) -> str:
        started.append(request)
        return "child-1"

    advanced = runtime.advance(instance, MONDAY + dt.timedelta(days=2), spawn=spawn)
    assert [entry.trigger for entry in advanced.fired] == ["auto"] and instance.state == "in_workshop"
    assert [(r.process, dict(r.data)) for r in started] == [("workshop_repair", {"fault": "no power"})]
    assert runtime.waiting_for(instance) == "child-1"
