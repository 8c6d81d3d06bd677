"""The worklist: every open step an actor may act on, served from the store's work items.

The exactness rule: for any history, on every store, an actor's worklist lists exactly the cases where
``Runtime.available`` offers them something (or would, once whoever holds the step lets go), each with
what ``available`` offers, earliest due first, page after page. Claims, releases and assignments are
history entries, replayed exactly; each refusal names why and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import sqlite3
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import SHIPPED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_support import MONDAY, dump, snapshot

from engine import (
    Actor,
    ClaimRefused,
    EventRefused,
    InvalidQuery,
    Runtime,
    StepClaimed,
    instance_to_json,
    load_process,
)
from engine.cli import run
from engine.errors import InvalidActor, StaleVersion
from engine.instances import Instance, instance_from_json
from engine.model import thaw_json
from engine.sampling import Sampler
from engine.scenarios import load_scenario, play
from engine.service import Workflows
from engine.stores import NO_DUE
from engine.stores.integrity import canonical
from engine.stores.postgres import PostgresStore
from engine.work import (
    CaseWork,
    ClockShown,
    MoveWork,
    Offer,
    PartWork,
    Signer,
    StepWork,
    work_from_json,
    work_text,
    work_to_json,
)

pytest_plugins = ["store_support"]

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
PROCEDURES = [
    *SHIPPED,
    FIXTURES / "minimal.yaml",
    FIXTURES / "loops" / "rework.yaml",
    FIXTURES / "loops" / "visits.yaml",
    FIXTURES / "corrections" / "withdrawable.yaml",  # cancels from any step; administrators move by hand
    FIXTURES / "subprocess" / "workshop_repair.yaml",  # before the procedure that starts it
    FIXTURES / "subprocess" / "intake.yaml",
]
WORK_FROM = 7
"""The migration that gave stores their work items."""


def _schema_version(folder: Path) -> int:
    with closing(sqlite3.connect(folder / "store.db")) as db:
        return int(db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0])


FORMATS = sorted(p for p in (FIXTURES / "formats").iterdir() if p.is_dir() and _schema_version(p) < WORK_FROM)
"""The fixture stores written before the worklist."""
PEOPLE = ("wang", "li", "zhou")


class Clock:
    def __init__(self) -> None:
        self.now = MONDAY

    def __call__(self) -> dt.datetime:
        return self.now


def opened(url: str) -> tuple[Workflows, Clock]:
    clock = Clock()
    flows = Workflows(url, clock=clock)
    for path in PROCEDURES:
        flows.register(path)
    return flows, clock


# --- the oracle: Runtime.available on every stored case ---------------------------------------------


def offers_of(choices) -> list[tuple]:
    return [(c.trigger, c.label.zh, c.label.en, c.dest, c.payload_schema, c.part, tuple(c.items)) for c in choices]


def shown(offers) -> list[tuple]:
    return [(o.trigger, o.zh, o.en, o.dest, o.form, o.part, tuple(o.items)) for o in offers]


def unclaimed(instance: Instance) -> Instance:
    """The same case with nobody holding its step (its claims left out of the history)."""
    return replace(instance, history=[e for e in instance.history if e.assignment is None])


def expected(flows: Workflows, actor: Actor, process: str | None = None) -> list[tuple]:
    found = []
    for summary in flows.list(process):
        instance = flows.get(summary.id)
        runtime = flows.runtime(instance.process_id, instance.content_hash)
        if not runtime.available(unclaimed(instance), actor):
            continue
        due = min((d.due for d in instance.deadlines), default=None)
        offers = offers_of(runtime.available(instance, actor))
        found.append(((due or NO_DUE, instance.id), instance.id, offers, runtime.claimant(instance), due))
    return [item[1:] for item in sorted(found, key=lambda item: item[0])]


def listed(flows: Workflows, actor: Actor, process: str | None = None, limit: int = 3) -> list[tuple]:
    """The whole worklist, a page of ``limit`` at a time."""
    found, cursor = [], None
    for _ in range(1000):
        page = flows.worklist(actor, process=process, limit=limit, after=cursor)
        assert len(page.items) <= limit and page.damaged == ()
        found += [(i.instance_id, shown(i.offers), i.claimed_by, i.due) for i in page.items]
        cursor = page.next
        if cursor is None:
            return found
    raise AssertionError("the worklist never ended")


def actors_of(flows: Workflows) -> list[Actor]:
    roles = sorted(
        {r for d in flows.store.definitions() for r in flows.runtime(d.ref.id, d.ref.content_hash).process.roles}
    )
    actors = [Actor(who, [role]) for who in PEOPLE[:2] for role in roles]
    return [*actors, Actor("zhou", roles), Actor("li", ["engineer", "supervisor", "clerk"])]


def assert_exact(flows: Workflows) -> None:
    for actor in actors_of(flows):
        whole = expected(flows, actor)
        assert listed(flows, actor) == whole, actor
        now = flows._clock()
        overdue = [item for item in whole if item[3] is not None and item[3] <= now]
        assert [(i.instance_id, i.due) for i in flows.worklist(actor, overdue=True, limit=10_000).items] == [
            (item[0], item[3]) for item in overdue
        ]
    everyone = actors_of(flows)[-2]
    for definition in flows.store.definitions():
        process = definition.ref.id
        assert listed(flows, everyone, process) == expected(flows, everyone, process), process


# --- random walks ---------------------------------------------------------------------------------


@st.composite
def someone(draw, roles: list[str]) -> Actor:
    held = draw(st.sets(st.sampled_from(roles), min_size=1, max_size=3))
    return Actor(draw(st.sampled_from(PEOPLE)), held)


def walk(flows: Workflows, clock: Clock, data: st.DataObject, name: str) -> None:
    path = data.draw(st.sampled_from(PROCEDURES[:-2] + PROCEDURES[-1:]), label="procedure")
    runtime = flows.runtime(*_ref(flows, path))
    process = runtime.process
    roles = sorted(process.roles)
    start = process.start
    starter = {r for t in runtime.compiled.transitions[start.id] for r in t.roles} | ({start.role} - {None})
    instance_id = f"{name}-{process.id}"
    flows.start(process.id, Actor("wang", starter), instance_id=instance_id)
    for _ in range(data.draw(st.integers(0, 25), label="steps")):
        instance = flows.get(instance_id)
        if process.states[instance.state].is_final:
            break
        action = data.draw(
            st.sampled_from(["fire"] * 6 + ["claim", "release", "assign", "move", "time"]), label="action"
        )
        actor = data.draw(someone(roles), label="actor")
        try:
            if action == "fire":
                choices = flows.available(instance_id, Actor(actor.id, roles))
                if not choices:
                    continue
                choice = data.draw(st.sampled_from(choices), label="choice")
                sampler = Sampler(thaw_json(process.document), data.draw(st.randoms(use_true_random=False)))
                payload = sampler.value(choice.payload_schema) if choice.payload_schema is not None else {}
                if choice.items:
                    payload = {**payload, "item": data.draw(st.sampled_from(choice.items))}
                clock.now += dt.timedelta(minutes=data.draw(st.integers(0, 600)))
                flows.fire(instance_id, choice.trigger, Actor(actor.id, roles), payload)
            elif action == "claim":
                flows.claim(instance_id, actor)
            elif action == "release":
                flows.release(instance_id, actor)
            elif action == "assign":
                flows.assign(instance_id, data.draw(someone(roles), label="to"), Actor(actor.id, {"supervisor"}))
            elif action == "move":
                to = data.draw(st.sampled_from(sorted(process.states)), label="to")
                flows.move(instance_id, to, actor, "corrected by hand")
            else:
                clock.now += dt.timedelta(hours=data.draw(st.integers(1, 24 * 10)))
                flows.fire_due(clock.now)
        except EventRefused:
            pass


def _ref(flows: Workflows, path: Path) -> tuple[str, str]:
    for definition in flows.store.definitions():
        if definition.file == str(path):
            return definition.ref.id, definition.ref.content_hash
    raise AssertionError(path)


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgresql"])
def test_the_worklist_is_what_available_offers_after_random_walks(backend, request):
    from store_support import url_for

    flows, clock = opened(url_for(request, backend))
    walks = iter(range(1_000_000))

    @settings(
        max_examples=12 if backend == "memory" else 8,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.data())
    def check(data: st.DataObject) -> None:
        walk(flows, clock, data, f"w{next(walks)}")
        assert_exact(flows)
        for instance_id in (s.id for s in flows.list()):
            flows.verify(instance_id)  # claims replay too

    try:
        check()
    finally:
        flows.close()


# --- the stored text -------------------------------------------------------------------------------


def test_the_stored_text_of_a_case_s_work_is_its_canonical_json_after_random_walks():
    flows, clock = opened("memory:")
    walks = iter(range(1_000_000))

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def check(data: st.DataObject) -> None:
        walk(flows, clock, data, f"t{next(walks)}")
        for summary in flows.list():
            instance = flows.get(summary.id)
            case = flows.runtime(instance.process_id, instance.content_hash).case_work(instance)
            assert_stored_text_is_canonical(case)

    try:
        check()
    finally:
        flows.close()


def assert_stored_text_is_canonical(case: CaseWork) -> None:
    text = work_text(case)
    assert text == canonical(work_to_json(case))
    assert work_from_json(case.instance_id, case.process_id, json.loads(text)) == case


@pytest.mark.parametrize("path", sorted((ROOT / "processes" / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_the_stored_text_of_a_case_s_work_is_its_canonical_json_at_each_event_of_the_shipped_scenarios(path):
    """Their steps' forms, sign-offs with signers barred and bound, clocks with points ahead."""
    runtime = Runtime(load_process(ROOT / "processes" / path.name))
    played = play(runtime, load_scenario(path))
    history = played.instance.history
    for length in range(1, len(history) + 1):
        instance = runtime.replay(history[:length], instance_id=played.instance.id)
        assert_stored_text_is_canonical(runtime.case_work(instance, history[length - 1].at))


