"""``engine.history_facts`` answers what reading the whole history would answer, however the history
was folded in (all at once, or an event at a time as a case runs), and a snapshot is used only for
the history it was made from."""

from __future__ import annotations

import datetime
from dataclasses import replace
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.clocks import runs_of
from engine.history_facts import _IDLE, Clocks, actors_of, clocks_of, loops_of, records_of
from engine.instances import Assignment, BranchTaken, ClockMark, Entry, Instance, RecordWritten

AT = datetime.datetime(2026, 12, 3, tzinfo=datetime.UTC)
STATES = ("a", "b", "c")
CLOCKED = SimpleNamespace(clocks={"promise": None, "follow_up": None})
"""What the clocks' courses are asked for: a process with two clocks (a third, ``gone``, is one a
history may still mark from an earlier revision)."""


# --- what reading the whole history answers (the runtime's rules, written out plainly) --------------


def actors_by_reading(history: list[Entry], states: tuple[str, ...], scope: str) -> dict[str, set[str]]:
    actors: dict[str, set[str]] = {}
    for state in states:
        start = 0
        if scope == "round":
            entered = [i for i, e in enumerate(history) if e.state == state and (e.source != state or e.dest != state)]
            start = entered[-1] if entered else len(history)
        for entry in history[start:]:
            if entry.source == state and not entry.by_deadline and entry.assignment is None:
                actors.setdefault(entry.actor, set()).add(state)
                if scope == "round" and (entry.state != state or entry.dest != state):
                    break
    return actors


def taken_by_reading(history: list[Entry], source: str, trigger: str, dest: str) -> int:
    return sum(
        1 for e in history if e.source == source and e.trigger == trigger and e.dest == dest and not e.limit_reached
    )


def entered_by_reading(history: list[Entry], state: str) -> int:
    count, previous = 0, None
    for entry in history:
        if entry.state == state and previous != state:
            count += 1
        previous = entry.state
    return count


def held_by_reading(history: list[Entry]) -> dict[str, RecordWritten]:
    return {w.record: w for e in history for w in e.records}


# --- histories --------------------------------------------------------------------------------------


@st.composite
def entries(draw: st.DrawFn) -> Entry:
    source = draw(st.sampled_from(STATES))
    dest = draw(st.sampled_from(STATES))
    branched = draw(st.booleans())
    return Entry(
        actor=draw(st.sampled_from(("ann", "bo", "cy"))),
        roles=(),
        trigger=draw(st.sampled_from(("go", "back", None))),
        source=source,
        dest=dest,
        payload={},
        branches=(BranchTaken(dest, None, draw(st.sampled_from(STATES))),) if branched else (),
        by_deadline=draw(st.booleans()),
        limit_reached=draw(st.booleans()),
        assignment=Assignment("claim", "ann") if draw(st.integers(0, 4)) == 0 else None,
        records=tuple(
            RecordWritten(record, draw(st.integers(1, 9)), {})
            for record in draw(st.lists(st.sampled_from(("form", "report")), max_size=2))
        ),
        clocks=tuple(
            ClockMark(clock, event)
            for clock, event in draw(
                st.lists(
                    st.tuples(
                        st.sampled_from(("promise", "follow_up", "gone")),
                        st.sampled_from(("started", "restarted", "paused", "resumed", "stopped", "warning", "limit")),
                    ),
                    max_size=2,
                )
            )
        ),
        at=AT + datetime.timedelta(hours=draw(st.integers(0, 1000))),
    )


def start() -> Entry:
    return Entry(AT, "ann", (), None, None, "a", {})


def instance(history: list[Entry]) -> Instance:
    return Instance("case", "p", 1, "hash", history[-1].state, {}, AT, (), history)


