"""Clocks: each time promise of the shipped procedures warns and breaches at exactly the promised moment
on the calendar, whatever path the case takes (loops, send-backs, waiting for the customer); replay gives
the same clocks; bad clocks in the YAML are refused where they are written; a worker fires a breach."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from conftest import FIXTURE, PROCESSES, mutate

from engine import Actor, Runtime, instance_from_json, instance_to_json, load_process, load_process_text
from engine.cli import run
from engine.clocks import ClockRun, idle_run
from engine.errors import DefinitionError
from engine.instances import ClockMark
from engine.processes import validate_text
from engine.render.diagram import extract
from engine.render.dot import to_dot
from engine.render.mermaid import to_mermaid
from engine.scenarios import load_scenario
from engine.service import Workflows
from engine.stores import Damaged

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
US = dt.timedelta(microseconds=1)

pytest_plugins = ["store_support"]


def payloads(name: str) -> dict[str, dict]:
    """The payload each trigger is given in the procedure's shipped scenario (its first accepted use)."""
    scenario = load_scenario(PROCESSES / "scenarios" / f"{name}.yaml")
    found: dict[str, dict] = {}
    for event in scenario.events:
        if event.trigger is not None and event.refused is None:
            found.setdefault(event.trigger, dict(event.payload))
    return found


class Driver:
    """Drives one instance of a shipped procedure, each event at a given time."""

    def __init__(self, name: str, start: dt.datetime, starter: Actor):
        self.runtime = Runtime(load_process(PROCESSES / f"{name}.yaml"))
        self.payloads = payloads(name)
        self.instance = self.runtime.start(starter, at=start, instance_id="C-1")

    def fire(self, trigger: str, actor: Actor, when: dt.datetime, **changes: object) -> None:
        payload = {**self.payloads.get(trigger, {}), **changes}
        self.runtime.fire(self.instance, trigger, actor, payload, at=when)

    def clock(self, name: str, when: dt.datetime):
        return next(r for r in self.runtime.clocks(self.instance, when) if r.clock == name)

    def points(self, name: str) -> list[tuple[str, dt.datetime]]:
        """Each warning or breach of the clock recorded in the history, with when."""
        return [
            (m.event, e.at)
            for e in self.instance.history
            for m in e.clocks
            if m.clock == name and m.event in ("warning", "limit", "ceiling")
        ]

    def advance(self, when: dt.datetime) -> None:
        self.runtime.advance(self.instance, when)

    def assert_breaches_exactly_at(self, name: str, moment: dt.datetime, threshold: str = "limit") -> None:
        """Just before ``moment`` the clock has not reached ``threshold``; at ``moment`` it has, recorded then."""
        before = self.points(name)
        self.advance(moment - US)
        assert self.points(name) == before
        assert threshold not in dict(self.clock(name, moment - US).reached)
        self.advance(moment)
        assert self.points(name)[len(before) :] == [(threshold, moment)]
        assert dict(self.clock(name, moment).reached)[threshold] == moment

    def assert_replays(self) -> None:
        self.runtime.verify(self.instance)
        again = self.runtime.replay(self.instance.history, instance_id=self.instance.id)
        later = self.instance.history[-1].at + dt.timedelta(days=30)
        assert self.runtime.clocks(again, later) == self.runtime.clocks(self.instance, later)
        stored = instance_from_json(instance_to_json(self.instance))
        assert stored == self.instance


# --- complaint: 24 h and 72 h from the customer's contact, a week from the service ------------------------

CUSTOMER = Actor("zhang", ["customer"])
AGENT = Actor("li", ["service_agent"])
TECH = Actor("sun", ["tech_support"])
SUPERVISOR = Actor("zhao", ["supervisor"])
OPENED = dt.datetime(2026, 11, 23, 9, 10, tzinfo=SHANGHAI)
CONTACT = dt.datetime(2026, 11, 23, 9, 12, tzinfo=SHANGHAI)


def contacted() -> Driver:
    case = Driver("complaint", OPENED, CUSTOMER)
    case.fire("contact", CUSTOMER, CONTACT)
    return case


def test_the_first_response_is_due_24_hours_after_the_contact_not_after_the_instance_opened():
    case = contacted()
    assert case.clock("first_response", CONTACT).started_at == CONTACT
    case.assert_breaches_exactly_at("first_response", CONTACT + dt.timedelta(hours=24))
    breach = next(e for e in case.instance.history if any(m.event == "limit" for m in e.clocks))
    assert breach.trigger == "escalate" and breach.clocks[0].notify == ("supervisor",)
    assert case.clock("first_response", CONTACT + dt.timedelta(hours=25)).status == "breached"
    assert case.runtime.overdue(case.instance, CONTACT + dt.timedelta(hours=25))
    case.assert_replays()