texts = st.text(st.characters(blacklist_categories=["Cs"]), max_size=6)
moments = st.datetimes(timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30))]))
role_sets = st.frozensets(texts, max_size=3)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
offers = st.builds(
    Offer,
    texts,
    texts,
    texts,
    texts,
    st.none() | st.dictionaries(texts, json_values, max_size=3),
    st.none() | texts,
    st.lists(texts, max_size=2).map(tuple),
)
signers = st.builds(Signer, texts, role_sets, st.none() | role_sets, st.integers(0, 5))
cases = st.builds(
    CaseWork,
    texts,
    texts,
    texts,
    texts,
    st.none() | moments,
    st.lists(
        st.builds(ClockShown, texts, texts, texts, texts, st.lists(st.tuples(texts, moments), max_size=2).map(tuple)),
        max_size=2,
    ).map(tuple),
    st.builds(
        StepWork,
        texts,
        st.lists(st.builds(PartWork, texts, role_sets, offers), max_size=2).map(tuple),
        st.lists(
            st.builds(
                MoveWork,
                texts,
                role_sets,
                st.booleans(),
                offers,
                st.lists(signers, max_size=2).map(tuple),
                st.none() | offers,
                st.booleans(),
            ),
            max_size=3,
        ).map(tuple),
        st.none() | texts,
        st.booleans(),
    ),
)


