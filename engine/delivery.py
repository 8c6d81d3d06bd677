"""Delivering outbox rows (``engine.outbox``): the address book, signed webhooks, e-mail through SMTP,
and a Python callback for embedders. The worker (``Workflows.deliver_due``) claims rows and calls
``Deliverer.attempt`` on each; this module does the sending and nothing with the store.

The address book is a YAML file (``procflow worker --addresses FILE``, or ``$PROCFLOW_ADDRESSES``)::

    format: procflow-addresses/1
    smtp: {host: mail.example.com, port: 587, from: procflow@example.com,
           starttls: true, username: procflow, password_env: SMTP_PASSWORD}   # all but host optional
    webhooks:
      - name: erp
        url: https://erp.example.com/procflow
        secret_env: ERP_WEBHOOK_SECRET     # or `secret: ...` written in the file
        kinds: [event, deadline, clock, notification]   # optional: default every kind
        processes: [return_repair]                       # optional: default every process
    roles:                 # who a notification or a clock's alert to a role reaches
      qc: {email: [qc@example.com], webhooks: [erp]}
    actors:                # who an assignment to an actor reaches
      li: {email: [li@example.com]}
    retry: {attempts: 8, first_seconds: 10, longest_seconds: 3600}   # optional

Each row goes to every target it names: each webhook whose kinds and processes it matches, the addresses
and webhooks of its roles (``notification``, ``clock``), the addresses of the actor an ``event`` assigns
the step to, and the callback, if there is one. A target that accepts it is noted on the row
(``sent_to``), so a retry sends only to the others.

A webhook is an HTTP POST of the row's payload as JSON, with ``Procflow-Delivery: <id>`` (the same on
every retry: a receiver drops an id it has seen), ``Procflow-Timestamp: <unix seconds>`` and
``Procflow-Signature: sha256=<hex>``, the HMAC-SHA256 with the webhook's secret of the timestamp, a
``.`` and the body; ``verify_signature`` is the receiver's check (it refuses a timestamp more than
``TOLERANCE`` away, so an old request cannot be replayed). A 2xx answer is success; anything else, or
no answer within ``TIMEOUT``, is a failure.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import smtplib
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from engine.errors import AddressBookError, DefinitionError, DeliveryFailed
from engine.loader import load_file
from engine.outbox import KINDS, OutboxRow, RetryPolicy

FORMAT = "procflow-addresses/1"
ENVIRONMENT_VARIABLE = "PROCFLOW_ADDRESSES"
TIMEOUT = 10.0
"""Seconds a webhook or the SMTP server has to answer."""
TOLERANCE = datetime.timedelta(minutes=5)
"""How far a signed timestamp may be from the receiver's clock."""

Callback = Callable[[OutboxRow], None]
"""An embedder's delivery: return to accept the row, raise to have it retried."""


@dataclass(frozen=True, slots=True)
class Webhook:
    name: str
    url: str
    secret: bytes
    kinds: frozenset[str] = frozenset(KINDS)
    processes: frozenset[str] | None = None
    """``None``: every process."""


@dataclass(frozen=True, slots=True)
class Smtp:
    host: str
    port: int = 25
    sender: str = "procflow@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    email: tuple[str, ...] = ()
    webhooks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AddressBook:
    webhooks: Mapping[str, Webhook] = field(default_factory=dict)
    smtp: Smtp | None = None
    roles: Mapping[str, Recipient] = field(default_factory=dict)
    actors: Mapping[str, Recipient] = field(default_factory=dict)
    retry: RetryPolicy = RetryPolicy()


# --- reading the address book --------------------------------------------------------------------


def load_address_book(path: str | Path, environ: Mapping[str, str] = os.environ) -> AddressBook:
    """Read an address book; ``AddressBookError`` naming the file and key of the first thing wrong."""
    where = str(path)
    try:
        document = load_file(path)
    except DefinitionError as exc:  # unreadable, not YAML, too large or too deep: said with its place
        raise AddressBookError(str(exc)) from exc
    return address_book(document.data, where, environ)


