"""The transactional outbox: every event writes its messages in its own transaction (a refused or failed
write leaves neither), and the worker delivers them at least once, with stable delivery ids, to signed
webhooks (retried with backoff, dead-lettered after the limit), to addresses through SMTP and to a
callback; a worker killed mid-delivery loses nothing."""

from __future__ import annotations

import datetime as dt
import http.server
import io
import json
import os
import random
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURE, mutate
from store_support import CLERK, CUSTOMER, MONDAY, OUT_OF_WARRANTY, SUPERVISOR, execute, finish, spawn

from engine import Actor
from engine.cli import run
from engine.delivery import address_book, load_address_book, signature, verify_signature
from engine.errors import AddressBookError, EventRefused, StoreError
from engine.instances import ClockMark, Entry, Instance, entry_to_json
from engine.outbox import DEAD, DELIVERED, PENDING, RetryPolicy, messages, payload_text
from engine.service import Workflows
from engine.stores.integrity import canonical

pytest_plugins = ["store_support"]

SECRET = "s3cret-for-tests"
# The quote step tells the clerk on entry (a notification due on the `submit` entry).
TOLD = mutate(
    FIXTURE.read_text(encoding="utf-8"),
    (
        "    time_limit: 3 working days\n",
        "    time_limit: 3 working days\n"
        "    notify:\n"
        "      - roles: [clerk]\n"
        '        text: {zh: "型号 {data.model} 需报价", en: "Model {data.model} needs a quote"}\n',
    ),
)


@pytest.fixture
def told_file(tmp_path: Path) -> Path:
    path = tmp_path / "told.yaml"
    path.write_text(TOLD, encoding="utf-8")
    return path


def opened(url: str, told_file: Path, **options: Any) -> Workflows:
    flows = Workflows(url, clock=lambda: MONDAY, **options)
    flows.register(told_file)
    return flows


def quoted(flows: Workflows) -> Instance:
    """A case sent to the quote step: its start, then `submit` with the clerk's notification."""
    instance = flows.start("minimal_repair", CUSTOMER, at=MONDAY)
    flows.fire(instance.id, "submit", CUSTOMER, OUT_OF_WARRANTY, at=MONDAY)
    return instance


# --- written with the event ------------------------------------------------------------------------


def test_each_event_writes_its_messages_with_stable_ids(store_url, told_file):
    with opened(store_url, told_file) as flows:
        case = quoted(flows)
        flows.claim(case.id, SUPERVISOR, at=MONDAY)  # an event that keeps the deadlines: PostgreSQL's one statement
        rows = flows.outbox()
    assert [(r.message.id, r.message.kind, r.state, r.attempts) for r in rows] == [
        (f"{case.id}/0/0", "event", PENDING, 0),
        (f"{case.id}/1/0", "event", PENDING, 0),
        (f"{case.id}/1/1", "notification", PENDING, 0),
        (f"{case.id}/2/0", "event", PENDING, 0),
    ]
    assert rows[3].message.payload["event"]["assignment"]["action"] == "claim"
    note = rows[2].message
    assert note.roles == ("clerk",)
    assert note.payload["notification"]["en"] == "Model X1 needs a quote"
    assert note.payload["delivery"] == note.id and note.payload["process"]["id"] == "minimal_repair"
    assert rows[1].message.payload["event"]["trigger"] == "submit"


def test_a_refused_event_writes_no_message(store_url, told_file):
    with opened(store_url, told_file) as flows:
        case = quoted(flows)
        before = flows.outbox()
        with pytest.raises(EventRefused):
            flows.fire(case.id, "escalate", Actor("wang", ["customer"]), at=MONDAY)
        assert flows.outbox() == before