@given(cases)
def test_the_stored_text_of_any_work_is_its_canonical_json(case):
    """Quotes, backslashes, control characters and any other text are escaped as the encoder does."""
    assert work_text(case) == canonical(work_to_json(case))


# --- claims ---------------------------------------------------------------------------------------

CLERK = Actor("li", ["clerk"])
OTHER_CLERK = Actor("chen", ["clerk"])
BOSS = Actor("zhou", ["supervisor"])
CUSTOMER = Actor("wang", ["customer"])
STRANGER = Actor("sun", ["engineer"])
"""Holds no role of `minimal_repair`."""


def repair_case(flows: Workflows, instance_id: str = "C-1") -> str:
    """A `minimal_repair` case waiting in `accept`, a step for clerks."""
    flows.start("minimal_repair", CUSTOMER, instance_id=instance_id)
    flows.fire(instance_id, "submit", CUSTOMER, {"in_warranty": True, "model": "X1"})
    assert flows.get(instance_id).state == "accept"
    return instance_id


@pytest.fixture
def flows(store_url):
    opened_flows, clock = opened(store_url)
    opened_flows.test_clock = clock
    yield opened_flows
    opened_flows.close()


def test_a_claimed_step_shows_its_holder_and_only_they_or_a_supervisor_move_it_on(flows):
    case = repair_case(flows)
    (item,) = flows.worklist(CLERK, process="minimal_repair").items
    assert item.claimed_by is None and item.offers
    entry = flows.claim(case, CLERK)
    assert entry.assignment.action == "claim" and entry.assignment.to == "li" and entry.trigger is None
    (theirs,) = flows.worklist(OTHER_CLERK, process="minimal_repair").items
    assert theirs.claimed_by == "li" and theirs.offers == ()
    (mine,) = flows.worklist(CLERK, process="minimal_repair").items
    assert mine.claimed_by == "li" and [o.trigger for o in mine.offers] == [
        c.trigger for c in flows.available(case, CLERK)
    ]
    trigger = mine.offers[0].trigger
    before = snapshot(flows.get(case))
    with pytest.raises(StepClaimed, match="claimed by `li`") as refused:
        flows.fire(case, trigger, OTHER_CLERK, {})
    assert refused.value.claimed_by == "li" and refused.value.code == "claimed"
    assert snapshot(flows.get(case)) == before
    boss = Actor("zhou", ["clerk", "supervisor"])
    flows.fire(case, trigger, boss, {})  # a supervisor may move on a step someone else holds
    assert flows.get(case).state != "accept"
    flows.verify(case)