def test_a_first_response_in_time_stops_the_clock_and_nothing_fires():
    case = contacted()
    case.fire("classify", AGENT, CONTACT + dt.timedelta(hours=23, minutes=59), complexity="simple")
    case.advance(CONTACT + dt.timedelta(days=2))
    report = case.clock("first_response", CONTACT + dt.timedelta(days=2))
    assert report.status == "stopped" and report.elapsed == dt.timedelta(hours=23, minutes=59)
    assert case.points("first_response") == []
    case.assert_replays()


def test_the_first_response_clock_is_not_restarted_by_the_supervisors_escalation_loop():
    case = contacted()
    case.fire("escalate", SUPERVISOR, CONTACT + dt.timedelta(hours=5))  # register → register
    case.assert_breaches_exactly_at("first_response", CONTACT + dt.timedelta(hours=24))


def test_solved_or_progress_is_due_72_hours_after_the_contact_on_the_support_path():
    case = contacted()
    case.fire("classify", AGENT, CONTACT + dt.timedelta(hours=20))  # complex: to technical support
    case.assert_breaches_exactly_at("resolve_or_progress", CONTACT + dt.timedelta(hours=72))
    assert case.instance.state == "progress_report"  # the breach fired report_progress
    case.assert_replays()


def test_solved_or_progress_breaches_at_72_hours_wherever_the_case_is():
    case = contacted()
    case.fire("classify", AGENT, CONTACT + dt.timedelta(hours=1))
    case.fire("go_on_site", TECH, CONTACT + dt.timedelta(hours=30), address="上海")
    case.fire("escalate", SUPERVISOR, CONTACT + dt.timedelta(hours=60))  # onsite_service → itself
    case.assert_breaches_exactly_at("resolve_or_progress", CONTACT + dt.timedelta(hours=72))
    assert case.instance.history[-1].trigger == "escalate"  # no report_progress there: the first it has
    assert case.instance.state == "onsite_service"
    assert case.clock("resolve_or_progress", CONTACT + dt.timedelta(hours=80)).status == "breached"
    case.assert_replays()


def test_a_progress_report_keeps_the_promise_and_later_reports_do_not_restart_it():
    case = contacted()
    case.fire("classify", AGENT, CONTACT + dt.timedelta(hours=1))
    for hours in (40, 90, 140):  # progress reported three times
        case.fire("report_progress", TECH, CONTACT + dt.timedelta(hours=hours))
        case.fire("progress_reported", AGENT, CONTACT + dt.timedelta(hours=hours + 1), progress="仍在检测")
    case.advance(CONTACT + dt.timedelta(days=10))
    report = case.clock("resolve_or_progress", CONTACT + dt.timedelta(days=10))
    assert report.status == "stopped" and report.stopped_at == CONTACT + dt.timedelta(hours=41)
    assert case.points("resolve_or_progress") == []
    case.assert_replays()


def served(case: Driver, when: dt.datetime) -> None:
    case.fire("classify", AGENT, when, complexity="simple")
    case.fire("answered", AGENT, when + dt.timedelta(hours=1), answer="ok")


def test_the_follow_up_is_due_a_week_after_the_service_and_again_after_a_reopened_case():
    case = contacted()
    served(case, CONTACT + dt.timedelta(hours=2))
    done = CONTACT + dt.timedelta(hours=3)
    assert case.clock("resolve_or_progress", done).status == "stopped"
    case.assert_breaches_exactly_at("follow_up", done + dt.timedelta(weeks=1))
    # The customer is not satisfied: the case is reopened, served again, and a fresh week begins.
    case.fire("record_follow_up", AGENT, done + dt.timedelta(days=8), satisfied=False)
    assert case.instance.state == "register"
    again = done + dt.timedelta(days=9)
    served(case, again)
    case.assert_breaches_exactly_at("follow_up", again + dt.timedelta(hours=1, weeks=1))
    case.assert_replays()


# --- return_repair: rework 3 / 7 days across QC loops; follow-up a week from shipping ---------------------

