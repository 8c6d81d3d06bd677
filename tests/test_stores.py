"""The store contract, run against every backend: memory, SQLite and PostgreSQL.

What a developer relies on: what goes in comes out exactly as the runtime made it; a refused event,
a stale write or a repeated key changes nothing; each distinct content of a definition is kept as a
new revision and an instance runs on the one it started with; a bad URL says what would be right.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_support import (
    CLERK,
    CUSTOMER,
    MINIMAL,
    MONDAY,
    OUT_OF_WARRANTY,
    SUPERVISOR,
    at,
    dump,
    minimal_runtime,
    snapshot,
    url_for,
)

from engine import (
    Actor,
    DefinitionError,
    EventRefused,
    GuardFailed,
    PermissionDenied,
    UnknownTrigger,
    load_process_text,
)
from engine.errors import (
    DuplicateInstance,
    EventConflict,
    KeyReused,
    NotFound,
    StaleVersion,
    StoreError,
    StoreURLError,
)
from engine.service import Workflows
from engine.stores import DEFAULT_URL, ProcessRef, open_store, resolve_url

pytest_plugins = ["store_support"]


def changed_fixture(version: int, time_limit: str = "5 working days", most_quoted: int = 500) -> str:
    text = MINIMAL.read_text(encoding="utf-8")
    text = text.replace("version: 1\n", f"version: {version}\n", 1)
    text = text.replace("conditions: payload.quote <= 500", f"conditions: payload.quote <= {most_quoted}", 1)
    return text.replace("time_limit: 3 working days", f"time_limit: {time_limit}", 1)


# --- round trip ------------------------------------------------------------------------------------


def test_what_is_stored_comes_back_exactly_as_the_runtime_made_it(workflows):
    runtime = minimal_runtime()
    expected = runtime.start(CUSTOMER, {"model": "X"}, at=at(), instance_id="I-1")
    stored = workflows.start("minimal_repair", CUSTOMER, {"model": "X"}, at=at(), instance_id="I-1")
    assert snapshot(stored) == snapshot(expected)
    for trigger, actor, payload, when in [
        ("submit", CUSTOMER, OUT_OF_WARRANTY, at(hours=1)),
        ("hold", SUPERVISOR, {"why": "waiting for 客户 photos"}, at(hours=2)),
        ("remind", CLERK, {}, at(days=1)),
        ("customer_replied", CUSTOMER, {"note": "照片已发送"}, at(days=2)),
    ]:
        entry = runtime.fire(expected, trigger, actor, payload, at=when)
        assert workflows.fire("I-1", trigger, actor, payload, at=when) == entry
    loaded = workflows.get("I-1")
    assert loaded == expected
    assert snapshot(loaded) == snapshot(expected)
    assert workflows.history("I-1") == expected.history
    assert loaded.version == 5
    workflows.verify("I-1")
    [summary] = workflows.list()
    assert (summary.id, summary.state, summary.data, summary.version) == ("I-1", "accept", expected.data, 5)
    assert summary.deadlines == expected.deadlines


def test_an_instance_read_or_written_can_be_changed_without_changing_the_store(workflows):
    workflows.start("minimal_repair", CUSTOMER, {"model": "X"}, at=at(), instance_id="I-1")
    entry, written = workflows.fire_and_get("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY, at=at(hours=1))
    stored = workflows.get("I-1")
    for instance in (written, stored):
        instance.data["model"] = "changed"
        instance.state, instance.deadlines = "done", ()
        instance.history.append(entry)
        if instance.facts_cache is not None:  # what was worked out of the history, if the store kept it
            instance.facts_cache["kept"] = "nothing"
        loaded = workflows.get("I-1")
        assert (loaded.state, loaded.data["model"], loaded.version) == ("quote", "X1", 2) and loaded.deadlines
        assert "kept" not in (loaded.facts_cache or {})
    workflows.fire("I-1", "escalate", SUPERVISOR, at=at(hours=2))
    assert [e.trigger for e in workflows.history("I-1")] == [None, "submit", "escalate"]


def test_a_new_connection_reads_what_another_wrote(durable_url):
    with Workflows(durable_url, clock=lambda: MONDAY) as first:
        first.register(MINIMAL)
        instance = first.start("minimal_repair", CUSTOMER, instance_id="I-1")
        first.fire("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY)
    with Workflows(durable_url, clock=lambda: MONDAY) as second:
        assert second.get("I-1").state == "quote"
        assert second.get("I-1").history[0] == instance.history[0]
        assert [c.trigger for c in second.available("I-1", SUPERVISOR)] == ["send_quote", "escalate", "hold"]


def test_list_filters_by_process_state_and_overdue(workflows):
    waiting = workflows.start("minimal_repair", CUSTOMER, at=at(), instance_id="A")
    workflows.start("minimal_repair", CUSTOMER, at=at(hours=1), instance_id="B")
    workflows.fire("B", "submit", CUSTOMER, OUT_OF_WARRANTY, at=at(hours=1))
    assert [s.id for s in workflows.list()] == ["A", "B"]
    assert [s.id for s in workflows.list(state="quote")] == ["B"]
    assert [s.id for s in workflows.list(process="minimal_repair", state="apply")] == [waiting.id]
    assert workflows.list(process="exchange") == []
    due = workflows.get("B").deadlines[0].due
    assert [s.id for s in workflows.list(overdue_at=due)] == ["B"]
    assert workflows.list(overdue_at=due - dt.timedelta(seconds=1)) == []


# --- nothing changes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "actor", "payload", "refusal"),
    [
        ("send_quote", CUSTOMER, {"quote": 100}, PermissionDenied),
        ("send_quote", SUPERVISOR, {"quote": 900}, GuardFailed),
        ("send_quote", SUPERVISOR, {"quote": "cheap"}, EventRefused),
        ("accept", CLERK, {}, UnknownTrigger),
    ],
    ids=["permission", "guard", "payload", "unknown-trigger"],
)
def test_a_refused_event_changes_nothing_in_the_store(workflows, store_url, trigger, actor, payload, refusal):
    workflows.start("minimal_repair", CUSTOMER, instance_id="I-1")
    workflows.fire("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY, key="k-1")
    before, rows = snapshot(workflows.get("I-1")), _rows(store_url)
    with pytest.raises(refusal):
        workflows.fire("I-1", trigger, actor, payload, key="k-2")
    assert snapshot(workflows.get("I-1")) == before
    assert _rows(store_url) == rows


def test_a_stale_write_is_refused_by_the_store_and_changes_nothing(workflows, store_url):
    workflows.start("minimal_repair", CUSTOMER, instance_id="I-1")
    store, runtime = workflows.store, minimal_runtime()
    mine, theirs = store.load("I-1"), store.load("I-1")
    runtime.fire(theirs, "submit", CUSTOMER, OUT_OF_WARRANTY)
    store.save(theirs, 1)
    rows = _rows(store_url)
    runtime.fire(mine, "withdraw", CUSTOMER)
    with pytest.raises(StaleVersion) as refused:
        store.save(mine, 1)
    assert (refused.value.expected, refused.value.found) == (1, 2)
    assert _rows(store_url) == rows
    assert store.load("I-1").state == "quote"


def test_a_lost_race_is_retried_when_the_event_is_still_allowed(workflows):
    workflows.start("minimal_repair", CUSTOMER, instance_id="I-1")
    workflows.fire("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY)
    workflows.fire("I-1", "hold", CLERK)
    store = workflows.store
    original_load = store.load
    raced = []

    def load_then_race(instance_id):
        instance = original_load(instance_id)
        if not raced:  # another writer slips in between this read and our write
            raced.append(True)
            other = original_load(instance_id)
            minimal_runtime().fire(other, "remind", CLERK, {"by": "other"})
            store.save(other, other.version - 1)
        return instance

    store.load = load_then_race
    entry = workflows.fire("I-1", "remind", CLERK, {"by": "me"})
    store.load = original_load
    history = workflows.history("I-1")
    assert [e.payload for e in history[-2:]] == [{"by": "other"}, {"by": "me"}]
    assert history[-1] == entry


def test_a_lost_race_is_reported_when_the_event_is_no_longer_allowed(workflows):
    workflows.start("minimal_repair", CUSTOMER, instance_id="I-1")
    workflows.fire("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY)
    store = workflows.store
    original_load = store.load
    raced = []

    def load_then_withdraw(instance_id):
        instance = original_load(instance_id)
        if not raced:
            raced.append(True)
            other = original_load(instance_id)
            minimal_runtime().fire(other, "withdraw", CUSTOMER)
            store.save(other, other.version - 1)
        return instance

    store.load = load_then_withdraw
    with pytest.raises(EventConflict, match="no longer allowed") as conflict:
        workflows.fire("I-1", "hold", CLERK)
    store.load = original_load
    assert isinstance(conflict.value.refusal, UnknownTrigger)
    assert [e.trigger for e in workflows.history("I-1")] == [None, "submit", "withdraw"]


# --- idempotency -----------------------------------------------------------------------------------


def test_the_same_key_takes_effect_once_and_returns_the_first_result(workflows):
    workflows.start("minimal_repair", CUSTOMER, instance_id="I-1")
    first = workflows.fire("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY, key="submit-1")
    again = workflows.fire("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY, key="submit-1", at=at(days=1))
    assert again == first
    assert workflows.get("I-1").version == 2
    workflows.fire("I-1", "hold", CLERK, key="hold-1")
    assert workflows.fire("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY, key="submit-1") == first
    assert [e.key for e in workflows.history("I-1")] == [None, "submit-1", "hold-1"]


def test_a_key_sent_with_another_event_is_refused(workflows, store_url):
    workflows.start("minimal_repair", CUSTOMER, instance_id="I-1")
    workflows.fire("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY, key="k")
    rows = _rows(store_url)
    with pytest.raises(KeyReused, match="`k` already recorded `submit`"):
        workflows.fire("I-1", "hold", CUSTOMER, key="k")
    with pytest.raises(KeyReused):
        workflows.fire("I-1", "submit", CUSTOMER, {"in_warranty": True, "model": "X1"}, key="k")
    assert _rows(store_url) == rows


def test_starting_twice_with_one_key_gives_one_instance(workflows):
    first = workflows.start("minimal_repair", CUSTOMER, {"model": "X"}, key="order-42")
    again = workflows.start("minimal_repair", CUSTOMER, {"model": "X"}, key="order-42")
    assert again.id == first.id
    assert [s.id for s in workflows.list()] == [first.id]


def test_an_instance_id_cannot_be_taken_twice(workflows):
    workflows.start("minimal_repair", CUSTOMER, instance_id="I-1")
    with pytest.raises(DuplicateInstance, match="`I-1`"):
        workflows.start("minimal_repair", CUSTOMER, instance_id="I-1")


def test_unknown_ids_are_reported_as_not_found(workflows):
    with pytest.raises(NotFound, match="no instance `nope`"):
        workflows.get("nope")
    with pytest.raises(NotFound, match="no instance `nope`"):
        workflows.fire("nope", "submit", CUSTOMER)
    with pytest.raises(NotFound, match="no definition of process `exchange`"):
        workflows.start("exchange", CUSTOMER)


# --- definitions by revision -----------------------------------------------------------------------


def test_an_old_instance_keeps_running_on_the_definition_it_started_with(store_url, tmp_path):
    definition = tmp_path / "repair.yaml"
    definition.write_text(MINIMAL.read_text(encoding="utf-8"), encoding="utf-8")
    with Workflows(store_url, clock=lambda: MONDAY) as workflows:
        first = workflows.register(definition)
        old = workflows.start("minimal_repair", CUSTOMER, instance_id="old")
        definition.write_text(changed_fixture(2), encoding="utf-8")
        second = workflows.register(definition)
        new = workflows.start("minimal_repair", CUSTOMER, instance_id="new")
        assert (first.version, second.version) == (1, 2)
        assert (first.revision, second.revision) == (1, 2)
        assert (old.process_version, old.content_hash) == (1, first.content_hash)
        assert (new.process_version, new.content_hash) == (2, second.content_hash)
        for instance_id in ("old", "new"):
            workflows.fire(instance_id, "submit", CUSTOMER, OUT_OF_WARRANTY, at=at())
        if store_url == "memory:":  # the rest needs a second process to read the store
            return
    definition.unlink()  # the stored text is what counts now, not the file
    with Workflows(store_url, clock=lambda: MONDAY) as fresh:
        three, five = fresh.get("old").deadlines[0].due, fresh.get("new").deadlines[0].due
        assert three < five  # 3 working days on version 1, 5 on version 2
        fresh.fire("old", "hold", CLERK, at=at(hours=1))
        fresh.verify("old")
        fresh.verify("new")
        assert fresh.latest("minimal_repair") == second


def test_registering_the_same_definition_again_is_harmless(workflows):
    assert workflows.register(MINIMAL) == workflows.register(MINIMAL)
    assert [d.ref.revision for d in workflows.store.definitions()] == [1]


def test_a_changed_definition_under_the_same_version_is_a_new_revision(workflows, store_url, tmp_path):
    # The fixture (revision 1) lets a supervisor quote up to 500; the edit allows 800 and keeps `version: 1`.
    first = workflows.latest("minimal_repair")
    old = workflows.start("minimal_repair", CUSTOMER, instance_id="old")
    changed = tmp_path / "changed.yaml"
    changed.write_text(changed_fixture(1, time_limit="3 working days", most_quoted=800), encoding="utf-8")
    second = workflows.register(changed)
    assert (first.revision, first.version) == (1, 1)
    assert (second.revision, second.version) == (2, 1)
    assert second.content_hash != first.content_hash
    assert workflows.register(changed) == second  # the same content again: the same revision
    assert workflows.latest("minimal_repair") == second
    assert workflows.shares_version(second) == first
    assert workflows.shares_version(first) is None
    assert [d.ref for d in workflows.store.definitions()] == [first, second]

    new = workflows.start("minimal_repair", CUSTOMER, instance_id="new")
    assert (old.content_hash, new.content_hash) == (first.content_hash, second.content_hash)
    assert (workflows.ref_of(old), workflows.ref_of(new)) == (first, second)
    for instance_id in ("old", "new"):
        workflows.fire(instance_id, "submit", CUSTOMER, OUT_OF_WARRANTY)
    with pytest.raises(GuardFailed):
        workflows.fire("old", "send_quote", SUPERVISOR, {"quote": 600})  # more than revision 1 allows
    workflows.fire("new", "send_quote", SUPERVISOR, {"quote": 600})
    workflows.fire("old", "send_quote", SUPERVISOR, {"quote": 400})
    assert (workflows.get("old").state, workflows.get("new").state) == ("accept", "accept")
    assert sorted((s.id, s.process.revision) for s in workflows.list()) == [("new", 2), ("old", 1)]
    workflows.verify("old")
    workflows.verify("new")


def test_processes_registering_at_once_get_distinct_revisions(durable_url, tmp_path):
    contents = [changed_fixture(1, time_limit=f"{days} working days") for days in range(4, 10)]
    barrier = threading.Barrier(len(contents))
    refs: list[ProcessRef] = []

    def register(text: str, index: int) -> None:
        path = tmp_path / f"edit-{index}.yaml"
        path.write_text(text, encoding="utf-8")
        with Workflows(durable_url) as mine:  # a connection of its own, as another process would have
            barrier.wait()
            refs.append(mine.register(path))

    threads = [threading.Thread(target=register, args=(text, i)) for i, text in enumerate(contents)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(refs) == len(contents)
    with Workflows(durable_url) as workflows:
        stored = [d.ref for d in workflows.store.definitions()]
    assert [ref.revision for ref in stored] == list(range(1, len(contents) + 1))
    assert sorted(refs, key=lambda r: r.revision) == stored


def test_a_loaded_process_is_stored_with_its_yaml_text(workflows):
    process = load_process_text(changed_fixture(7), "edited.yaml")
    ref = workflows.register(process)
    stored = workflows.store.definition("minimal_repair", ref.content_hash)
    assert load_process_text(stored.source).content_hash == process.content_hash
    assert ref.version == 7


def test_a_definition_file_that_cannot_be_read_or_is_invalid_is_refused_and_nothing_is_stored(workflows, tmp_path):
    with pytest.raises(DefinitionError, match="cannot read the file"):
        workflows.register(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text(changed_fixture(2).replace("role: supervisor\n", "role: supervisr\n", 1), encoding="utf-8")
    with pytest.raises(DefinitionError, match="supervisr"):
        workflows.register(broken)
    assert [d.ref.revision for d in workflows.store.definitions()] == [1]


def test_a_file_with_a_byte_order_mark_is_stored_as_text_that_loads_again(workflows, tmp_path):
    marked = tmp_path / "bom.yaml"
    marked.write_bytes("\ufeff".encode() + changed_fixture(3).encode())
    ref = workflows.register(marked)
    stored = workflows.store.definition("minimal_repair", ref.content_hash)
    assert stored.file == str(marked)
    assert load_process_text(stored.source).content_hash == ref.content_hash


# --- opening stores --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["sqlite:/x.db", "sqlite:///", "mysql://localhost/db", "procflow.db", "sqlite:///a.db?x=1"]
)
def test_a_bad_url_names_itself_and_the_accepted_forms(url):
    with pytest.raises(StoreURLError) as refused:
        open_store(url)
    assert url.split("?")[0] in str(refused.value)
    assert "sqlite:///" in str(refused.value)


def test_an_unreachable_server_is_a_store_error_without_the_password():
    shown = r"postgresql://me:\*\*\*@127\.0\.0\.1:1/db\?connect_timeout=2: cannot connect"
    with pytest.raises(StoreError, match=shown) as refused:
        open_store("postgresql://me:secret@127.0.0.1:1/db?connect_timeout=2")
    assert "secret" not in str(refused.value)


def test_a_sqlite_file_that_cannot_be_created_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="cannot open the SQLite file"):
        open_store(f"sqlite:///{tmp_path}/no/such/folder/store.db")


def test_the_url_defaults_to_the_environment_then_a_file_in_the_working_folder(monkeypatch):
    monkeypatch.delenv("PROCFLOW_STORE", raising=False)
    assert resolve_url() == DEFAULT_URL == "sqlite:///procflow.db"
    monkeypatch.setenv("PROCFLOW_STORE", "memory:")
    assert resolve_url() == "memory:"
    assert resolve_url("sqlite://:memory:") == "sqlite://:memory:"
    assert open_store().url == "memory:"


def test_the_default_store_is_a_file_in_the_working_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("PROCFLOW_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    with Workflows() as workflows:
        workflows.register(MINIMAL)
    assert (tmp_path / "procflow.db").is_file()


# --- the store is the runtime, kept ----------------------------------------------------------------

ACTORS = [CUSTOMER, CLERK, SUPERVISOR, Actor("qian", ["supervisor", "clerk"])]
EVENTS = st.tuples(
    st.sampled_from(["submit", "send_quote", "escalate", "accept", "hold", "remind", "customer_replied", "withdraw"]),
    st.sampled_from(ACTORS),
    st.one_of(
        st.just({}),
        st.fixed_dictionaries({"in_warranty": st.booleans(), "model": st.sampled_from(["X1", "型号 Y"])}),
        st.fixed_dictionaries({"quote": st.integers(0, 900) | st.floats(0, 900, allow_nan=False)}),
    ),
    st.floats(0, 72),  # hours after the previous step
    st.booleans(),  # let the deadlines due by then fire first
)


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgresql"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(EVENTS, max_size=12))
def test_random_events_through_the_store_equal_the_same_events_in_memory(backend, request, events):
    url = url_for(request, backend) if backend != "sqlite" else "sqlite://:memory:"
    runtime = minimal_runtime()
    instance_id = f"h-{uuid.uuid4().hex}"  # one store may serve several examples
    with Workflows(url, clock=lambda: MONDAY) as workflows:
        workflows.register(MINIMAL)
        expected = runtime.start(CUSTOMER, at=MONDAY, instance_id=instance_id)
        workflows.start("minimal_repair", CUSTOMER, at=MONDAY, instance_id=instance_id)
        now = MONDAY
        for trigger, actor, payload, hours, advance in events:
            now += dt.timedelta(hours=hours)
            if advance:
                runtime.advance(expected, now)
                while workflows.fire_due(now, worker_id="w"):
                    pass
            try:
                entry = runtime.fire(expected, trigger, actor, payload, at=now)
            except EventRefused as refusal:
                with pytest.raises(type(refusal)):
                    workflows.fire(instance_id, trigger, actor, payload, at=now)
            else:
                assert workflows.fire(instance_id, trigger, actor, payload, at=now) == entry
            stored = workflows.get(instance_id)
            assert stored == expected
            assert snapshot(stored) == snapshot(expected)


def _rows(url: str) -> object:
    """Every row of the store's tables (SQL stores); for the memory store, every instance it holds."""
    if url == "memory:":
        return None
    return dump(url)