def test_a_save_that_fails_leaves_neither_the_event_nor_its_messages(durable_url, told_file):
    """The outbox row and the entry are one transaction: a row planted behind procflow's back where the
    next event's first message goes makes that write fail, and the event is not stored either."""
    with opened(durable_url, told_file) as flows:
        case = quoted(flows)
        execute(
            durable_url,
            "INSERT INTO outbox (id, instance_id, process_id, entry_index, kind, roles, payload, created_at, "
            "attempts, next_attempt, state, sent_to) VALUES (?, ?, 'minimal_repair', 2, 'event', '[]', '{}', ?, 0, ?, "
            "'pending', '[]')",
            (f"{case.id}/2/0", case.id, "2026-11-23T01:00:00.000000Z", "2026-11-23T01:00:00.000000Z")
            if durable_url.startswith("sqlite:")
            else (f"{case.id}/2/0", case.id, MONDAY, MONDAY),
        )
        with pytest.raises(StoreError):
            flows.fire(case.id, "escalate", SUPERVISOR, at=MONDAY)
    with Workflows(durable_url) as again:
        assert again.store.load(case.id).version == 2
        assert sorted(r.message.id for r in again.outbox()) == [
            f"{case.id}/0/0",
            f"{case.id}/1/0",
            f"{case.id}/1/1",
            f"{case.id}/2/0",
        ]


def test_a_deadline_fired_tells_that_a_deadline_fired(store_url, told_file):
    with opened(store_url, told_file) as flows:
        case = flows.start("minimal_repair", CUSTOMER, at=MONDAY)
        flows.fire(case.id, "submit", CUSTOMER, OUT_OF_WARRANTY, at=MONDAY)
        flows.fire(case.id, "hold", CLERK, at=MONDAY)
        assert flows.fire_due(MONDAY + dt.timedelta(days=30)) >= 1
        kinds = [r.message.kind for r in flows.outbox(limit=1000) if r.message.entry_index == 3]
    assert kinds == ["event", "deadline"]


def test_a_clock_warning_or_breach_is_told_and_other_clock_marks_are_not():
    at = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    start = Entry(at, "wang", ("customer",), None, None, "apply", {})
    alert = Entry(
        at,
        "procflow",
        (),
        None,
        "repair",
        "repair",
        {},
        clocks=(ClockMark("promise", "started"), ClockMark("promise", "warning", ("lead",)), ClockMark("p", "limit")),
    )
    case = Instance("c1", "p", 1, "h", "repair", {}, at, (), [start, alert])
    told = messages(case, 1)
    assert [(m.id, m.kind, m.roles) for m in told] == [
        ("c1/1/0", "event", ()),
        ("c1/1/1", "clock", ("lead",)),
        ("c1/1/2", "clock", ()),
    ]
    assert told[1].payload["clock"] == {"clock": "promise", "event": "warning", "notify": ["lead"]}
    assert messages(case, 1) == told  # the same entry always gives the same ids


def test_a_stored_payload_sets_in_the_entry_text_as_encoding_it_again_would():
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    start = Entry(at, "li", ("clerk",), None, None, "repair", {"note": "开始"})
    alert = Entry(
        at, "procflow", (), None, "repair", "repair", {"n": [1, 2.5, None]}, clocks=(ClockMark("p", "limit"),)
    )
    case = Instance("c1", "p", 1, "h", "repair", {}, at, (), [start, alert])
    documents = [entry_to_json(e) for e in case.history]
    for message in messages(case, 0, documents):
        text = payload_text(message, canonical, canonical(documents[message.entry_index]))
        assert text == canonical(message.payload)


def test_a_claim_holds_until_its_lease_runs_out(store_url, told_file):
    with opened(store_url, told_file) as flows:
        quoted(flows)
        now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        lease = dt.timedelta(seconds=30)
        first = flows.store.claim_outbox(now, 2, "worker-a", lease)
        second = flows.store.claim_outbox(now, 10, "worker-b", lease)
        later = flows.store.claim_outbox(now + lease, 10, "worker-c", lease)
    assert len(first) == 2 and len(second) == 1
    assert {r.message.id for r in first}.isdisjoint(r.message.id for r in second)
    assert {r.message.id for r in later} == {r.message.id for r in first + second}