def address_book(document: Any, where: str = "address book", environ: Mapping[str, str] = os.environ) -> AddressBook:
    """An address book from its parsed document (the file's format, above)."""
    top = _mapping(document, where, "", {"format", "smtp", "webhooks", "roles", "actors", "retry"})
    if top.get("format") != FORMAT:
        raise AddressBookError(f"{where}: format: must be {FORMAT!r}, got {top.get('format')!r}")
    webhooks: dict[str, Webhook] = {}
    for i, raw in enumerate(_list(top.get("webhooks", []), where, "webhooks")):
        key = f"webhooks[{i}]"
        hook = _mapping(raw, where, key, {"name", "url", "secret", "secret_env", "kinds", "processes"})
        name = _text(hook.get("name"), where, f"{key}.name")
        url = _text(hook.get("url"), where, f"{key}.url")
        if not url.startswith(("http://", "https://")):
            raise AddressBookError(f"{where}: {key}.url: must start with http:// or https://, got {url!r}")
        if name in webhooks:
            raise AddressBookError(f"{where}: {key}.name: a webhook named {name!r} is already listed")
        kinds = frozenset(_texts(hook.get("kinds", list(KINDS)), where, f"{key}.kinds"))
        unknown = sorted(kinds - set(KINDS))
        if unknown:
            raise AddressBookError(f"{where}: {key}.kinds: {unknown[0]!r} is not one of {', '.join(KINDS)}")
        processes = hook.get("processes")
        webhooks[name] = Webhook(
            name,
            url,
            _secret(hook, environ, where, key).encode("utf-8"),
            kinds,
            None if processes is None else frozenset(_texts(processes, where, f"{key}.processes")),
        )
    smtp = None
    if "smtp" in top:
        raw = _mapping(
            top["smtp"], where, "smtp", {"host", "port", "from", "starttls", "username", "password", "password_env"}
        )
        port = raw.get("port", 25)
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise AddressBookError(f"{where}: smtp.port: must be a port number, got {port!r}")
        password = raw.get("password")
        if "password_env" in raw:
            password = environ.get(_text(raw["password_env"], where, "smtp.password_env"))
            if password is None:
                raise AddressBookError(f"{where}: smtp.password_env: ${raw['password_env']} is not set")
        smtp = Smtp(
            _text(raw.get("host"), where, "smtp.host"),
            port,
            _text(raw.get("from", "procflow@localhost"), where, "smtp.from"),
            bool(raw.get("starttls", False)),
            None if raw.get("username") is None else _text(raw["username"], where, "smtp.username"),
            None if password is None else str(password),
        )
    recipients = {}
    for section in ("roles", "actors"):
        found = {}
        for name, raw in _mapping(top.get(section, {}), where, section, None).items():
            key = f"{section}.{name}"
            entry = _mapping(raw, where, key, {"email", "webhooks"})
            email = _texts(entry.get("email", []), where, f"{key}.email")
            if email and smtp is None:
                raise AddressBookError(f"{where}: {key}.email: addresses need an `smtp:` server to send through")
            hooks = _texts(entry.get("webhooks", []), where, f"{key}.webhooks")
            for hook_name in hooks:
                if hook_name not in webhooks:
                    raise AddressBookError(
                        f"{where}: {key}.webhooks: no webhook named {hook_name!r} (listed: {', '.join(webhooks)})"
                    )
            found[str(name)] = Recipient(tuple(email), tuple(hooks))
        recipients[section] = found
    retry = RetryPolicy()
    if "retry" in top:
        raw = _mapping(top["retry"], where, "retry", {"attempts", "first_seconds", "longest_seconds"})
        attempts = raw.get("attempts", retry.attempts)
        if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
            raise AddressBookError(f"{where}: retry.attempts: must be a whole number of 1 or more, got {attempts!r}")
        retry = RetryPolicy(
            attempts,
            _seconds(raw.get("first_seconds", retry.first.total_seconds()), where, "retry.first_seconds"),
            _seconds(raw.get("longest_seconds", retry.longest.total_seconds()), where, "retry.longest_seconds"),
        )
    return AddressBook(webhooks, smtp, recipients["roles"], recipients["actors"], retry)