def test_release_and_assign(flows):
    case = repair_case(flows)
    flows.claim(case, CLERK)
    flows.release(case, CLERK)
    assert flows.worklist(OTHER_CLERK, process="minimal_repair").items[0].claimed_by is None
    flows.assign(case, OTHER_CLERK, BOSS)
    assert flows.worklist(CLERK, process="minimal_repair").items[0].claimed_by == "chen"
    flows.assign(case, CLERK, BOSS)  # reassigned
    assert flows.runtime("minimal_repair", flows.get(case).content_hash).claimant(flows.get(case)) == "li"
    flows.release(case, BOSS)  # a supervisor releases anyone's claim
    assert flows.worklist(CLERK, process="minimal_repair").items[0].claimed_by is None
    history = flows.history(case)
    assert [e.assignment.action for e in history if e.assignment] == ["claim", "release", "assign", "assign", "release"]
    flows.verify(case)


def _unchanged(flows: Workflows, case: str, attempt, kind, match: str) -> EventRefused:
    before = (snapshot(flows.get(case)), _all_lists(flows))
    with pytest.raises(kind, match=match) as refused:
        attempt()
    assert (snapshot(flows.get(case)), _all_lists(flows)) == before
    return refused.value


def _all_lists(flows: Workflows) -> list:
    return [listed(flows, actor) for actor in (CLERK, OTHER_CLERK, BOSS, CUSTOMER)]