def assert_same_answers(case: Instance) -> None:
    history = case.history
    for kept in (loops_of(case), actors_of(case, STATES), records_of(case)):
        assert kept.length == len(history)
    for scope in ("history", "round"):
        for states in (("a",), ("b", "c"), STATES):
            assert actors_of(case, states).who_acted(history, scope) == actors_by_reading(history, states, scope)
    loops = loops_of(case)
    for source in STATES:
        for dest in STATES:
            for trigger in ("go", "back"):
                assert loops.times_taken(source, trigger, dest) == taken_by_reading(history, source, trigger, dest)
    for state in STATES:
        assert loops.times_entered(state) == entered_by_reading(history, state)
    clocks = clocks_of(case)
    assert clocks.length == len(history)
    assert clocks.marked == any(e.clocks for e in history)
    runs = clocks.runs(CLOCKED)  # type: ignore[arg-type]
    assert runs == runs_of(CLOCKED, history)  # type: ignore[arg-type]
    for run in runs.values():  # the caller's to change: the courses kept stay as they were
        run.spans.append((AT, AT))
        run.reached["limit"] = AT
    assert clocks.runs(CLOCKED) == runs_of(CLOCKED, history)  # type: ignore[arg-type]
    assert clocks.current(CLOCKED) == runs_of(CLOCKED, history)  # type: ignore[arg-type]  # the same, to read
    held = records_of(case)
    assert held.held == held_by_reading(history)
    assert list(held.held) == list(held_by_reading(history))  # records in the order first made
    for needed in (("form",), ("report",), ("form", "report"), ()):
        assert held.lacks(needed) == any(r not in held_by_reading(history) for r in needed)


@settings(max_examples=300, deadline=None)
@given(st.lists(entries(), max_size=25), st.lists(st.integers(0, 25), max_size=6))
def test_facts_folded_in_any_steps_answer_as_reading_the_history(later, asked_at):
    case = instance([start()])
    for cut in sorted(asked_at):  # a case asked now and then, as events come
        while case.version <= min(cut, len(later)):
            case.history.append(later[case.version - 1])
        assert_same_answers(case)
    case.history.extend(later[case.version - 1 :])
    assert_same_answers(case)


@settings(max_examples=200, deadline=None)
@given(st.lists(entries(), min_size=2, max_size=12), st.data())
def test_a_history_rewritten_is_read_afresh_once_its_answers_are_dropped(later, data):
    """Entries are only appended; code that rewrites a history (corrects an entry by hand) drops what
    was worked out of it, and is then answered from the history as it now is."""
    case = instance([start(), *later])
    assert_same_answers(case)
    index = data.draw(st.integers(1, len(later)))
    case.history[index] = data.draw(entries())
    del case.history[data.draw(st.integers(1, len(case.history) - 1))]
    case.facts_cache = None
    assert_same_answers(case)


@settings(max_examples=100, deadline=None)
@given(st.lists(entries(), min_size=2, max_size=12), st.data())
def test_an_answer_kept_is_not_used_for_another_history(later, data):
    case = instance([start(), *later])
    assert_same_answers(case)
    # Another history handed the answers kept (as a store hands them to each load) whose last entry is
    # another (an event undone and another taken), or a shorter one: they cannot answer for it.
    other = replace(case, history=[*case.history[:-1], data.draw(entries())])
    assert other.facts_cache is None  # a copy starts without them
    other.facts_cache = dict(case.facts_cache or {})
    assert_same_answers(other)
    shorter = replace(case, history=case.history[: data.draw(st.integers(1, len(case.history) - 1))])
    shorter.facts_cache = dict(case.facts_cache or {})
    assert_same_answers(shorter)
    case.history.append(data.draw(entries()))  # and the first goes on from its own
    assert_same_answers(case)


def test_an_event_reads_only_the_entries_appended_since():
    case = instance([start(), *[Entry(AT, "bo", (), "go", "a", "a", {}) for _ in range(500)]])
    before = loops_of(case)
    case.history.append(Entry(AT, "cy", (), "go", "a", "b", {}))
    after = loops_of(case)
    assert after.length == before.length + 1
    assert loops_of(case) is after  # asked again: nothing more is read
    assert before.times_taken("a", "go", "a") == 500 and before.times_taken("a", "go", "b") == 0  # unchanged
    assert after.times_taken("a", "go", "b") == 1


def test_a_store_hands_the_answers_to_the_next_event(tmp_path, monkeypatch):
    """Reloaded from a SQLite store, an instance comes with what its last event worked out, so a later
    event reads only the entries since, however long the case has run."""
    from benchmarks.workload import PROCESS_FILE, load_workload
    from engine.history_facts import Actors
    from engine.service import Workflows

    workload = load_workload()
    to_plan, again = workload.events[:8], workload.events[8:10]  # to the plan's review; send back, resubmit
    with Workflows(f"sqlite:///{tmp_path / 'store.db'}") as flows:
        flows.register(PROCESS_FILE)
        case = flows.start(workload.process.id, workload.starter).id
        for event in [*to_plan, *again * 20]:
            flows.fire(case, event.trigger, event.actor, event.payload)
        read: list[int] = []
        extend = Actors.extended
        monkeypatch.setattr(
            Actors, "extended", lambda self, entries: read.append(len(entries)) or extend(self, entries)
        )
        for event in again * 3:  # the plan's review asks who planned it (its sign-off), each time
            flows.fire(case, event.trigger, event.actor, event.payload)
        assert flows.get(case).version == 1 + 8 + 2 * 23
    assert read and max(read) == 2  # asked on every other event (the review's), it reads the two since