def _mapping(value: Any, where: str, key: str, allowed: set[str] | None) -> dict[str, Any]:
    if value is None and key:
        return {}
    if not isinstance(value, dict):
        raise AddressBookError(f"{where}: {key or 'the document'}: must be a mapping, got {type(value).__name__}")
    if allowed is not None:
        for name in value:
            if name not in allowed:
                expected = ", ".join(sorted(allowed))
                raise AddressBookError(
                    f"{where}: {(key + '.') if key else ''}{name}: unknown key; expected one of {expected}"
                )
    return value


def _list(value: Any, where: str, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise AddressBookError(f"{where}: {key}: must be a list, got {type(value).__name__}")
    return value


def _text(value: Any, where: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AddressBookError(f"{where}: {key}: must be a non-empty text, got {value!r}")
    return value


def _texts(value: Any, where: str, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    return [_text(v, where, f"{key}[{i}]") for i, v in enumerate(_list(value, where, key))]


def _seconds(value: Any, where: str, key: str) -> datetime.timedelta:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 86400 * 7:
        raise AddressBookError(f"{where}: {key}: must be a number of seconds above 0, up to a week, got {value!r}")
    return datetime.timedelta(seconds=value)


def _secret(hook: Mapping[str, Any], environ: Mapping[str, str], where: str, key: str) -> str:
    if "secret_env" in hook:
        variable = _text(hook["secret_env"], where, f"{key}.secret_env")
        secret = environ.get(variable)
        if not secret:
            raise AddressBookError(f"{where}: {key}.secret_env: ${variable} is not set")
        return secret
    if "secret" in hook:
        return _text(hook["secret"], where, f"{key}.secret")
    raise AddressBookError(f"{where}: {key}: a webhook needs `secret_env` (or `secret`) to sign its deliveries")


# --- signatures ----------------------------------------------------------------------------------


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``Procflow-Signature`` header value: ``sha256=`` and the HMAC of ``<timestamp>.<body>``."""
    return "sha256=" + hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(
    secret: bytes,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime.datetime,
    tolerance: datetime.timedelta = TOLERANCE,
) -> bool:
    """A receiver's check of a webhook request: the signature matches and the timestamp is recent."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lowered.get("procflow-timestamp", ""))
    except ValueError:
        return False
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), lowered.get("procflow-signature", ""))


# --- sending ---------------------------------------------------------------------------------------


CALLBACK = "callback"


@dataclass(frozen=True)
class Attempt:
    """What one attempt on a row did: the targets that now have it, and what failed."""

    sent_to: tuple[str, ...]
    errors: tuple[str, ...]


class Deliverer:
    """Sends rows to their targets by an address book (and a callback); ``attempt`` tries each target
    not yet sent to and never raises for a target's failure."""

    def __init__(
        self,
        book: AddressBook | None = None,
        callback: Callback | None = None,
        *,
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ):
        self.book = book or AddressBook()
        self.callback = callback
        self._clock = clock

    @property
    def retry(self) -> RetryPolicy:
        return self.book.retry

    def targets(self, row: OutboxRow) -> list[str]:
        """Every target the row goes to, in a stable order."""
        message, found = row.message, list[str]()
        for hook in self.book.webhooks.values():
            if message.kind in hook.kinds and (hook.processes is None or message.process_id in hook.processes):
                found.append(f"webhook:{hook.name}")
        people = [self.book.roles[r] for r in message.roles if r in self.book.roles]
        assigned = _assigned_to(row)
        if assigned is not None and assigned in self.book.actors:
            people.append(self.book.actors[assigned])
        for person in people:
            found += [f"webhook:{name}" for name in person.webhooks]
            found += [f"email:{address}" for address in person.email]
        if self.callback is not None:
            found.append(CALLBACK)
        return list(dict.fromkeys(found))

    def attempt(self, row: OutboxRow) -> Attempt:
        sent, errors = list(row.sent_to), list[str]()
        for target in self.targets(row):
            if target in sent:
                continue
            try:
                self.send(row, target)
            except DeliveryFailed as exc:
                errors.append(f"{target}: {exc}")
            except Exception as exc:  # an embedder's callback may raise anything: it is a failed attempt
                errors.append(f"{target}: {type(exc).__name__}: {exc}")
            else:
                sent.append(target)
        return Attempt(tuple(sent), tuple(errors))

    def send(self, row: OutboxRow, target: str) -> None:
        kind, _, name = target.partition(":")
        if target == CALLBACK and self.callback is not None:
            self.callback(row)
        elif kind == "webhook" and name in self.book.webhooks:
            post_webhook(self.book.webhooks[name], row, self._clock())
        elif kind == "email" and self.book.smtp is not None:
            send_mail(self.book.smtp, name, row)
        else:
            raise DeliveryFailed(f"no such target in the address book: {target}")


def _assigned_to(row: OutboxRow) -> str | None:
    event = row.message.payload.get("event")
    assignment = event.get("assignment") if isinstance(event, dict) else None
    to = assignment.get("to") if isinstance(assignment, dict) else None
    return to if isinstance(to, str) and row.message.kind == "event" else None


def body_of(row: OutboxRow) -> bytes:
    return json.dumps(row.message.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def post_webhook(hook: Webhook, row: OutboxRow, now: datetime.datetime) -> None:
    body = body_of(row)
    timestamp = int(now.timestamp())
    request = urllib.request.Request(
        hook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "procflow-worker",
            "Procflow-Delivery": row.message.id,
            "Procflow-Kind": row.message.kind,
            "Procflow-Timestamp": str(timestamp),
            "Procflow-Signature": signature(hook.secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (http(s) checked on load)
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"{hook.url} answered {exc.code}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DeliveryFailed(f"{hook.url}: {getattr(exc, 'reason', exc)}") from exc
    if not 200 <= status < 300:
        raise DeliveryFailed(f"{hook.url} answered {status}")


def send_mail(smtp: Smtp, address: str, row: OutboxRow) -> None:
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = address
    message["Subject"] = _subject(row)
    message["Procflow-Delivery"] = row.message.id
    message.set_content(_text_of(row))
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT) as server:
            if smtp.starttls:
                server.starttls()
            if smtp.username is not None:
                server.login(smtp.username, smtp.password or "")
            server.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"mail to {address} through {smtp.host}:{smtp.port}: {exc}") from exc


def _subject(row: OutboxRow) -> str:
    payload = row.message.payload
    note = payload.get("notification")
    if isinstance(note, dict):
        return f"[procflow] {note.get('en', '')} / {note.get('zh', '')}".strip()
    clock = payload.get("clock")
    if isinstance(clock, dict):
        return f"[procflow] {payload.get('instance')}: clock {clock.get('clock')} {clock.get('event')}"
    return f"[procflow] {payload.get('instance')}: {row.message.kind} in {payload.get('state')}"


def _text_of(row: OutboxRow) -> str:
    payload = row.message.payload
    lines = [
        f"Case {payload.get('instance')} of {row.message.process_id}, now in {payload.get('state')}.",
        f"At {payload.get('at')}.",
    ]
    note = payload.get("notification")
    if isinstance(note, dict):
        lines += ["", str(note.get("en", "")), str(note.get("zh", ""))]
    lines += ["", f"Delivery {row.message.id}"]
    return "\n".join(lines) + "\n"