RR = {
    "customer": Actor("wang", ["customer"]),
    "cs": Actor("li", ["cs_agent"]),
    "receiver": Actor("chen", ["receiver"]),
    "engineer": Actor("liu", ["engineer"]),
    "tester": Actor("sun", ["engineer"]),
    "supervisor": Actor("zhou", ["supervisor"]),
}
RR_START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)


def in_repair(when: dt.datetime) -> Driver:
    """return_repair in warranty, entering `repair` at ``when``."""
    case = Driver("return_repair", RR_START, RR["customer"])
    t = RR_START
    steps = [
        ("submit", "customer", {}),
        ("reviewed", "cs", {"in_warranty": True}),
        ("issue_order", "cs", {}),
        ("shipped", "customer", {}),
        ("register", "receiver", {"model_matches": True}),
        ("diagnosed", "engineer", {}),
        ("submit_plan", "engineer", {}),
        ("approve", "supervisor", {}),
        ("plan_sent", "cs", {}),
    ]
    for trigger, who, changes in steps:
        t += dt.timedelta(minutes=10)
        case.fire(trigger, RR[who], t, **changes)
    assert t < when
    case.fire("sign", RR["customer"], when)
    assert case.instance.state == "repair"
    return case


def repaired(case: Driver, when: dt.datetime) -> None:
    case.fire("repaired", RR["engineer"], when)


def qc(case: Driver, verdict: str, when: dt.datetime) -> None:
    case.fire(verdict, RR["tester"], when)


REWORK = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)


def test_rework_breaches_3_days_after_it_began_although_qc_failed_twice():
    case = in_repair(REWORK)
    repaired(case, REWORK + dt.timedelta(days=1))
    qc(case, "fail", REWORK + dt.timedelta(days=1, hours=2))
    repaired(case, REWORK + dt.timedelta(days=2))
    qc(case, "fail", REWORK + dt.timedelta(days=2, hours=1))
    repaired(case, REWORK + dt.timedelta(days=2, hours=20))  # in quality_check at the 3-day mark
    case.assert_breaches_exactly_at("rework", REWORK + dt.timedelta(days=3))
    assert case.instance.state == "quality_check"
    qc(case, "fail", REWORK + dt.timedelta(days=4))
    case.assert_breaches_exactly_at("rework", REWORK + dt.timedelta(days=7), "ceiling")
    assert case.instance.state == "repair_overdue"  # the ceiling fired `overdue` in repair
    case.assert_replays()


def test_rework_in_repair_at_three_days_fires_the_escalation_and_stops_when_qc_passes():
    case = in_repair(REWORK)
    case.assert_breaches_exactly_at("rework", REWORK + dt.timedelta(days=3))
    escalation = case.instance.history[-1]
    assert escalation.trigger == "escalate" and escalation.clocks[0].notify == ("supervisor",)
    repaired(case, REWORK + dt.timedelta(days=3, hours=2))
    qc(case, "pass", REWORK + dt.timedelta(days=3, hours=4))
    after = REWORK + dt.timedelta(days=9)
    case.advance(after)
    report = case.clock("rework", after)
    assert report.status == "stopped" and report.elapsed == dt.timedelta(days=3, hours=4)
    assert "ceiling" not in dict(report.reached)
    case.assert_replays()


def test_a_customers_rejection_resumes_the_rework_clock_rather_than_restarting_it():
    case = in_repair(REWORK)
    repaired(case, REWORK + dt.timedelta(days=1))
    qc(case, "pass", REWORK + dt.timedelta(days=2))  # 2 days used; the clock stops
    case.fire("choose_on_site", RR["cs"], REWORK + dt.timedelta(days=2, hours=1))
    back = REWORK + dt.timedelta(days=5)
    case.fire("reject", RR["customer"], back, functional_test="x", problem="y")
    assert case.clock("rework", back).status == "running"
    case.assert_breaches_exactly_at("rework", back + dt.timedelta(days=1))
    case.assert_replays()


def test_the_follow_up_is_due_a_week_after_shipping_not_after_the_customer_is_told():
    case = in_repair(REWORK)
    repaired(case, REWORK + dt.timedelta(hours=5))
    qc(case, "pass", REWORK + dt.timedelta(hours=6))
    case.fire("choose_shipping", RR["cs"], REWORK + dt.timedelta(hours=7))
    shipped = REWORK + dt.timedelta(days=1)
    case.fire(
        "shipped",
        RR["receiver"],
        shipped,
        carrier="顺丰",
        tracking_no="SF2",
        shipped_date="2026-11-25",
        expected_arrival="2026-11-27",
    )
    case.fire("informed", RR["cs"], shipped + dt.timedelta(days=2))
    case.assert_breaches_exactly_at("follow_up", shipped + dt.timedelta(weeks=1))
    assert case.instance.history[-1].trigger == "remind"
    case.assert_replays()