# --- a receiver -------------------------------------------------------------------------------------


class Receiver:
    """An HTTP receiver on 127.0.0.1 that checks each request's signature and answers 503 when ``fails``
    says so; ``hang`` makes the first request wait until it is set (a worker killed mid-delivery)."""

    def __init__(self, fails=lambda: False, hang: threading.Event | None = None):
        self.accepted: list[str] = []
        self.seen: list[str] = []
        self.bad_signatures = 0
        self.fails = fails
        self.hang = hang
        self.first_arrived = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                delivery = self.headers["Procflow-Delivery"]
                if not verify_signature(SECRET.encode(), dict(self.headers), body, dt.datetime.now(dt.UTC)):
                    receiver.bad_signatures += 1
                assert json.loads(body)["delivery"] == delivery
                receiver.seen.append(delivery)
                if receiver.hang is not None and not receiver.first_arrived.is_set():
                    receiver.first_arrived.set()
                    receiver.hang.wait(60)
                failing = receiver.fails()
                self.send_response(503 if failing else 204)
                self.end_headers()
                if not failing:
                    receiver.accepted.append(delivery)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.hang is not None:
            self.hang.set()
        self.server.shutdown()
        self.server.server_close()


def book(url: str, attempts: int = 8, **extra: Any) -> dict[str, Any]:
    return {
        "format": "procflow-addresses/1",
        "webhooks": [{"name": "erp", "url": url, "secret": SECRET}],
        "retry": {"attempts": attempts, "first_seconds": 1, "longest_seconds": 8},
        **extra,
    }


def drain(flows: Workflows, start: dt.datetime, rounds: int = 100) -> int:
    """Deliver round after round, each past the longest backoff, until nothing is pending; the rounds."""
    now = start
    for done in range(1, rounds + 1):
        flows.deliver_due(now, limit=1000, lease=dt.timedelta(seconds=1))
        if not flows.outbox(state=PENDING):
            return done
        now += dt.timedelta(seconds=9)
    pytest.fail(f"still pending after {rounds} rounds: {flows.outbox(state=PENDING)}")


def test_every_message_reaches_a_receiver_that_fails_at_random(store_url, told_file):
    chance = random.Random(13)
    with Receiver(fails=lambda: chance.random() < 0.5) as receiver:
        with opened(store_url, told_file, addresses=address_book(book(receiver.url, attempts=50))) as flows:
            cases = [quoted(flows) for _ in range(5)]
            rounds = drain(flows, dt.datetime.now(dt.UTC))
            rows = flows.outbox(limit=1000)
    assert len(rows) == 15 and {r.state for r in rows} == {DELIVERED}
    assert sorted(receiver.accepted) == sorted(r.message.id for r in rows)  # each accepted once
    assert len(receiver.seen) > len(receiver.accepted) and rounds > 1  # some were refused and sent again
    assert set(receiver.seen) == set(receiver.accepted)  # a retry carries the same id
    assert receiver.bad_signatures == 0
    assert {f"{c.id}/1/1" for c in cases} <= set(receiver.accepted)
    assert max(r.attempts for r in rows) > 1