def test_each_bad_claim_is_refused_with_its_reason_and_changes_nothing(flows):
    case = repair_case(flows)
    _unchanged(flows, case, lambda: flows.claim(case, STRANGER), ClaimRefused, "`sun` .* may not act on step `accept`")
    flows.claim(case, CLERK)
    taken = _unchanged(flows, case, lambda: flows.claim(case, OTHER_CLERK), ClaimRefused, "claimed by `li`")
    assert taken.claimed_by == "li"
    _unchanged(flows, case, lambda: flows.claim(case, CLERK), ClaimRefused, "already held by `li`")
    _unchanged(flows, case, lambda: flows.release(case, OTHER_CLERK), ClaimRefused, "claimed by `li`; only they")
    _unchanged(flows, case, lambda: flows.assign(case, OTHER_CLERK, CLERK), ClaimRefused, "only a supervisor")
    _unchanged(flows, case, lambda: flows.assign(case, STRANGER, BOSS), ClaimRefused, "`sun` .* may not act on")
    with pytest.raises(InvalidActor):
        flows.assign(case, Actor("", ["clerk"]), BOSS)
    flows.release(case, CLERK)
    _unchanged(flows, case, lambda: flows.release(case, CLERK), ClaimRefused, "not claimed by anyone")


def test_a_finished_case_cannot_be_claimed(flows):
    case = repair_case(flows)
    flows.fire(case, "accept", CLERK)
    refused = _unchanged(flows, case, lambda: flows.claim(case, CLERK), ClaimRefused, "has finished")
    assert refused.code == "claim"
    assert flows.worklist(CLERK).items == ()


def test_a_claim_ends_when_the_case_leaves_the_step(flows):
    case = repair_case(flows)
    flows.claim(case, CLERK)
    flows.fire(case, "hold", CLERK)
    flows.fire(case, "customer_replied", CUSTOMER)
    instance = flows.get(case)
    assert instance.state == "accept"
    assert flows.runtime(instance.process_id, instance.content_hash).claimant(instance) is None


FINANCE = Actor("qian", ["finance"])


def withdrawable_case(flows: Workflows, instance_id: str = "W-1") -> str:
    """A `withdrawable` case in `review`, a clerks' step with both of its parts still open."""
    flows.start("withdrawable", CUSTOMER, instance_id=instance_id)
    flows.fire(instance_id, "submit", CUSTOMER)
    instance = flows.get(instance_id)
    runtime = flows.runtime(instance.process_id, instance.content_hash)
    assert instance.state == "review" and len(runtime.open_parts(instance)) == 2
    return instance_id


def test_a_move_by_hand_rewrites_the_work_items_and_ends_the_claim(flows):
    case = withdrawable_case(flows)
    flows.claim(case, CLERK)
    assert [i.claimed_by for i in flows.worklist(CLERK, process="withdrawable").items] == ["li"]
    flows.move(case, "refund", BOSS, "the goods were checked at the counter")
    assert flows.store.work_pending(10) == []  # written with the move, not left to be worked out later
    instance = flows.get(case)
    assert instance.state == "refund"
    assert flows.runtime(instance.process_id, instance.content_hash).claimant(instance) is None
    assert flows.worklist(CLERK, process="withdrawable").items == ()
    (item,) = flows.worklist(FINANCE, process="withdrawable").items
    assert (item.step, item.claimed_by) == ("refund", None)
    assert [o.trigger for o in item.offers] == [c.trigger for c in flows.available(case, FINANCE)] == ["refunded"]
    assert_exact(flows)
    flows.verify(case)  # the claim and the move replay


def test_a_cancellation_is_offered_while_parts_are_open_and_whoever_holds_the_step(flows):
    case = withdrawable_case(flows)
    _unchanged(flows, case, lambda: flows.claim(case, CUSTOMER), ClaimRefused, "only a cancellation there")
    flows.claim(case, CLERK)
    (approve,) = [c for c in flows.available(case, CLERK) if c.trigger == "approve"]
    assert approve.ready is False  # its parts are open
    (withdraw,) = flows.available(case, CUSTOMER)
    assert withdraw.trigger == "withdraw" and withdraw.ready is True
    (item,) = flows.worklist(CUSTOMER, process="withdrawable").items
    assert item.claimed_by == "li" and [o.trigger for o in item.offers] == ["withdraw"]
    flows.fire(case, "withdraw", CUSTOMER, {"reason": "bought elsewhere"})
    assert flows.store.work_pending(10) == []
    assert flows.get(case).state == "withdrawn"
    for actor in (CLERK, CUSTOMER, FINANCE, BOSS):
        assert flows.worklist(actor, process="withdrawable").items == ()
    flows.verify(case)