# --- qc_signoff: rework 3 / 7 days across reinspection failures ------------------------------------------

QC = {
    "sales": Actor("lin", ["sales"]),
    "packer": Actor("huang", ["packer"]),
    "tester": Actor("xu", ["qc_tester"]),
    "lead": Actor("zheng", ["qc_lead"]),
    "inspector": Actor("feng", ["inspector"]),
    "production": Actor("ma", ["production_lead"]),
}


def test_qc_rework_breaches_at_3_and_7_days_across_reinspection_failures():
    start = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
    case = Driver("qc_signoff", start, QC["sales"])
    t = start
    for trigger, who in [
        ("receive_return", "sales"),
        ("hand_to_packer", "sales"),
        ("count_confirmed", "packer"),
        ("record_screening", "tester"),
        ("submit_for_signature", "lead"),
    ]:
        t += dt.timedelta(minutes=10)
        case.fire(trigger, QC[who], t)
    rework = t + dt.timedelta(minutes=10)
    case.fire("sign", QC["inspector"], rework)
    assert case.instance.state == "rework"
    for day in (1, 2):  # reinspection fails twice and sends it back to rework
        case.fire("rework_done", QC["production"], rework + dt.timedelta(days=day))
        case.fire("reject", QC["tester"], rework + dt.timedelta(days=day, hours=1), defect="仍有划痕")
        assert case.instance.state == "rework"
    case.assert_breaches_exactly_at("rework", rework + dt.timedelta(days=3))
    case.assert_breaches_exactly_at("rework", rework + dt.timedelta(days=7), "ceiling")
    assert case.instance.state == "manager_review"
    case.assert_replays()


# --- pauses, warnings, restart and the business calendar, on a small process ------------------------------

CLOCKS = """
clocks:
  handling:
    zh: 两个工作日内办结
    en: Handled within two working days
    starts: {enter: [quote]}
    stops: {enter: [done]}
    pauses: [on_hold]
    limit: 2 working days
    warning: 1 working day
    on_warning: {notify: [supervisor]}
states:
"""
CUSTOMER_W, CLERK_W, SUPERVISOR_W = Actor("wang", ["customer"]), Actor("li", ["clerk"]), Actor("zhou", ["supervisor"])
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)


def demo(*edits: tuple[str, str]) -> Runtime:
    """The test fixture (apply → quote ⇄ on_hold → accept → done) with the clock ``CLOCKS``."""
    text = mutate(FIXTURE.read_text(encoding="utf-8"), ("\nstates:\n", CLOCKS), *edits)
    return Runtime(load_process_text(text))


def shanghai(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, 0, tzinfo=SHANGHAI)


def test_a_working_day_clock_warns_and_breaches_on_the_calendar_and_pauses_while_waiting():
    runtime = demo()
    instance = runtime.start(CUSTOMER_W, at=MONDAY)
    runtime.fire(instance, "submit", CUSTOMER_W, {"in_warranty": False, "model": "X"}, at=MONDAY)
    # Working hours 09-12 and 13-18: one working day is 8 hours, ending Monday 18:00.
    runtime.advance(instance, shanghai(23, 18) - US)
    assert runtime.clocks(instance, shanghai(23, 18) - US)[0].status == "running"
    runtime.advance(instance, shanghai(23, 18))
    assert instance.history[-1].at == shanghai(23, 18)
    assert instance.history[-1].clocks == (ClockMark("handling", "warning", ("supervisor",)),)
    assert runtime.clocks(instance, shanghai(23, 18))[0].status == "warned"
    # Tuesday 10:00 (one working hour more) the customer is waited for until Thursday 09:00.
    runtime.fire(instance, "hold", CLERK_W, at=shanghai(24, 10))
    paused = runtime.clocks(instance, shanghai(25, 12))[0]
    assert paused.status == "paused" and paused.elapsed == dt.timedelta(hours=9) and paused.due is None
    runtime.fire(instance, "customer_replied", CUSTOMER_W, at=shanghai(26, 9))
    # Seven working hours were left: Thursday 09-12 and 13-17.
    breach = shanghai(26, 17)
    assert runtime.clocks(instance, breach - US)[0].due == breach
    runtime.advance(instance, breach - US)
    assert [m for e in instance.history for m in e.clocks if m.event == "limit"] == []
    runtime.advance(instance, breach)
    assert instance.history[-1].at == breach and instance.history[-1].clocks[0].event == "limit"
    assert runtime.clocks(instance, breach)[0].status == "breached"
    assert runtime.overdue(instance, breach)  # marked overdue until the clock stops
    runtime.fire(instance, "accept", CLERK_W, at=shanghai(27, 9))
    assert runtime.clocks(instance, shanghai(27, 9))[0].status == "stopped"
    assert not runtime.overdue(instance, shanghai(27, 9))
    runtime.verify(instance)


