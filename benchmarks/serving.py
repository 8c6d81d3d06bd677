"""Section 7: events per second over HTTP (``procflow serve``) beside ``Workflows.fire`` in process.

``procflow serve processes/return_repair.yaml`` runs as a real server process (uvicorn) on a free
port of 127.0.0.1, against a fresh SQLite file store and then a fresh PostgreSQL schema. Every actor
of the workload's path is a user of a users file made with ``engine.http.auth`` (their roles, one
bearer token each). The client starts its cases over HTTP, then drives them along the path: each
event a ``POST /procedures/return_repair/cases/{case}/events/{trigger}`` with the payload as JSON,
on keep-alive ``http.client`` connections, first one client, then ``CLIENTS`` clients at once
(threads, each with its own connection and its own cases). Only the events are timed. Beside it the
same number of events go through ``Workflows.fire`` in this process on a fresh store of the same
kind. The note gives the CPU time per event of the client (this process, all its threads) and of
the server process (from /proc, where there is one).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from benchmarks.report import Row, Size
from benchmarks.stores_postgres import DEFAULT_POSTGRES, postgres_problem, schema
from benchmarks.workload import PROCESS_FILE, ROOT, Workload, load_workload

SECTION = "7 HTTP"
CLIENTS = 4
WORKERS = max(2, os.cpu_count() or 1)
"""Server processes of the deployed server: one per core (two at least, so the row shows more than one)."""
TARGET = 0.5
"""The issue's bound: events over HTTP at least half as many per second as in process."""
READY_SECONDS = 30.0


def serving(size: Size) -> list[Row]:
    try:
        import uvicorn  # noqa: F401

        from engine.http import auth  # noqa: F401
    except ImportError as exc:
        return [Row(SECTION, "not measured", None, "", note=f"the `serve` extra is not installed ({exc})")]
    workload = load_workload()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="procflow-bench-") as folder:
        base = Path(folder)
        tokens = _users(base / "users.yaml", workload)
        rows += _measure("SQLite", lambda name: f"sqlite:///{base / f'{name}.db'}", workload, tokens, base, size)
        url = os.environ.get("PROCFLOW_BENCH_POSTGRES") or os.environ.get("PROCFLOW_TEST_POSTGRES") or DEFAULT_POSTGRES
        problem = postgres_problem(url)
        if problem is not None:
            rows.append(Row(SECTION, "PostgreSQL", None, "", note=f"not measured: {problem}"))
            return rows
        with schema(url) as http_url, schema(url) as local_url:
            stores = {"http": http_url, "local": local_url}
            rows += _measure("PostgreSQL", stores.__getitem__, workload, tokens, base, size)
    return rows


def _users(path: Path, workload: Workload) -> dict[str, str]:
    """A user for each actor of the path (and the starter), with their roles; a bearer token each."""
    from engine.http import auth

    roles: dict[str, tuple[str, ...]] = {}
    for actor in (workload.starter, *(event.actor for event in workload.events)):
        held = tuple(actor.roles)
        if roles.setdefault(actor.id, held) != held:
            raise ValueError(f"actor `{actor.id}` takes the path with two sets of roles; a user has one")
    for name, held in roles.items():
        auth.add_user(path, name, held, None)
    return {name: auth.new_token(path, name) for name in roles}