def test_a_message_is_dead_lettered_after_the_limit_and_can_be_retried(sqlite_url, told_file):
    refusing = [True]
    with Receiver(fails=lambda: refusing[0]) as receiver:
        with opened(sqlite_url, told_file, addresses=address_book(book(receiver.url, attempts=3))) as flows:
            flows.start("minimal_repair", CUSTOMER, at=MONDAY)
            now = dt.datetime.now(dt.UTC)
            for n in range(3):
                flows.deliver_due(now + dt.timedelta(seconds=9 * n))
            (row,) = flows.outbox(dead=True)
            assert row.attempts == 3 and row.state == DEAD and "503" in (row.last_error or "")
            assert len(receiver.seen) == 3 and not receiver.accepted
            out = io.StringIO()
            assert run(["outbox", "--store", sqlite_url, "--dead"], stdout=out, stderr=io.StringIO()) == 0
            assert row.message.id in out.getvalue() and "dead" in out.getvalue()
            assert run(["outbox", "--store", sqlite_url, "--retry"], stdout=io.StringIO(), stderr=io.StringIO()) == 0
            refusing[0] = False
            flows.deliver_due(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
            assert [r.state for r in flows.outbox()] == [DELIVERED]
    assert receiver.accepted == [row.message.id]


def test_a_callback_is_given_each_row_and_a_raise_means_retry(store_url, told_file):
    got: list[str] = []

    def deliver(row):
        got.append(row.message.id)
        if len(got) == 1:
            raise ConnectionError("the embedder's queue is down")

    with opened(store_url, told_file, deliver=deliver) as flows:
        case = flows.start("minimal_repair", CUSTOMER, at=MONDAY)
        now = dt.datetime.now(dt.UTC)
        first = flows.deliver_due(now)
        assert first.claimed == 1 and "ConnectionError" in (first.retried[0].last_error or "")
        drain(flows, now + dt.timedelta(seconds=9))
    assert got == [f"{case.id}/0/0", f"{case.id}/0/0"]


# --- e-mail -----------------------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[Any]]]:
    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    with socket.socket() as probe:  # the Controller checks it is up by connecting to the port it was given
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


def test_a_notification_to_a_role_is_mailed_to_its_addresses(store_url, told_file, smtp_server):
    port, received = smtp_server
    addresses = address_book(
        {
            "format": "procflow-addresses/1",
            "smtp": {"host": "127.0.0.1", "port": port, "from": "procflow@example.com"},
            "roles": {"clerk": {"email": ["clerk@example.com", "desk@example.com"]}},
        }
    )
    with opened(store_url, told_file, addresses=addresses) as flows:
        case = quoted(flows)
        flows.deliver_due(dt.datetime.now(dt.UTC))
        rows = flows.outbox()
    assert [r.state for r in rows] == [DELIVERED] * 3  # events with no one to tell are done with
    assert sorted(r for e in received for r in e.rcpt_tos) == ["clerk@example.com", "desk@example.com"]
    text = received[0].content.decode("utf-8")
    assert "Model X1 needs a quote" in text and f"Procflow-Delivery: {case.id}/1/1" in text
    assert rows[2].sent_to == ("email:clerk@example.com", "email:desk@example.com")


# --- a worker killed --------------------------------------------------------------------------------


def test_a_worker_killed_mid_delivery_loses_nothing(durable_url, told_file, tmp_path):
    hang = threading.Event()
    with Receiver(hang=hang) as receiver:
        document = book(receiver.url)
        book_file = tmp_path / "addresses.yaml"
        book_file.write_text(json.dumps(document), encoding="utf-8")  # JSON is YAML
        with opened(durable_url, told_file) as flows:
            for _ in range(3):
                quoted(flows)
        worker = spawn("-m", "engine", "worker", "--store", durable_url, "--addresses", str(book_file), "--lease", "1")
        try:
            assert receiver.first_arrived.wait(120), "the worker never delivered"
            os.kill(worker.pid, signal.SIGKILL)
            finish(worker)
        finally:
            if worker.poll() is None:
                worker.kill()
        hang.set()
        in_flight = receiver.seen[0]
        with Workflows(durable_url, addresses=load_address_book(book_file)) as other:
            drain(other, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2))
            rows = other.outbox(limit=1000)
    assert len(rows) >= 9 and {r.state for r in rows} == {DELIVERED}  # the worker fired overdue deadlines too
    assert set(receiver.accepted) == {r.message.id for r in rows}
    duplicates = {d for d in receiver.seen if receiver.seen.count(d) > 1}
    assert duplicates <= {in_flight}  # at least once: only the delivery in flight came twice, same id
    assert receiver.bad_signatures == 0