@pytest.mark.parametrize("restart, used", [(False, dt.timedelta(hours=3)), (True, dt.timedelta(hours=1))])
def test_a_stopped_clock_started_again_carries_on_unless_it_restarts(restart, used):
    runtime = demo(
        (
            "    starts: {enter: [quote]}\n    stops: {enter: [done]}\n",
            "    starts: {enter: [accept]}\n    stops: {leave: [accept]}\n",
        ),
        ("    limit: 2 working days\n", f"    limit: 2 working days\n    restart: {str(restart).lower()}\n"),
    )
    instance = runtime.start(CUSTOMER_W, at=MONDAY)
    runtime.fire(instance, "submit", CUSTOMER_W, {"in_warranty": True, "model": "X"}, at=MONDAY)
    assert instance.state == "accept"
    runtime.fire(instance, "hold", CLERK_W, at=shanghai(23, 11))  # leaves accept: stopped after 2 hours
    assert runtime.clocks(instance, shanghai(23, 12))[0].status == "stopped"
    runtime.fire(instance, "customer_replied", CUSTOMER_W, at=shanghai(23, 14))  # back into accept
    report = runtime.clocks(instance, shanghai(23, 15))[0]
    assert report.status == "running" and report.elapsed == used
    events = [m.event for e in instance.history for m in e.clocks]
    assert events == ["started", "stopped", "restarted" if restart else "started"]
    runtime.verify(instance)


# --- bad clocks in the YAML ---------------------------------------------------------------------------------


def problems(text: str) -> list[str]:
    return [f"{p.location.line}: {p.message}" for p in validate_text(text, "p.yaml").problems]


def clock_text(**overrides: str) -> str:
    lines = {
        "starts": "{enter: [quote]}",
        "stops": "{enter: [done]}",
        "limit": "2 working days",
    }
    lines.update(overrides)
    body = "".join(f"    {k}: {v}\n" for k, v in lines.items())
    clocks = f"\nclocks:\n  handling:\n    zh: 报价\n    en: Quote\n{body}states:\n"
    return mutate(FIXTURE.read_text(encoding="utf-8"), ("\nstates:\n", clocks))


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_an_unknown_state_in_a_clock_is_refused_where_it_is_written_with_a_suggestion():
    text = clock_text(starts="{enter: [qoute]}")
    found = problems(text)
    assert any(p.startswith(f"{line_of(text, 'qoute')}:") and "did you mean `quote`" in p for p in found), found


def test_an_unknown_trigger_in_a_clock_is_refused_with_a_suggestion():
    text = clock_text(stops="{on: [escalat]}")
    found = problems(text)
    assert any("`escalat` is not a declared trigger" in p and "did you mean `escalate`" in p for p in found), found


def test_a_clock_that_never_stops_is_refused_naming_it():
    text = clock_text(stops="{enter: [apply]}")  # the start state is never entered again
    found = problems(text)
    assert any(p.startswith(f"{line_of(text, 'stops:')}:") and "never stops" in p for p in found), found


def test_a_clock_that_never_starts_is_refused():
    text = clock_text(starts="{leave: [done]}")  # a final state is never left
    found = problems(text)
    assert any(p.startswith(f"{line_of(text, 'starts:')}:") and "never starts" in p for p in found), found


@pytest.mark.parametrize("limit", ["3 workdays", "0m", "PT0M", "600 weeks"])
def test_a_bad_limit_is_refused_where_it_is_written(limit):
    text = clock_text(limit=limit)
    found = problems(text)
    assert found and all(p.startswith(f"{line_of(text, 'limit:')}:") for p in found if "limit" in p.lower()), found
    with pytest.raises(DefinitionError):
        load_process_text(text)


