"""Issue 13's "done when", as people run it: a staff member's queue, an overdue webhook and an API call
from a curl-like client, against ``procflow serve`` started with one command on SQLite and, with two
server processes and two ``procflow worker`` processes, on PostgreSQL.

Everything runs as separate processes over real sockets; the only thing in this process is the
webhook receiver (on 127.0.0.1) and the client. The procedure (tests/fixtures/quick_deadline.yaml)
waits two seconds before its deadline fires, so the overdue webhook comes while the test watches.
Every wait is bounded and every child is ended in a ``finally``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from http_support import PASSWORD, Users, make_users
from store_support import pg_url  # noqa: F401 (a fixture)

from engine.delivery import verify_signature
from engine.outbox import DELIVERED
from engine.service import Workflows

ROOT = Path(__file__).resolve().parent.parent
PROCEDURE = ROOT / "tests" / "fixtures" / "quick_deadline.yaml"
SECRET = "e2e-webhook-secret"
BOUND = 30.0
"""The longest any one wait may take, in seconds: a wait that runs out fails the test."""


# --- the webhook receiver ---------------------------------------------------------------------------


class Receiver:
    """Webhooks on 127.0.0.1: each request's delivery id, body and whether its signature verified."""

    def __init__(self) -> None:
        self.got: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                valid = verify_signature(SECRET.encode(), dict(self.headers), body, dt.datetime.now(dt.UTC))
                with receiver.lock:
                    receiver.got.append((self.headers.get("Procflow-Delivery", ""), body, valid))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def deliveries(self, kind: str) -> list[tuple[str, dict[str, Any], bool]]:
        with self.lock:
            got = list(self.got)
        return [(d, json.loads(b), ok) for d, b, ok in got if json.loads(b)["kind"] == kind]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def address_book(folder: Path, receiver: Receiver) -> Path:
    path = folder / "addresses.yaml"
    document = {
        "format": "procflow-addresses/1",
        "webhooks": [{"name": "erp", "url": receiver.url, "secret": SECRET}],
        "retry": {"attempts": 8, "first_seconds": 1, "longest_seconds": 2},
    }
    path.write_text(json.dumps(document), encoding="utf-8")  # JSON is YAML
    return path


# --- processes --------------------------------------------------------------------------------------


class Children:
    """The processes a test started, each logging to a file; all ended when the block ends."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        log_path = self.folder / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "engine", *args],
                cwd=ROOT,
                env=os.environ | {"PYTHONPATH": str(ROOT)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.running.append((process, log_path))
        return process, log_path

    def end(self) -> None:
        for process, _ in self.running:
            if process.poll() is None:
                process.terminate()
        for process, _ in self.running:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@contextlib.contextmanager
def children(folder: Path) -> Iterator[Children]:
    started = Children(folder)
    try:
        yield started
    finally:
        started.end()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve(started: Children, name: str, store: str, users: Path) -> str:
    """One ``procflow serve`` command on a free port, waited for until it listens: its base URL."""
    port = free_port()
    process, log = started.start(
        name, "serve", str(PROCEDURE), "--store", store, "--port", str(port), "--users", str(users)
    )
    until(lambda: listening(port, process, log), f"{name} to listen on {port}")
    return f"http://127.0.0.1:{port}"


def listening(port: int, process: subprocess.Popen[bytes], log: Path) -> bool:
    if process.poll() is not None:
        pytest.fail(f"{process.args!r} ended: {log.read_text(encoding='utf-8')}")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def until(done: Callable[[], bool], what: str, bound: float = BOUND) -> None:
    """Poll ``done`` until it holds; fail (never hang) after ``bound`` seconds."""
    ends = time.monotonic() + bound
    while not done():
        if time.monotonic() > ends:
            pytest.fail(f"waited {bound:g} s for {what}")
        time.sleep(0.1)


# --- a curl-like client -----------------------------------------------------------------------------


def call(
    base: str, method: str, path: str, headers: dict[str, str], body: Any = None
) -> tuple[int, dict[str, str], Any]:
    """One request over the socket, as curl sends it: (status, headers by lower-case name, the JSON)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=BOUND) as response:
            status, got, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as refused:
        status, got, raw = refused.code, refused.headers, refused.read()
    return status, {k.lower(): v for k, v in got.items()}, json.loads(raw) if raw else None


def clerk() -> dict[str, str]:
    """li, the staff member: a clerk who signs in with a password."""
    return {"Authorization": "Basic " + base64.b64encode(f"li:{PASSWORD}".encode()).decode()}


def start_case(base: str, users: Users) -> str:
    """A customer's system starts a case and submits it with its bearer token: the case id."""
    status, headers, case = call(base, "POST", "/procedures/quick_review/cases", users.bearer("cara"), {})
    assert status == 201, case
    assert headers["location"] == f"/cases/{case['id']}"
    path = f"/procedures/quick_review/cases/{case['id']}/events/submit"
    status, _, fired = call(base, "POST", path, users.bearer("cara"), {"model": "X1"})
    assert status == 200, fired
    assert fired["case"]["state"]["id"] == "review"
    return str(case["id"])


def queue(base: str, query: str = "") -> list[dict[str, Any]]:
    status, _, page = call(base, "GET", f"/worklist?process=quick_review{query}", clerk())
    assert status == 200, page
    items: list[dict[str, Any]] = page["items"]
    return items