def test_an_event_that_starts_or_stops_a_clock_leaves_the_courses_read_before_it_as_they_were():
    # The runtime reads the clocks' courses as kept (Clocks.current) and copies only the one an event changes.
    from conftest import PROCESSES

    from engine import Runtime, load_process
    from engine.clocks import idle_run
    from engine.scenarios import load_scenario

    process = load_process(PROCESSES / "return_repair.yaml")
    scenario = load_scenario(PROCESSES / "scenarios" / "return_repair.yaml")
    runtime = Runtime(process)
    case = runtime.start(scenario.starter, at=scenario.start_at)
    read = []
    for event in scenario.events:
        if event.advance or event.refused is not None or event.trigger is None or event.actor is None:
            continue
        courses = clocks_of(case).current(process)
        read.append((courses, {name: run.copied() for name, run in courses.items()}))
        runtime.fire(case, event.trigger, event.actor, event.payload, at=event.at)
    assert any(e.clocks for e in case.history)  # the path starts and stops clocks
    for courses, as_read in read:
        assert courses == as_read
    assert clocks_of(case).runs(process) == runs_of(process, case.history)
    assert _IDLE == idle_run()


def test_the_courses_an_event_that_marks_a_clock_leaves_are_those_its_history_gives():
    # An event that marks a clock keeps the courses it worked out as the next event's answer
    # (history_facts.clocks_moved): they must be those a reading of the whole history gives.
    from conftest import PROCESSES

    from engine import Runtime, load_process
    from engine.scenarios import load_scenario

    process = load_process(PROCESSES / "return_repair.yaml")
    scenario = load_scenario(PROCESSES / "scenarios" / "return_repair.yaml")
    runtime = Runtime(process)
    case = runtime.start(scenario.starter, at=scenario.start_at)
    handed = 0
    for event in scenario.events:
        if event.advance:
            runtime.advance(case, event.at)
        elif event.refused is None and event.trigger is not None and event.actor is not None:
            runtime.fire(case, event.trigger, event.actor, event.payload, at=event.at)
        else:
            continue
        kept = case.facts_cache[Clocks] if case.facts_cache else None
        if kept is None or kept.length != len(case.history) or not case.history[-1].clocks:
            continue
        handed += 1
        afresh = replace(case)  # a copy starts with no answers kept
        assert clocks_of(case) is kept  # the next event reads it as it is
        assert kept.runs(process) == clocks_of(afresh).runs(process) == runs_of(process, case.history)
        assert kept.current(process) == clocks_of(afresh).current(process)
        assert kept.marked
    assert handed >= 4  # rework and follow-up each start and stop; the scenario's advance reaches a point


def test_a_copied_instance_starts_without_the_answers_and_moves_on_alone():
    # The answers hold the definitions they were read for: a deep copy must not copy those, and
    # neither copy may hand the other its answers.
    import copy

    from conftest import PROCESSES

    from engine import Runtime, load_process
    from engine.instances import instance_to_json
    from engine.scenarios import load_scenario

    process = load_process(PROCESSES / "return_repair.yaml")
    scenario = load_scenario(PROCESSES / "scenarios" / "return_repair.yaml")
    runtime = Runtime(process)
    case = runtime.start(scenario.starter, at=scenario.start_at)
    fired = [e for e in scenario.events if e.refused is None and e.trigger is not None and e.actor is not None]
    for event in fired[: len(fired) // 2]:
        runtime.fire(case, event.trigger, event.actor, event.payload, at=event.at)
    assert case.facts_cache
    for made in (copy.copy, copy.deepcopy):
        twin = made(case)
        assert twin.facts_cache is None
        assert instance_to_json(twin) == instance_to_json(case)
    twin = copy.deepcopy(case)
    before = instance_to_json(case)
    for event in fired[len(fired) // 2 :]:
        runtime.fire(twin, event.trigger, event.actor, event.payload, at=event.at)
    assert instance_to_json(case) == before
    assert twin.version > case.version