def test_a_warning_after_the_limit_and_a_ceiling_before_it_are_refused():
    text = clock_text(warning="3 working days", ceiling="1 working day")
    found = problems(text)
    assert any(f"{line_of(text, 'warning:')}:" in p and "must come before its limit" in p for p in found), found
    assert any(f"{line_of(text, 'ceiling:')}:" in p and "must come after its limit" in p for p in found), found


def test_a_clock_that_only_runs_while_paused_is_warned_about():
    text = clock_text(pauses="[quote, accept, on_hold]")
    found = problems(text)
    assert any("can never breach" in p for p in found), found


def test_the_shipped_procedures_promises_are_clocks():
    for name, expected in {
        "complaint": {"first_response": "24h", "resolve_or_progress": "72h", "follow_up": "1w"},
        "return_repair": {"rework": "3d", "follow_up": "1w"},
        "qc_signoff": {"rework": "3d"},
        "exchange": {"first_answer": "24h", "follow_up": "1w"},
    }.items():
        process = load_process(PROCESSES / f"{name}.yaml")
        assert {c.id: c.thresholds["limit"][0].text for c in process.clocks.values()} == expected


# --- stores: a worker fires a clock's points ----------------------------------------------------------------


def test_a_worker_fires_a_clock_breach_in_every_store(store_url):
    """The next point of each running clock is a stored deadline: memory, SQLite and PostgreSQL workers
    claim it and record the breach at its due time, firing its trigger where the state has one (TS-1,
    never answered, is escalated twice in `register`) and on an entry of its own where it has none
    (TS-2 waits in `progress_report`); the stored instances replay and `list --overdue` finds them."""
    contact = payloads("complaint")["contact"]
    with Workflows(store_url, clock=lambda: CONTACT) as workflows:
        workflows.register(PROCESSES / "complaint.yaml")
        for instance_id in ("TS-1", "TS-2"):
            workflows.start("complaint", CUSTOMER, at=OPENED, instance_id=instance_id)
            workflows.fire(instance_id, "contact", CUSTOMER, contact, at=CONTACT)
        classified = {"category": "complaint", "complexity": "complex", "first_reply": "已登记"}
        workflows.fire("TS-2", "classify", AGENT, classified, at=CONTACT + dt.timedelta(hours=1))
        workflows.fire("TS-2", "report_progress", TECH, at=CONTACT + dt.timedelta(hours=2))
        first, second = CONTACT + dt.timedelta(hours=24), CONTACT + dt.timedelta(hours=72)
        assert workflows.fire_due(first - US, worker_id="w") == 0
        assert workflows.fire_due(second, worker_id="w") == 3

        def breaches(instance_id: str) -> list[tuple[dt.datetime, str | None, list[str]]]:
            history = workflows.history(instance_id)
            return [(e.at, e.trigger, [m.clock for m in e.clocks]) for e in history if e.by_deadline]

        assert breaches("TS-1") == [
            (first, "escalate", ["first_response"]),
            (second, "escalate", ["resolve_or_progress"]),
        ]
        assert breaches("TS-2") == [(second, None, ["resolve_or_progress"])]
        reports = {r.clock: r.status for r in workflows.clocks("TS-2", second)}
        assert reports == {"first_response": "stopped", "resolve_or_progress": "breached", "follow_up": "idle"}
        overdue = [s.id for s in workflows.list(overdue_at=second) if not isinstance(s, Damaged)]
        assert sorted(overdue) == ["TS-1", "TS-2"]
        workflows.verify("TS-1")
        workflows.verify("TS-2")
        assert workflows.fire_due(second + dt.timedelta(days=30), worker_id="w") == 0


# --- the chart ----------------------------------------------------------------------------------------------


def test_the_chart_draws_each_clock_as_a_note_bracketing_the_steps_it_times():
    process = load_process(PROCESSES / "return_repair.yaml")
    diagram = extract(process, "en")
    band = next(b for b in diagram.clocks if b.id == "rework")
    assert band.title == "Clock: Rework within 3 days, never beyond 7\nlimit 3 days · ceiling 7 days"
    assert {"repair", "quality_check"} <= set(band.covers) and "notify_result" not in band.covers
    dot = to_dot(diagram, "en")
    assert '"clock_rework" -> "quality_check" [style="dotted"' in dot
    assert "a promise across" in dot  # the legend in the caption
    mermaid = to_mermaid(diagram)
    assert "clock_rework -.- s_quality_check" in mermaid and "class clock_rework,clock_follow_up clock" in mermaid