def approve(base: str, case: str, key: str) -> tuple[int, Any]:
    path = f"/procedures/quick_review/cases/{case}/events/approve"
    status, _, fired = call(base, "POST", path, clerk() | {"Idempotency-Key": key}, {})
    return status, fired


def worker(started: Children, name: str, store: str, book: Path, *options: str) -> subprocess.Popen[bytes]:
    process, _ = started.start(name, "worker", "--store", store, "--addresses", str(book), *options)
    return process


def outbox_settled(store: str) -> bool:
    """Nothing left to deliver in the store's outbox (read in this process, after the fact)."""
    with Workflows(store) as flows:
        rows = flows.outbox(limit=1000)
    return bool(rows) and all(row.state == DELIVERED for row in rows)


# --- SQLite: one server, one worker -----------------------------------------------------------------


def test_one_server_on_sqlite_serves_the_queue_the_api_and_the_overdue_webhook(tmp_path: Path) -> None:
    users = make_users(tmp_path)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    with Receiver() as receiver, children(tmp_path) as started:
        base = serve(started, "server", store, users.path)
        case = start_case(base, users)

        (item,) = [i for i in queue(base) if i["case"] == case]
        assert item["step"]["id"] == "review" and item["href"] == f"/cases/{case}"
        assert [t["trigger"] for t in item["triggers"]] == ["approve"]
        assert item["triggers"][0]["href"] == f"/procedures/quick_review/cases/{case}/events/approve"

        first = approve(base, case, "approve-1")
        again = approve(base, case, "approve-1")
        assert first[0] == 200 and first[1]["case"]["state"]["id"] == "waiting"
        assert again[0] == 200 and again[1]["case"] == first[1]["case"]  # the same key took effect once
        status, headers, shown = call(base, "GET", f"/cases/{case}", users.bearer("sam"))
        assert status == 200 and headers["etag"] == '"3"' and shown["state"]["id"] == "waiting"
        (waiting,) = [i for i in queue(base) if i["case"] == case]  # the clerk may chase it now
        assert waiting["step"]["id"] == "waiting" and [t["trigger"] for t in waiting["triggers"]] == ["chase"]
        assert waiting["overdue"] is False and waiting["due"] is not None
        # The limit runs out: the staff member's queue says so before any worker has run.
        until(lambda: [i["case"] for i in queue(base, "&overdue=true")] == [case], "the case to show as overdue")

        book = address_book(tmp_path, receiver)

        def delivered_once() -> bool:
            done = worker(started, f"worker-{time.monotonic_ns()}", store, book, "--once")
            done.wait(timeout=BOUND)
            return bool(receiver.deliveries("deadline"))

        until(delivered_once, "the worker to send the overdue webhook")

    (delivery, payload, valid), *_ = receiver.deliveries("deadline")
    assert valid, "the overdue webhook's signature does not verify with the address book's secret"
    assert delivery == payload["delivery"] and delivery.startswith(f"{case}/")
    assert payload["instance"] == case and payload["process"]["id"] == "quick_review"
    assert payload["deadline"] == {"trigger": "chase", "source": "waiting", "dest": "done"}
    assert all(ok for _, _, ok in receiver.deliveries("event"))


# --- PostgreSQL: two servers, two workers -----------------------------------------------------------

CASES = 6


def test_two_servers_and_two_workers_on_postgresql_lose_no_overdue_webhook(
    tmp_path: Path,
    pg_url: str,  # noqa: F811 (the fixture)
) -> None:
    users = make_users(tmp_path)
    with Receiver() as receiver, children(tmp_path) as started:
        bases = [serve(started, "server-a", pg_url, users.path)]
        bases.append(serve(started, "server-b", pg_url, users.path))
        cases = [start_case(bases[n % 2], users) for n in range(CASES)]

        queues = [queue(base) for base in bases]
        assert queues[0] == queues[1]  # either server answers the staff member the same
        assert sorted(i["case"] for i in queues[0]) == sorted(cases)

        book = address_book(tmp_path, receiver)
        for name in ("worker-a", "worker-b"):
            worker(started, name, pg_url, book, "--interval", "0.2", "--lease", "2")
        for n, case in enumerate(cases):  # the events alternately to each server
            status, fired = approve(bases[(n + 1) % 2], case, f"approve-{case}")
            assert status == 200 and fired["case"]["state"]["id"] == "waiting", fired

        def all_told() -> bool:
            told = {p["instance"] for _, p, _ in receiver.deliveries("deadline")}
            return told == set(cases) and outbox_settled(pg_url)

        until(all_told, f"an overdue webhook for each of the {CASES} cases")
        queues = [queue(base) for base in bases]
        assert queues[0] == queues[1] == []

    with Workflows(pg_url) as flows:
        rows = flows.outbox(limit=1000)
        finished = [flows.get(case).state for case in cases]
    assert finished == ["done"] * CASES
    bodies: dict[str, set[bytes]] = {}
    for delivery, body, valid in receiver.got:
        assert valid, f"{delivery}: the signature does not verify"
        bodies.setdefault(delivery, set()).add(body)
    assert {d: len(b) for d, b in bodies.items()} == dict.fromkeys(bodies, 1)  # a duplicate is the same message
    assert set(bodies) == {row.message.id for row in rows}  # every message in the outbox arrived: none lost
    deadlines = [d for d, p, _ in receiver.deliveries("deadline")]
    assert sorted(set(deadlines)) == sorted(row.message.id for row in rows if row.message.kind == "deadline")
