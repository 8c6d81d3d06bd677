"""Where instances are kept: ``open_store(url)`` gives a ``Store``.

=================================  =================================================
``sqlite:///procflow.db``          a file relative to the working folder (the default)
``sqlite:////var/lib/pf/pf.db``    an absolute path (four slashes)
``sqlite://:memory:``              SQLite in memory, gone when closed
``postgresql://user@host/db``      PostgreSQL (``pip install 'procflow[postgres]'``)
``memory:``                        a plain in-process store, for tests
=================================  =================================================

Without a URL, ``PROCFLOW_STORE`` is used if set, else ``sqlite:///procflow.db``. An empty URL, and a
PostgreSQL URL without a host or a database, are refused rather than filled in with defaults.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit, urlunsplit

from engine.errors import StoreURLError
from engine.stores.base import (
    DEFAULT_LEASE,
    NO_DUE,
    CaseQuery,
    Damaged,
    DueDeadline,
    Found,
    InstanceSummary,
    JsonScalar,
    NewDefinition,
    ProcessRef,
    Store,
    StoredDefinition,
)

ENVIRONMENT_VARIABLE = "PROCFLOW_STORE"
DEFAULT_URL = "sqlite:///procflow.db"
ACCEPTED = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite://:memory:, "
    "postgresql://user[:password]@host[:port]/database, memory:"
)

__all__ = [
    "CaseQuery",
    "Found",
    "JsonScalar",
    "ACCEPTED",
    "DEFAULT_LEASE",
    "DEFAULT_URL",
    "Damaged",
    "DueDeadline",
    "ENVIRONMENT_VARIABLE",
    "InstanceSummary",
    "NO_DUE",
    "NewDefinition",
    "ProcessRef",
    "Store",
    "StoredDefinition",
    "open_store",
    "resolve_url",
]


def resolve_url(url: str | None = None) -> str:
    """The URL a store would be opened at: ``url``, else ``$PROCFLOW_STORE``, else the default.
    An empty URL, given or in the variable, is refused (``StoreURLError``) rather than read as the
    default: it is most often a variable that was meant to be set."""
    if url is None:
        url = os.environ.get(ENVIRONMENT_VARIABLE)
        if url is None:
            return DEFAULT_URL
        if not url.strip():
            raise StoreURLError(
                f"${ENVIRONMENT_VARIABLE} is set but empty; set it to a store URL ({ACCEPTED}) or unset it "
                f"to use {DEFAULT_URL}"
            )
    if not url.strip():
        raise StoreURLError(f"the store URL is empty; give one of: {ACCEPTED} (or leave it out for {DEFAULT_URL})")
    return url


def open_store(url: str | None = None) -> Store:
    """Open the store at ``url`` (see the module's table), creating and upgrading its tables.
    ``StoreURLError`` names a URL that is none of the accepted forms; ``StoreError`` says why a
    store cannot be opened."""
    url = resolve_url(url)
    if url == "memory:":
        from engine.stores.memory import MemoryStore

        return MemoryStore()
    if url.startswith("sqlite:"):
        from engine.stores.sqlite import MEMORY, SQLiteStore

        path = _sqlite_path(url)
        return SQLiteStore(path, url=url if path != MEMORY else "sqlite://:memory:")
    if url.startswith(("postgresql://", "postgres://")):
        _check_postgres_url(url)
        try:
            from engine.stores.postgres import PostgresStore
        except ImportError as exc:
            raise StoreURLError(
                f"store `{hide_password(url)}`: PostgreSQL needs psycopg; install procflow[postgres]"
            ) from exc
        return PostgresStore(url, shown_as=hide_password(url))
    raise StoreURLError(f"`{hide_password(url)}` is not a store URL procflow knows; use one of: {ACCEPTED}")


def _sqlite_path(url: str) -> str:
    from engine.stores.sqlite import MEMORY

    if url in ("sqlite://", "sqlite://:memory:", "sqlite:///:memory:"):
        return MEMORY
    if not url.startswith("sqlite:///") or url == "sqlite:///" or "?" in url:
        raise StoreURLError(
            f"`{url}` is not a SQLite store URL: write sqlite:///relative/path.db (three slashes), "
            f"sqlite:////absolute/path.db (four) or sqlite://:memory:"
        )
    return url[len("sqlite:///") :]


def _check_postgres_url(url: str) -> None:
    """Refuse a PostgreSQL URL without a host or a database: libpq would fill them in from its defaults
    (the local socket, a database named after the user) and procflow would create its tables there."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- reading it checks it is a number
    except ValueError as exc:
        raise StoreURLError(f"a PostgreSQL store URL procflow cannot read ({exc})") from exc
    query = parse_qs(parts.query)
    missing = [
        *(["host"] if not parts.hostname and not query.get("host") else []),
        *(["database"] if not parts.path.strip("/") and not query.get("dbname") else []),
    ]
    if missing:
        raise StoreURLError(
            f"store `{hide_password(url)}` names no {' and no '.join(missing)}: "
            f"write postgresql://user[:password]@host[:port]/database"
        )


def hide_password(url: str) -> str:
    """The URL with its password, if any, replaced by ``***``: what messages may show."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "(a URL that cannot be read)"
