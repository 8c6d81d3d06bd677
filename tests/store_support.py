"""Fixtures and helpers the store tests share (loaded with ``pytest_plugins = ["store_support"]``).

PostgreSQL: the address comes from ``PROCFLOW_TEST_POSTGRES`` (``.ci/run`` sets it). When that or
``CI`` is set, an unreachable server FAILS the tests that need it; otherwise the default local
address is tried and, if nothing answers there, those tests are skipped with the reason. Each test
gets its own schema (``t_<random>``, dropped afterwards) through the URL's ``search_path``.

PYTEST_DONT_REWRITE: the test modules import helpers from here before pytest loads it as a plugin.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from engine import Actor, Runtime, instance_to_json, load_process
from engine.service import Workflows

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "tests" / "fixtures" / "minimal.yaml"
PROCS = ROOT / "tests" / "store_procs.py"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
LONG_AGO = dt.datetime(2026, 1, 5, 9, 0, tzinfo=SHANGHAI)
"""A Monday well before today: deadlines of instances started then are due in real time."""

CUSTOMER = Actor("wang", ["customer"])
CLERK = Actor("li", ["clerk"])
SUPERVISOR = Actor("zhou", ["supervisor"])
OUT_OF_WARRANTY = {"in_warranty": False, "model": "X1"}

BACKENDS = ["memory", "sqlite", "postgresql"]
DURABLE = ["sqlite", "postgresql"]


def at(days: float = 0, hours: float = 0) -> dt.datetime:
    return MONDAY + dt.timedelta(days=days, hours=hours)


# --- PostgreSQL --------------------------------------------------------------------------------------


@functools.cache
def _postgres_problem(url: str) -> str | None:
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(url, connect_timeout=5) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def postgres_base_url() -> str:
    """The server to test against; fails or skips the calling test as the module docstring says."""
    configured = os.environ.get("PROCFLOW_TEST_POSTGRES")
    url = configured or DEFAULT_POSTGRES
    problem = _postgres_problem(url)
    if problem is not None:
        if configured or os.environ.get("CI"):
            why = "PROCFLOW_TEST_POSTGRES is set" if configured else "CI is set"
            pytest.fail(f"PostgreSQL at {url} is unreachable ({problem}); {why}, so the store tests must run on it")
        pytest.skip(f"no PostgreSQL at {url} ({problem}); set PROCFLOW_TEST_POSTGRES to test against one")
    return url


def with_schema(url: str, schema: str) -> str:
    # lock_timeout: a lock held by some other session on the shared server fails the test, not hangs it.
    option = quote(f"-csearch_path={schema} -clock_timeout=60s", safe="")
    return f"{url}{'&' if '?' in url else '?'}options={option}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    import psycopg

    base = postgres_base_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    yield with_schema(base, schema)
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute("SET lock_timeout = '30s'")
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def url_for(request: pytest.FixtureRequest, backend: str) -> str:
    if backend == "memory":
        return "memory:"
    if backend == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest) -> str:
    """Every backend (memory, SQLite, PostgreSQL)."""
    return url_for(request, request.param)


@pytest.fixture(params=DURABLE)
def durable_url(request: pytest.FixtureRequest) -> str:
    """The backends several processes can share (SQLite, PostgreSQL)."""
    return url_for(request, request.param)


@pytest.fixture
def workflows(store_url: str) -> Iterator[Workflows]:
    with Workflows(store_url, clock=lambda: MONDAY) as opened:
        opened.register(MINIMAL)
        yield opened


@functools.cache
def minimal_runtime() -> Runtime:
    return Runtime(load_process(MINIMAL), clock=lambda: MONDAY)


# --- looking inside a store --------------------------------------------------------------------------

TABLES = ("definitions", "instances", "entries", "deadlines", "idempotency_keys", "start_keys", "schema_migrations")


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: to show that a refused write changed nothing."""
    if url.startswith("sqlite:"):
        connection = sqlite3.connect(url[len("sqlite:///") :])
        try:
            return {t: sorted(connection.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}
        finally:
            connection.close()
    import psycopg

    with psycopg.connect(url) as connection:
        return {t: sorted(connection.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}


def snapshot(instance: Any) -> str:
    return json.dumps(instance_to_json(instance), sort_keys=True, ensure_ascii=False)


# --- other processes ---------------------------------------------------------------------------------


def spawn(*args: str) -> subprocess.Popen[str]:
    """Run ``tests/store_procs.py`` (or ``-m engine`` when the first argument is ``-m``) in a new process."""
    command = [sys.executable, *args] if args[0] == "-m" else [sys.executable, str(PROCS), *args]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[str, str]:
    """Wait for a child (killing it if it overruns the generous bound) and return its output."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"{process.args} did not finish within {timeout} s\n{err}")
    return out, err


def on_hold(workflows: Workflows, count: int, *, when: dt.datetime = MONDAY) -> list[str]:
    """``count`` instances waiting in `on_hold`, where `remind` loops back any number of times."""
    ids = []
    for _ in range(count):
        instance = workflows.start("minimal_repair", CUSTOMER, at=when)
        workflows.fire(instance.id, "submit", CUSTOMER, OUT_OF_WARRANTY, at=when)
        workflows.fire(instance.id, "hold", CLERK, at=when)
        ids.append(instance.id)
    return ids


def execute(url: str, statement: str, params: tuple[Any, ...] = ()) -> None:
    """Run one statement (``?`` placeholders) on the store's database directly, behind procflow's back:
    how the tests damage a stored record."""
    if url.startswith("sqlite:"):
        connection = sqlite3.connect(url[len("sqlite:///") :])
        try:
            with connection:
                connection.execute(statement, params)
        finally:
            connection.close()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(statement.replace("?", "%s"), params)  # type: ignore[arg-type]