# --- signatures and the address book ----------------------------------------------------------------


def test_a_signature_verifies_only_with_the_secret_and_a_recent_timestamp():
    body = b'{"delivery":"c1/0/0"}'
    now = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    stamp = int(now.timestamp())
    headers = {"Procflow-Timestamp": str(stamp), "Procflow-Signature": signature(b"k", stamp, body)}
    assert verify_signature(b"k", headers, body, now)
    assert not verify_signature(b"other", headers, body, now)
    assert not verify_signature(b"k", headers, body + b" ", now)
    assert not verify_signature(b"k", headers, body, now + dt.timedelta(minutes=6))  # a replay, too late


BAD_BOOKS = {
    "format": ({"format": "x"}, "format: must be 'procflow-addresses/1'"),
    "unknown key": ({"format": "procflow-addresses/1", "webhook": []}, "webhook: unknown key"),
    "url": (
        {"format": "procflow-addresses/1", "webhooks": [{"name": "a", "url": "ftp://x", "secret": "s"}]},
        "webhooks[0].url: must start with http:// or https://",
    ),
    "no secret": (
        {"format": "procflow-addresses/1", "webhooks": [{"name": "a", "url": "http://x"}]},
        "webhooks[0]: a webhook needs `secret_env`",
    ),
    "unset secret": (
        {"format": "procflow-addresses/1", "webhooks": [{"name": "a", "url": "http://x", "secret_env": "NOPE_X"}]},
        "webhooks[0].secret_env: $NOPE_X is not set",
    ),
    "kind": (
        {
            "format": "procflow-addresses/1",
            "webhooks": [{"name": "a", "url": "http://x", "secret": "s", "kinds": ["evnt"]}],
        },
        "webhooks[0].kinds: 'evnt' is not one of",
    ),
    "role webhook": (
        {"format": "procflow-addresses/1", "roles": {"qc": {"webhooks": ["erp"]}}},
        "roles.qc.webhooks: no webhook named 'erp'",
    ),
    "email without smtp": (
        {"format": "procflow-addresses/1", "roles": {"qc": {"email": ["q@x"]}}},
        "roles.qc.email: addresses need an `smtp:` server",
    ),
    "attempts": (
        {"format": "procflow-addresses/1", "retry": {"attempts": 0}},
        "retry.attempts: must be a whole number",
    ),
}


@pytest.mark.parametrize("document, message", BAD_BOOKS.values(), ids=BAD_BOOKS.keys())
def test_a_bad_address_book_is_refused_naming_the_key(document, message):
    with pytest.raises(AddressBookError) as refused:
        address_book(document, "book.yaml", environ={})
    assert str(refused.value).startswith("book.yaml: ") and message in str(refused.value)


def test_the_worker_refuses_a_bad_address_book_in_one_line(sqlite_url, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: procflow-addresses/1\nsmtp: {port: 25}\n", encoding="utf-8")
    err = io.StringIO()
    code = run(["worker", "--store", sqlite_url, "--addresses", str(bad), "--once"], stdout=io.StringIO(), stderr=err)
    assert code != 0
    assert err.getvalue() == f"procflow worker: {bad}: smtp.host: must be a non-empty text, got None\n"


def test_the_backoff_grows_with_jitter_up_to_the_longest():
    policy = RetryPolicy(attempts=5, first=dt.timedelta(seconds=10), longest=dt.timedelta(seconds=60))
    assert [policy.delay(n, rand=lambda: 1.0).total_seconds() for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 60, 60]
    assert [policy.delay(n, rand=lambda: 0.0).total_seconds() for n in (1, 2, 3)] == [5, 5, 5]
    assert not policy.gives_up(4) and policy.gives_up(5)