def test_entries_without_an_assignment_keep_their_text():
    case = FORMATS[0] / "instances"
    for path in sorted(case.glob("*.json")):
        written = json.loads(path.read_text(encoding="utf-8"))
        again = instance_to_json(instance_from_json(written))
        assert [e for e in again["history"] if "assignment" in e] == []
        assert again["history"] == written["history"]


# --- paging and bad queries -----------------------------------------------------------------------


def test_pages_follow_each_other_by_cursor_in_due_order(flows):
    for n in range(7):
        flows.test_clock.now = MONDAY + dt.timedelta(hours=(n * 5) % 7)  # due times out of id order, some equal
        repair_case(flows, f"P-{n}")
        repair_case(flows, f"Q-{n}")
    clerk = Actor("li", ["clerk"])
    whole = listed(flows, clerk, limit=100)
    assert len(whole) == 14
    assert listed(flows, clerk, limit=2) == whole == listed(flows, clerk, limit=7) == listed(flows, clerk, limit=1)
    dues = [item[3] or NO_DUE for item in whole]
    assert dues == sorted(dues)
    assert flows.worklist(clerk, limit=14).next is None
    assert [i.instance_id for i in flows.worklist(clerk, limit=14).items] == [i[0] for i in whole]
    overdue = flows.worklist(clerk, overdue=True, at=MONDAY + dt.timedelta(days=365))
    assert [i.instance_id for i in overdue.items] == [i[0] for i in whole if i[3] is not None]
    assert all(i.overdue for i in overdue.items)
    assert flows.worklist(clerk, overdue=True, at=MONDAY - dt.timedelta(days=1)).items == ()


def test_bad_queries_are_refused(flows):
    clerk = Actor("li", ["clerk"])
    with pytest.raises(InvalidQuery, match="does not hold role `engineer`"):
        flows.worklist(clerk, role="engineer")
    for cursor in ("nonsense", "", "W10", "WyJ4IiwgImEiXQ"):
        with pytest.raises(InvalidQuery, match="not a worklist cursor"):
            flows.worklist(clerk, after=cursor)
    with pytest.raises(InvalidQuery, match="at least one"):
        flows.worklist(clerk, limit=0)


# --- stores written before the worklist -----------------------------------------------------------


@pytest.mark.parametrize("folder", FORMATS, ids=[f.name for f in FORMATS])
def test_an_old_store_gets_its_work_items_before_its_first_worklist(folder, tmp_path):
    shutil.copy(folder / "store.db", tmp_path / "store.db")
    with Workflows(f"sqlite:///{tmp_path / 'store.db'}", clock=lambda: MONDAY) as flows:
        stored = len(flows.list())
        assert len(flows.store.work_pending(10_000)) == stored > 0  # marked by migration 7
        assert_exact(flows)
        assert flows.store.work_pending(10_000) == []
        assert flows.fill_work() == 0


def test_an_old_store_copied_into_postgresql_gets_its_work_items(pg_url):
    folder = FORMATS[0]
    PostgresStore(pg_url, shown_as=pg_url, schema_version=_schema_version(folder)).close()
    _copy_rows(folder / "store.db", pg_url)
    with Workflows(pg_url, clock=lambda: MONDAY) as flows:
        assert len(flows.store.work_pending(10_000)) == len(flows.list())
        assert_exact(flows)


def _copy_rows(db: Path, url: str) -> None:
    import psycopg

    with closing(sqlite3.connect(db)) as source, psycopg.connect(url) as target:
        for table in ("definitions", "instances", "entries", "deadlines", "idempotency_keys", "start_keys"):
            rows = source.execute(f"SELECT * FROM {table}")
            columns = [c[0] for c in rows.description]
            marks = ", ".join(["%s"] * len(columns))
            for row in rows.fetchall():
                target.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", row)


