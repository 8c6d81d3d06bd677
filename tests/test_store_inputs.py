"""What the stores accept as instance ids, idempotency keys and store URLs, the same on every store;
how a key sent again is checked; and the errors each store gives for the same mistake.

Ids are 1 to 200 letters (any script), digits and ``- _ . : @`` in NFC form; keys are 1 to 200
printable characters. Whatever is refused is refused before anything is written, with
``InvalidIdentifier`` saying which character is wrong, on memory, SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import io
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_support import CLERK, CUSTOMER, MINIMAL, MONDAY, OUT_OF_WARRANTY, SUPERVISOR, at, minimal_runtime, url_for

from engine import Actor, PermissionDenied
from engine.cli import run
from engine.errors import (
    DuplicateInstance,
    DuplicateKey,
    InvalidIdentifier,
    KeyReused,
    NotFound,
    StaleVersion,
    StoreURLError,
)
from engine.service import Workflows
from engine.stores import open_store, resolve_url
from engine.stores.identifiers import MAX_LENGTH, check_instance_id, check_key

pytest_plugins = ["store_support"]

BAD_IDS = {
    "empty": "",
    "newline": "I-1\n2026-01-01  forged  done",
    "NUL": "I\x001",
    "space": "I 1",
    "tab": "I\t1",
    "slash": "a/b",
    "quote": "it's",
    "too long": "x" * (MAX_LENGTH + 1),
    "lone surrogate": "I-\ud800",
    "right-to-left override": "I-\u202e1",
    "zero width space": "I\u200b1",
    "decomposed é (not NFC)": "cafe\u0301",
    "mark first": "\u0301a",
    "emoji": "I-\U0001f600",
}
GOOD_IDS = ["I-1", "order_42.v2:attempt@host", "报修-001", "Ünïcödé", "x" * MAX_LENGTH, "7"]
BAD_KEYS = {
    "empty": "",
    "only spaces": "   ",
    "NUL": "k\x00",
    "newline": "k\n",
    "tab": "k\tk",
    "too long": "k" * (MAX_LENGTH + 1),
    "lone surrogate": "k\udfff",
    "right-to-left override": "k\u202e",
    "line separator": "k\u2028",
    "private use": "k\ue000",
}
GOOD_KEYS = ["web-form-7731", "a+b/c==", "request 42 from 王", "k" * MAX_LENGTH, "🙂"]


@pytest.fixture
def flows(store_url):
    with Workflows(store_url, clock=lambda: MONDAY) as opened:
        opened.register(MINIMAL)
        yield opened


def nothing_stored(flows: Workflows) -> bool:
    return flows.list() == []


# --- instance ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_an_id_outside_the_rule_is_refused_the_same_on_every_store_and_nothing_is_written(flows, bad):
    with pytest.raises(InvalidIdentifier, match="instance id|an instance id"):
        flows.start("minimal_repair", CUSTOMER, instance_id=bad, at=at())
    assert nothing_stored(flows)
    with pytest.raises(InvalidIdentifier):
        flows.get(bad)  # a lookup says why, rather than "not found" or a driver's error


@pytest.mark.parametrize("good", GOOD_IDS)
def test_an_id_inside_the_rule_is_kept_exactly(flows, good):
    started = flows.start("minimal_repair", CUSTOMER, instance_id=good, at=at())
    assert flows.get(good) == started
    assert [s.id for s in flows.list()] == [good]


def test_the_message_names_the_character_and_the_rule():
    with pytest.raises(InvalidIdentifier) as refused:
        check_instance_id("I-1\nforged")
    assert "character 4 (U+000A" in str(refused.value)
    assert "\n" not in str(refused.value)  # the message itself stays on one line
    assert "letters, digits and - . : @ _" in str(refused.value)


# --- idempotency keys --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_a_key_outside_the_rule_is_refused_on_start_and_fire_and_nothing_is_written(flows, bad):
    with pytest.raises(InvalidIdentifier, match="key"):
        flows.start("minimal_repair", CUSTOMER, key=bad, instance_id="I-1", at=at())
    assert nothing_stored(flows)
    flows.start("minimal_repair", CUSTOMER, instance_id="I-1", at=at())
    with pytest.raises(InvalidIdentifier, match="key"):
        flows.fire("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY, key=bad, at=at())
    assert flows.get("I-1").version == 1  # and the instance can still be read


def test_an_empty_key_leaves_the_instance_readable_and_movable(flows):
    flows.start("minimal_repair", CUSTOMER, instance_id="I-1", at=at())
    with pytest.raises(InvalidIdentifier, match="cannot be empty"):
        flows.fire("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY, key="", at=at())
    flows.fire("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY, at=at())
    assert flows.get("I-1").state == "quote"


@pytest.mark.parametrize("good", GOOD_KEYS)
def test_a_key_inside_the_rule_takes_effect_once(flows, good):
    flows.start("minimal_repair", CUSTOMER, instance_id="I-1", at=at())
    first = flows.fire("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY, key=good, at=at())
    assert flows.fire("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY, key=good, at=at()) == first
    assert [e.key for e in flows.history("I-1")] == [None, good]


@st.composite
def texts(draw: st.DrawFn) -> str:
    return draw(
        st.one_of(
            st.text(max_size=8),
            st.text(st.characters(codec=None), min_size=MAX_LENGTH - 2, max_size=MAX_LENGTH + 2),
            st.sampled_from([*BAD_IDS.values(), *BAD_KEYS.values(), *GOOD_IDS, *GOOD_KEYS]),
        )
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts(), as_key=st.booleans())
def test_every_store_accepts_and_refuses_exactly_the_same_ids_and_keys(backend, request, text, as_key):
    # The memory store against a database: the same texts are kept (and read back) or refused alike.
    outcomes = []
    for url in ("memory:", url_for(request, backend)):
        with Workflows(url) as flows:
            flows.register(MINIMAL)
            instance_id = uuid.uuid4().hex if as_key else text
            try:
                started = flows.start(
                    "minimal_repair", CUSTOMER, instance_id=instance_id, key=text if as_key else None, at=at()
                )
            except InvalidIdentifier:
                outcomes.append("refused")
                continue
            except DuplicateInstance:  # hypothesis tried this id before, on this database
                started = flows.get(instance_id)
            stored = flows.get(started.id)
            outcomes.append((stored.id if not as_key else "an id", stored.history[0].key))
    assert outcomes[0] == outcomes[1]
    expected = check_key if as_key else check_instance_id
    try:
        expected(text)
    except InvalidIdentifier:
        assert outcomes[0] == "refused"
    else:
        assert outcomes[0] == ("an id", text) if as_key else (text, None)


# --- a key sent again ---------------------------------------------------------------------------------


def test_starting_with_a_known_key_but_other_data_is_refused(flows):
    first = flows.start("minimal_repair", CUSTOMER, {"model": "X"}, key="order-42", at=at())
    with pytest.raises(KeyReused, match="other data needs a new key"):
        flows.start("minimal_repair", CUSTOMER, {"model": "Y"}, key="order-42", at=at())
    assert flows.start("minimal_repair", CUSTOMER, {"model": "X"}, key="order-42", at=at()).id == first.id
    assert [s.id for s in flows.list()] == [first.id]


def test_starting_with_a_known_key_but_another_id_is_refused(flows):
    flows.start("minimal_repair", CUSTOMER, key="order-42", instance_id="A", at=at())
    with pytest.raises(KeyReused, match="already started instance `A`; starting `B` needs a new key"):
        flows.start("minimal_repair", CUSTOMER, key="order-42", instance_id="B", at=at())
    assert flows.start("minimal_repair", CUSTOMER, key="order-42", instance_id="A", at=at()).id == "A"
    assert [s.id for s in flows.list()] == ["A"]


def test_another_actor_with_a_known_start_key_is_refused_and_learns_nothing(flows):
    flows.start("minimal_repair", CUSTOMER, {"model": "secret-X"}, key="order-42", at=at())
    intruder = Actor("mallory", ["customer"])
    with pytest.raises(KeyReused, match="used by another actor") as refused:
        flows.start("minimal_repair", intruder, {"model": "secret-X"}, key="order-42", at=at())
    assert "secret" not in str(refused.value)
    assert len(flows.list()) == 1


def test_another_actor_with_a_known_event_key_is_refused_and_learns_nothing(flows):
    flows.start("minimal_repair", CUSTOMER, instance_id="I-1", at=at())
    flows.fire("I-1", "submit", CUSTOMER, {"in_warranty": False, "model": "secret-X"}, key="k", at=at())
    other_customer = Actor("mallory", ["customer"])
    for payload in ({"in_warranty": False, "model": "secret-X"}, {}):
        with pytest.raises(KeyReused, match="used by another actor") as refused:
            flows.fire("I-1", "submit", other_customer, payload, key="k", at=at())
        assert "secret" not in str(refused.value)
    assert flows.get("I-1").version == 2


def test_a_replayed_key_is_checked_against_the_actors_roles_as_a_new_event_would_be(flows):
    flows.start("minimal_repair", CUSTOMER, instance_id="I-1", at=at())
    flows.fire("I-1", "submit", CUSTOMER, OUT_OF_WARRANTY, at=at())
    signed = flows.fire("I-1", "send_quote", SUPERVISOR, {"quote": 300}, key="q", at=at(hours=1))
    demoted = Actor(SUPERVISOR.id, ["clerk"])  # the same person, no longer a supervisor
    with pytest.raises(PermissionDenied):
        flows.fire("I-1", "send_quote", demoted, {"quote": 300}, key="q", at=at(hours=2))
    assert flows.fire("I-1", "send_quote", SUPERVISOR, {"quote": 300}, key="q", at=at(hours=2)) == signed


def test_a_replayed_start_key_is_checked_against_the_actors_roles(flows):
    first = flows.start("minimal_repair", CUSTOMER, key="order-42", at=at())
    with pytest.raises(PermissionDenied):
        flows.start("minimal_repair", Actor(CUSTOMER.id, ["clerk"]), key="order-42", at=at())
    assert flows.start("minimal_repair", CUSTOMER, key="order-42", at=at()).id == first.id


# --- the same error from every store -----------------------------------------------------------------


def test_every_store_gives_the_same_error_for_the_same_mistake(store_url):
    runtime = minimal_runtime()
    store = open_store(store_url)
    try:
        with pytest.raises(NotFound, match="no definition of process `minimal_repair`"):
            store.insert(runtime.start(CUSTOMER, instance_id="I-0", at=at()))  # not registered yet
        Workflows(store=store).register(MINIMAL)
        with pytest.raises(NotFound, match="no instance `nope`"):
            store.load("nope")
        assert store.entry_for_key("nope", "k") is None
        instance = store.insert(runtime.start(CUSTOMER, instance_id="I-1", at=at()))
        with pytest.raises(DuplicateInstance, match="`I-1`"):
            store.insert(runtime.start(CUSTOMER, instance_id="I-1", at=at()))
        runtime.fire(instance, "submit", CUSTOMER, OUT_OF_WARRANTY, at=at(), key="k")
        store.save(instance, 1)
        stale = store.load("I-1")
        runtime.fire(stale, "hold", CLERK, at=at(), key="k")
        with pytest.raises(StaleVersion, match="at version 2, not 1"):
            store.save(stale, 1)  # stale and a reused key: the version is what is reported
        with pytest.raises(DuplicateKey, match="key `k` is already recorded"):
            store.save(stale, 2)
        with pytest.raises(NotFound, match="no instance `ghost`"):
            ghost = runtime.start(CUSTOMER, instance_id="ghost", at=at())
            runtime.fire(ghost, "submit", CUSTOMER, OUT_OF_WARRANTY, at=at())
            store.save(ghost, 1)
        assert store.load("I-1").version == 2
    finally:
        store.close()


# --- store URLs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "missing"),
    [
        ("postgresql://", "names no host and no database"),
        ("postgres://", "names no host and no database"),
        ("postgresql://db.example.com", "names no database"),
        ("postgresql://db.example.com/", "names no database"),
        ("postgresql://user:secret@db.example.com:5432", "names no database"),
        ("postgresql:///procflow", "names no host"),
    ],
)
def test_a_postgresql_url_without_a_host_or_database_is_refused_not_defaulted(url, missing):
    with pytest.raises(StoreURLError, match=missing) as refused:
        open_store(url)
    assert "secret" not in str(refused.value)
    assert "postgresql://user[:password]@host[:port]/database" in str(refused.value)


def test_an_empty_store_url_is_refused_not_read_as_the_default(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PROCFLOW_STORE", raising=False)
    with pytest.raises(StoreURLError, match="the store URL is empty"):
        open_store("")
    monkeypatch.setenv("PROCFLOW_STORE", "")
    with pytest.raises(StoreURLError, match=r"\$PROCFLOW_STORE is set but empty"):
        resolve_url()
    code, _, err = procflow("list", "--store", "")
    assert code == 2 and "the store URL is empty" in err
    assert not (tmp_path / "procflow.db").exists()


# --- the command line ---------------------------------------------------------------------------------


def procflow(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def test_the_commands_refuse_a_forged_id_or_an_empty_key_in_one_line(sqlite_url):
    code, out, err = procflow(
        "start", str(MINIMAL), "--as", "wang:customer", "--id", "I-1\nI-2  minimal_repair r1", "--store", sqlite_url
    )
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "instance id" in err and "U+000A" in err
    code, out, err = procflow("start", str(MINIMAL), "--as", "wang:customer", "--key", "", "--store", sqlite_url)
    assert (code, out) == (1, "")
    assert "idempotency key cannot be empty" in err
    code, out, _ = procflow("list", "--store", sqlite_url)
    assert (code, out) == (0, "0 instance(s)\n")