def _measure(
    store: str, url_of: Callable[[str], str], workload: Workload, tokens: dict[str, str], folder: Path, size: Size
) -> list[Row]:
    """``size.rounds`` rounds of the three contenders in turn (in process, one client, ``CLIENTS``
    clients), each driving its own fresh cases in each round; the median round's rate is kept."""
    from engine.service import Workflows

    per_client = max(1, size.http_instances // CLIENTS)
    instances = per_client * CLIENTS
    names = ("local", "one", "many", "cores")
    rates: dict[str, list[float]] = {name: [] for name in names}
    cpus = dict.fromkeys(names, 0.0)
    served: dict[str, float | None] = dict.fromkeys(names[1:], 0.0)
    users = folder / "users.yaml"
    with (
        Workflows(url_of("local")) as flows,
        _server(url_of("http"), users) as single,
        _server(url_of("http"), users, WORKERS) as several,
    ):
        flows.register(PROCESS_FILE)
        contenders = [("one", single, [instances]), ("many", single, [per_client] * CLIENTS)]
        contenders.append(("cores", several, [per_client] * CLIENTS))
        for _ in range(size.rounds):
            rate, cpu = _in_process(flows, workload, instances)
            rates["local"].append(rate)
            cpus["local"] += cpu
            for name, (port, pid), shares in contenders:
                before = _cpu_of(pid)
                rate, cpu = _over_http(port, workload, tokens, shares)
                after = _cpu_of(pid)
                rates[name].append(rate)
                cpus[name] += cpu
                known = served[name]
                served[name] = None if known is None or before is None or after is None else known + after - before
    events = len(workload.events)
    total = instances * events * size.rounds
    local = statistics.median(rates["local"])
    rounds = f"{size.rounds} rounds" if size.rounds > 1 else "1 round"
    return [
        Row(
            SECTION,
            f"{store}: Workflows.fire in process ({instances} cases × {events} events, {rounds})",
            local,
            "events/s",
            note=f"CPU {cpus['local'] / total * 1e6:.0f} µs/event",
        ),
        *(
            _http_row(store, clients, statistics.median(rates[name]), cpus[name], served[name], local, total, target)
            for name, clients, target in (
                ("one", "1 client, 1 server process", False),
                ("many", f"{CLIENTS} clients at once, 1 server process", False),
                ("cores", f"{CLIENTS} clients at once, {WORKERS} server processes (`--workers`)", True),
            )
        ),
    ]


def _http_row(
    store: str,
    clients: str,
    rate: float,
    cpu: float,
    server_cpu: float | None,
    local: float,
    total: int,
    target: bool,
) -> Row:
    """A row of HTTP events per second against ``local``; the issue's bound is checked on the server as
    it is deployed (a process per core), the other rows show what one process gives."""
    server = "" if server_cpu is None else f", server CPU {server_cpu / total * 1e6:.0f} µs/event"
    return Row(
        SECTION,
        f"{store}: over HTTP, {clients}, keep-alive",
        rate,
        "events/s",
        rate / local,
        f"{rate / local:.2f}× in process",
        f"≥ {TARGET}× in process" if target else "",
        rate / local >= TARGET if target else None,
        f"client CPU {cpu / total * 1e6:.0f} µs/event{server}",
    )


def _in_process(flows: Any, workload: Workload, instances: int) -> tuple[float, float]:
    """Events per second and CPU seconds of ``Workflows.fire`` driving ``instances`` new cases along the path."""
    ids = [flows.start(workload.process.id, workload.starter).id for _ in range(instances)]
    wall, cpu = time.perf_counter(), time.process_time()
    for event in workload.events:
        for instance_id in ids:
            flows.fire(instance_id, event.trigger, event.actor, event.payload)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return instances * len(workload.events) / wall, cpu


def _over_http(port: int, workload: Workload, tokens: dict[str, str], shares: Sequence[int]) -> tuple[float, float]:
    """Events per second and client CPU seconds, one client (thread, connection) per share of cases."""
    from engine.model import thaw_json

    process = workload.process.id
    bodies = [json.dumps(thaw_json(event.payload), ensure_ascii=False).encode("utf-8") for event in workload.events]
    clients = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in shares]
    try:
        cases = [
            [_call(client, f"/procedures/{process}/cases", b"{}", tokens[workload.starter.id])["id"] for _ in range(n)]
            for client, n in zip(clients, shares, strict=True)
        ]
        failures: list[BaseException] = []

        def drive(client: http.client.HTTPConnection, ids: list[str]) -> None:
            try:
                for event, body in zip(workload.events, bodies, strict=True):
                    token = tokens[event.actor.id]
                    for case in ids:
                        _call(client, f"/procedures/{process}/cases/{quote(case)}/events/{event.trigger}", body, token)
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                failures.append(exc)

        threads = [threading.Thread(target=drive, args=pair) for pair in zip(clients, cases, strict=True)]
        wall, cpu = time.perf_counter(), time.process_time()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if failures:
            raise failures[0]
    finally:
        for client in clients:
            client.close()
    return sum(shares) * len(workload.events) / wall, cpu


def _call(client: http.client.HTTPConnection, path: str, body: bytes, token: str) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    client.request("POST", path, body, headers)
    response = client.getresponse()
    text = response.read()
    if response.status not in (200, 201):
        raise RuntimeError(f"POST {path}: {response.status} {text[:300]!r}")
    return json.loads(text)


def _cpu_of(pid: int) -> float | None:
    """CPU seconds (user + system) the process and its children (``--workers``) have used so far, from
    /proc (``None`` elsewhere)."""
    ticks = 0
    for stat in (Path("/proc") / str(pid) / "stat", *Path("/proc").glob("[0-9]*/stat")):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK") if ticks or Path(f"/proc/{pid}").exists() else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def _server(store: str, users: Path, workers: int = 1) -> Iterator[tuple[int, int]]:
    """``procflow serve`` with ``workers`` processes on a free port, until it answers: its port and
    process id. Stopped (and waited for) afterwards."""
    port = _free_port()
    command = [sys.executable, "-m", "engine", "serve", str(PROCESS_FILE), "--store", store]
    command += ["--port", str(port), "--users", str(users), "--workers", str(workers)]
    log = tempfile.TemporaryFile()
    environment = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    server = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log, env=environment)
    try:
        _wait_until_ready(server, port, log)
        yield port, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _wait_until_ready(server: subprocess.Popen[bytes], port: int, log: Any) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"procflow serve stopped ({server.returncode}): {log.read()[-500:]!r}")
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        time.sleep(0.05)
    raise RuntimeError(f"procflow serve did not listen on port {port} within {READY_SECONDS:.0f} s")