def test_a_save_without_work_items_marks_the_case_to_be_worked_out(store_url):
    flows, _ = opened(store_url)
    with flows:
        case = repair_case(flows)
        instance = flows.get(case)
        runtime = flows.runtime(instance.process_id, instance.content_hash)
        runtime.claim(instance, CLERK)
        flows.store.save(instance, instance.version - 1)  # as a caller that gives no work items
        assert flows.store.work_pending(10) == [case]
        assert flows.worklist(OTHER_CLERK, process="minimal_repair").items[0].claimed_by == "li"
        assert flows.store.work_pending(10) == []


def test_a_refused_write_leaves_the_work_items_as_they_were(durable_url):
    flows, _ = opened(durable_url)
    with flows:
        case = repair_case(flows)
        stale = flows.get(case)
        flows.claim(case, CLERK)
        before = (dump(durable_url), _all_lists(flows))
        runtime = flows.runtime(stale.process_id, stale.content_hash)
        runtime.claim(stale, OTHER_CLERK)
        with pytest.raises(StaleVersion):
            flows.store.save(stale, stale.version - 1, runtime.case_work(stale))
        assert (dump(durable_url), _all_lists(flows)) == before


# --- the commands ---------------------------------------------------------------------------------


def procflow(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def test_inbox_claim_release_and_assign_from_the_command_line(sqlite_url):
    with Workflows(sqlite_url) as flows:
        flows.register(FIXTURES / "minimal.yaml")
        for n in range(3):
            repair_case(flows, f"C-{n}")
    store = ("--store", sqlite_url)
    code, out, err = procflow("inbox", "--as", "li:clerk", *store)
    assert (code, err) == (0, "") and out.startswith("3 open step(s) for `li` [clerk]")
    assert "may: accept (受理 / Accept)" in out
    code, out, _ = procflow("inbox", "--as", "li:clerk", "--limit", "2", "--json", *store)
    page = json.loads(out)
    assert code == 0 and len(page["items"]) == 2 and page["next"]
    assert [t["trigger"] for t in page["items"][0]["triggers"]] == ["accept", "hold"]
    code, out, _ = procflow("inbox", "--as", "li:clerk", "--after", page["next"], "--json", *store)
    assert [i["instance"] for i in json.loads(out)["items"]] == ["C-2"]
    assert procflow("claim", "C-0", "--as", "li:clerk", *store)[:2] == (0, "`C-0`: step `accept` claimed by `li`\n")
    code, out, _ = procflow("inbox", "--as", "chen:clerk", *store)
    assert "claimed by `li`" in out and "nothing for you until `li` releases it" in out
    code, _, err = procflow("fire", "C-0", "accept", "--as", "chen:clerk", *store)
    assert code == 1 and "claimed by `li`" in err
    code, _, err = procflow("release", "C-0", "--as", "chen:clerk", *store)
    assert code == 1 and err.startswith("procflow release: refused:") and "claimed by `li`" in err
    code, _, err = procflow("assign", "C-0", "--to", "chen", "--as", "zhou:supervisor", *store)
    assert code == 2 and "--to takes ACTOR:ROLE" in err
    assert procflow("assign", "C-0", "--to", "chen:clerk", "--as", "zhou:supervisor", *store)[0] == 0
    assert procflow("release", "C-0", "--as", "chen:clerk", *store)[0] == 0
    code, out, _ = procflow("history", "C-0", *store)
    assert [
        line.split()[1] for line in out.splitlines() if line.split()[1:2] in (["claim"], ["assign"], ["release"])
    ] == [
        "claim",
        "assign",
        "release",
    ]
    code, _, err = procflow("inbox", "--as", "li:clerk", "--after", "garbage", *store)
    assert code == 1 and "not a worklist cursor" in err
    code, _, err = procflow("inbox", "--as", "li:clerk", "--role", "qc", *store)
    assert code == 1 and "does not hold role `qc`" in err
    code, _, err = procflow("claim", "nobody", "--as", "li:clerk", *store)
    assert code == 1 and "nobody" in err