def test_a_step_where_a_clock_pauses_is_bracketed_differently():
    diagram = extract(demo().process, "en")
    (band,) = diagram.clocks
    assert band.paused == ("on_hold",)
    assert '"clock_handling" -> "on_hold" [style="dashed"' in to_dot(diagram, "en")
    assert 'clock_handling -. "paused" .- s_on_hold' in to_mermaid(diagram)


def test_procflow_show_prints_each_clock(sqlite_url):
    """`procflow show` lists every clock of the instance with its status, time used and what is due."""
    with Workflows(sqlite_url) as workflows:
        workflows.register(PROCESSES / "complaint.yaml")
        instance = workflows.start("complaint", CUSTOMER, at=OPENED, instance_id="TS-9")
        workflows.fire(instance.id, "contact", CUSTOMER, payloads("complaint")["contact"], at=CONTACT)
        workflows.fire_due(CONTACT + dt.timedelta(hours=24), worker_id="w")
    out, err = io.StringIO(), io.StringIO()
    assert run(["show", "TS-9", "--store", sqlite_url], out, err) == 0, err.getvalue()
    lines = [line for line in out.getvalue().splitlines() if line.startswith("clock:")]
    assert len(lines) == 3
    assert lines[0].startswith("clock:    first_response 24小时内初步响应 / First response within 24 hours: breached")
    assert f"limit reached {(CONTACT + dt.timedelta(hours=24)).isoformat()}" in lines[0]
    assert lines[2] == (
        "clock:    follow_up 售后服务完成后一周内回访 / Follow-up within a week of the service: idle, "
        "0m used of 1w, 7d 0h 00m left"
    )
    assert "procflow:clock" not in out.getvalue()  # a clock's points are shown with it, not as deadlines


def test_a_clock_trigger_that_leaves_several_states_is_warned_about():
    """return_repair's customer `shipped` the product in, and the centre `shipped` it back: a clock on
    `shipped` would start on both, so the check says to name the state left instead."""
    text = (PROCESSES / "return_repair.yaml").read_text(encoding="utf-8")
    text = mutate(text, ("starts: {leave: [pack_and_ship], on: [accept_and_collect]}", "starts: {on: [shipped]}"))
    found = problems(text)
    assert any("`shipped` leaves several states" in p and "`leave: [" in p for p in found), found
    assert problems((PROCESSES / "return_repair.yaml").read_text(encoding="utf-8")) == []


def _courses(process):
    """A clock course of each kind for every clock of ``process``: idle, running, paused, stopped."""
    from engine.clocks import ClockRun

    at = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
    kinds = [
        ClockRun(),
        ClockRun(active=True, since=at, started_at=at),
        ClockRun(active=True, paused=True, started_at=at),
        ClockRun(started_at=at, stopped_at=at),
    ]
    for kind in kinds:
        fields = {name: getattr(kind, name) for name in ClockRun.__dataclass_fields__}
        yield {clock: ClockRun(**fields) for clock in process.clocks}


def _loadable_definitions() -> list[Path]:
    """The shipped processes and the valid fixtures (the folder holds some meant to fail)."""
    found = []
    for path in sorted([*PROCESSES.glob("*.yaml"), *FIXTURE.parent.glob("*.yaml")]):
        try:
            load_process(path)
        except DefinitionError:
            continue
        found.append(path)
    return found


LOADABLE = _loadable_definitions()


def _moves(process):
    """Every (state, transition, dest) an event could make: its own dest, or any state (a decision on the way)."""
    for state in process.states.values():
        for transition in state.transitions:
            for dest in {transition.dest, *process.states}:
                yield state, transition, dest


@pytest.mark.parametrize("path", LOADABLE, ids=str)
def test_an_event_the_clock_moments_call_quiet_marks_no_clock_in_any_course(path):
    from engine.clocks import ClockMoments, marks_for_event

    process = load_process(path)
    moments = ClockMoments(process)
    at = dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)
    decisions = [s.id for s in process.states.values() if s.branches or s.default is not None]
    checked = 0
    for state, transition, dest in _moves(process):
        for passed in ((), tuple(decisions[:1]), tuple(decisions)):
            for runs in _courses(process):
                if moments.quiet(runs, transition.trigger, state.id, passed, dest):
                    assert marks_for_event(process, runs, at, transition.trigger, state.id, passed, dest) == ()
                    checked += 1
    assert checked > 0


@pytest.mark.parametrize("path", LOADABLE, ids=str)
def test_an_event_the_clock_moments_call_untouched_leaves_every_clock_idle_with_no_point_open(path):
    from engine.clocks import ClockMoments, ClockRun, clock_deadlines, marks_for_event

    process = load_process(path)
    moments = ClockMoments(process)
    at = dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)
    checked = 0
    for state, transition, dest in _moves(process):
        if moments.untouched((), transition.trigger, state.id, (), dest):
            runs = {clock: ClockRun() for clock in process.clocks}
            assert marks_for_event(process, runs, at, transition.trigger, state.id, (), dest) == ()
            assert clock_deadlines(process, runs, dest, at, (), ()) == ()
            checked += 1
    assert checked > 0


def test_an_idle_run_is_a_new_clock_run():
    made = idle_run()
    assert type(made) is ClockRun and made == ClockRun() and not made.running
    made.spans.append((dt.datetime(2026, 1, 1, tzinfo=dt.UTC),) * 2)
    assert idle_run().spans == []  # each run its own lists and dicts


def test_two_deadlines_are_kept_in_the_order_a_stable_sort_by_due_time_gives():
    from engine.deadlines import in_order
    from engine.instances import OpenDeadline

    early = dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)
    same_moment_elsewhere = early.astimezone(SHANGHAI)
    later = early + dt.timedelta(hours=1)
    a, b = OpenDeadline("s", early, "x"), OpenDeadline("s", later, "y")
    c = OpenDeadline("s", same_moment_elsewhere, "z")
    for pair in ((a, b), (b, a), (a, c), (c, a), (b, c), (a, a)):
        assert in_order(pair) == tuple(sorted(pair, key=lambda d: d.due))
        assert in_order(list(pair)) == tuple(sorted(pair, key=lambda d: d.due))


def _marks_as_written(process, runs, trigger, source, passed, dest):
    """What each clock's course gets from an event, decided step by step as the rules read (the marks
    ``marks_for_event`` must give, in order)."""
    from engine.model import StateKind

    def meets(point, left, entered):
        return (
            (trigger is not None and trigger in point.on)
            or any(s in point.leave for s in left)
            or any(s in point.enter for s in entered)
        )

    moved = source != dest
    left = ((source,) if moved and source is not None else ()) + tuple(passed)
    entered = tuple(passed) + ((dest,) if moved else ())
    final = process.states[dest].kind is StateKind.FINAL
    found = []
    for clock in process.clocks.values():
        run, events = runs[clock.id], []
        stopped = run.active and (final or meets(clock.stops, left, entered))
        if stopped:
            events.append("stopped")
        elif not run.active and not final and meets(clock.starts, left, entered):
            events.append("restarted" if clock.restart and run.started_at is not None else "started")
        if not stopped and (run.active or events):
            waiting = dest in clock.pauses
            if waiting and (events or not run.paused):
                events.append("paused")
            elif not waiting and run.paused:
                events.append("resumed")
        found += [(clock.id, event) for event in events]
    return found


def _with_pauses(restart: bool):
    """``demo``'s process: a clock with pauses, and ``restart: true`` if asked."""
    if not restart:
        return demo().process
    return demo(("    pauses: [on_hold]\n", "    pauses: [on_hold]\n    restart: true\n")).process


@pytest.mark.parametrize("path", [*LOADABLE, "pauses", "pauses and restart"], ids=str)
def test_the_marks_of_an_event_are_those_the_clock_rules_give_for_every_move_and_course(path):
    from engine.clocks import ClockPoints

    process = load_process(path) if isinstance(path, Path) else _with_pauses(restart="restart" in path)
    points = ClockPoints(process)
    at = dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)
    decisions = [s.id for s in process.states.values() if s.branches or s.default is not None]
    marked = 0
    for state, transition, dest in _moves(process):
        for passed in ((), tuple(decisions[:1])):
            for runs in _courses(process):
                expected = _marks_as_written(process, runs, transition.trigger, state.id, passed, dest)
                before = {name: run.copied() for name, run in runs.items()}
                shared = dict(runs)
                got = points.marks(shared, at, transition.trigger, state.id, passed, dest, shared=True)
                assert [(m.clock, m.event) for m in got] == expected
                assert runs == before  # shared: the courses given are copied before they change
                marked += bool(got)
    assert marked > 0 or not process.clocks
