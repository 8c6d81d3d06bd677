"""Who is calling: users and their roles from a file, never from the request.

The users file (YAML, written by ``procflow users``) names each user with the roles they hold, an
argon2id hash of their password (people, who sign in with HTTP Basic) and the SHA-256 digests of
their bearer tokens (systems: a shop's ERP, a phone app), each token with an id, when it was made
and, once revoked, when. A token is ``pft_<id>_<secret>``: the id finds its digest, the secret is
32 random bytes, shown once when it is made and never kept. The file holds no secret a reader of it
could sign in with.

A request is known by, in order: the trusted reverse proxy's user header (only when the server was
told the proxy's address and the request comes from it; the user must still be in the file, and
their roles are the file's), then ``Authorization: Bearer`` or ``Basic``. Anything else in the
request (a header or a body naming roles) gives no roles. Every failure is logged on the
``procflow.http.auth`` logger with the caller's address and why, never with the secret.

The file is read again when it changes, so a user added or a token revoked counts from the next
request, without restarting the server. An address whose credentials keep failing (20 times in a
minute by default) is made to wait (429), so passwords cannot be guessed at speed; a password once
accepted is remembered (as an HMAC under a key of the process) so that a person's next request does
not pay for argon2 again.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import logging
import math
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.errors import ProcflowError, UsersFileError, printable
from engine.files import write_replacing
from engine.inputs import check_name
from engine.pyyaml import yaml
from engine.runtime import Actor

LOG = logging.getLogger("procflow.http.auth")
FORMAT = 1
"""The users file's format version, written in it."""
TOKEN_PREFIX = "pft_"
DEFAULT_USERS = "procflow-users.yaml"
REALM = "procflow"
CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8", Bearer realm="{REALM}"'
"""The ``WWW-Authenticate`` of a 401: either way of signing in."""

_HASHER = PasswordHasher()
_NOBODY = _HASHER.hash(secrets.token_hex(16))
"""Checked against when the user is unknown, so an unknown name takes as long as a wrong password."""


_REMEMBERED = 10_000
"""How many accepted passwords, and addresses that failed to sign in, are remembered at most (then
forgotten all at once)."""
FAILURES_ALLOWED = 20
FAILURE_WINDOW = 60.0
"""An address may fail to sign in ``FAILURES_ALLOWED`` times in ``FAILURE_WINDOW`` seconds, then waits."""


@dataclass(frozen=True)
class Token:
    id: str
    digest: str
    """SHA-256 of the whole token, hex."""
    created: str
    revoked: str | None = None


@dataclass(frozen=True)
class User:
    name: str
    roles: tuple[str, ...]
    password: str | None = None
    """The argon2id hash of the password; ``None``: the user signs in with tokens only."""
    tokens: tuple[Token, ...] = ()


@dataclass(frozen=True)
class Caller:
    """Who a request comes from, as the users file knows them, and how they signed in."""

    user: User
    method: str
    """``basic``, ``bearer``, ``proxy`` or ``session`` (a page's cookie, ``engine.http.sessions``)."""

    @property
    def actor(self) -> Actor:
        return Actor(self.user.name, self.user.roles)


@dataclass(frozen=True)
class Refusal:
    """Why a request is not known: sent back as a 401, logged with ``reason``."""

    reason: str
    counted: bool = True
    """Whether it counts towards throttling the address: credentials that failed, not none at all."""


@dataclass(frozen=True)
class Throttled:
    """Too many failed sign-ins from the caller's address: sent back as a 429 with ``Retry-After``."""

    retry_after: int
    """Whole seconds until the address may try again."""


@dataclass(frozen=True)
class TrustedProxy:
    """A reverse proxy that signs people in itself and names them in ``header``; believed only for
    requests whose peer address is ``address``."""

    address: str
    header: str


# --- the file --------------------------------------------------------------------------------------


def users_path(given: str | None) -> Path:
    """``--users FILE``, else ``$PROCFLOW_USERS``, else ``procflow-users.yaml`` here."""
    return Path(given or os.environ.get("PROCFLOW_USERS") or DEFAULT_USERS)


def read_users(path: Path) -> dict[str, User]:
    """The users the file names, by name; ``UsersFileError`` when it cannot be read as one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsersFileError(f"{path}: no users file; add a user with `procflow users add NAME --roles ROLE`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsersFileError(f"{path}: cannot read the users file: {exc}") from exc
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise UsersFileError(f"{path}: the users file is not YAML: {exc}") from exc
    users = document.get("users") if isinstance(document, dict) else None
    if not isinstance(users, dict) or document.get("format") != FORMAT:
        raise UsersFileError(f"{path}: not a procflow users file (format {FORMAT}, with `users:`)")
    try:
        return {str(name): _user(str(name), fields) for name, fields in users.items()}
    except (TypeError, KeyError, ValueError, ProcflowError) as exc:
        raise UsersFileError(f"{path}: a user entry cannot be read: {exc}") from exc


def _user(name: str, fields: Mapping[str, Any]) -> User:
    roles = tuple(check_name(str(r), f"a role of user `{name}`") for r in fields["roles"])
    password = fields.get("password")
    tokens = tuple(
        Token(
            str(t["id"]), str(t["digest"]), str(t["created"]), None if t.get("revoked") is None else str(t["revoked"])
        )
        for t in fields.get("tokens") or ()
    )
    return User(check_name(name, "a user name"), roles, None if password is None else str(password), tokens)


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def write_users(path: Path, users: Mapping[str, User]) -> None:
    """Replace the file whole, readable by its owner only."""
    document = {
        "format": FORMAT,
        "users": {
            user.name: {
                "roles": list(user.roles),
                "password": user.password,
                "tokens": [
                    {"id": t.id, "digest": t.digest, "created": t.created, "revoked": t.revoked} for t in user.tokens
                ],
            }
            for user in users.values()
        },
    }
    header = "# procflow users: written by `procflow users`; passwords and tokens are kept as hashes only.\n"
    text = header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    try:
        write_replacing(path, text.encode("utf-8"))
        os.chmod(path, 0o600)
    except OSError as exc:
        raise UsersFileError(f"{path}: cannot write the users file: {exc.strerror or exc}") from exc


def add_user(path: Path, name: str, roles: Sequence[str], password: str | None) -> User:
    """Add a user, or give an existing one these roles (and this password, when one is given)."""
    users = read_users(path) if path.exists() else {}
    check_name(name, "the user name")
    held = tuple(dict.fromkeys(check_name(r, f"a role of user `{name}`") for r in roles))
    hashed = None if password is None else _HASHER.hash(password)
    known = users.get(name)
    if known is None:
        users[name] = User(name, held, hashed)
    else:
        users[name] = replace(known, roles=held, password=hashed if hashed is not None else known.password)
    write_users(path, users)
    return users[name]


def new_token(path: Path, name: str) -> str:
    """Make a token for the user and keep its digest; the token itself is returned once, here."""
    users = read_users(path)
    user = _named(users, name, path)
    token_id = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    made = Token(token_id, _digest(token), _now())
    users[name] = replace(user, tokens=(*user.tokens, made))
    write_users(path, users)
    return token


def revoke(path: Path, name: str, token_id: str | None = None) -> int:
    """Revoke the user's token with that id, or every live one; how many were revoked."""
    users = read_users(path)
    user = _named(users, name, path)
    if token_id is not None and token_id.removeprefix(TOKEN_PREFIX) not in {t.id for t in user.tokens}:
        known = ", ".join(t.id for t in user.tokens) or "none"
        raise UsersFileError(f"{path}: user `{name}` has no token `{token_id}` (their tokens: {known})")
    wanted = None if token_id is None else token_id.removeprefix(TOKEN_PREFIX)
    now, count, tokens = _now(), 0, []
    for token in user.tokens:
        if token.revoked is None and wanted in (None, token.id):
            token, count = replace(token, revoked=now), count + 1
        tokens.append(token)
    users[name] = replace(user, tokens=tuple(tokens))
    write_users(path, users)
    return count


def _named(users: Mapping[str, User], name: str, path: Path) -> User:
    if name not in users:
        raise UsersFileError(f"{path}: no user `{printable(name)}`; add them with `procflow users add`")
    return users[name]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


# --- signing in -------------------------------------------------------------------------------------


class Authenticator:
    """Tells who a request comes from, by the users file (read again whenever it changes)."""

    def __init__(
        self,
        path: Path,
        proxy: TrustedProxy | None = None,
        *,
        failures: int = FAILURES_ALLOWED,
        window: float = FAILURE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.path = path
        self.proxy = proxy
        self._lock = threading.Lock()
        self._throttle = _Throttle(failures, window, clock)
        self._seen: tuple[int, int, int] | None = None
        self._users: dict[str, User] = {}
        self._tokens: dict[str, tuple[User, Token]] = {}
        self._verified: dict[tuple[str, str], bytes] = {}
        """Passwords argon2 has accepted, as an HMAC under a key of this process only, by user and hash:
        a person's next request costs a hash, not argon2's memory and time again. Forgotten when the file
        changes."""
        self._key = secrets.token_bytes(32)
        self._reload()

    def _reload(self) -> None:
        try:
            stat = self.path.stat()
        except OSError as exc:
            if self._seen is None:
                read_users(self.path)  # says what is wrong, in the words of the commands that write the file
                raise UsersFileError(f"{self.path}: cannot read the users file: {exc.strerror or exc}") from exc
            LOG.error("the users file %s is gone: every request is refused until it is back", self.path)
            self._users, self._tokens, self._seen = {}, {}, (0, 0, 0)
            return
        seen = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if seen == self._seen:
            return
        try:
            users = read_users(self.path)
        except UsersFileError as exc:
            if self._seen is None:
                raise
            LOG.error("%s; keeping the users read before", exc)
            return
        self._users = users
        self._tokens = {t.id: (u, t) for u in users.values() for t in u.tokens}
        self._verified = {}
        self._seen = seen

    def user(self, name: str) -> User | None:
        """The user of that name as the users file holds them now, or ``None``: whom a supervisor may
        assign a step to, with the roles the file gives them."""
        with self._lock:
            self._reload()
            return self._users.get(name)

    def costly(self, headers: Mapping[str, str]) -> bool:
        """Whether signing this request in may take argon2's time (it sends HTTP Basic), so that the
        caller does it away from its event loop. A bearer token, the proxy's header or no credentials
        cost a digest and a look-up."""
        scheme = headers.get("authorization", "").strip().partition(" ")[0]
        return scheme.lower() == "basic"

    def authenticate(self, headers: Mapping[str, str], peer: str | None) -> Caller | Refusal | Throttled:
        """The caller, or why not (already logged). ``headers`` are the request's, by lower-case name.
        An address whose credentials failed ``failures`` times within ``window`` seconds is throttled
        until the oldest of those failures is that old, whatever it sends (a password guesser learns
        nothing more); a request without credentials is not a failure (it is how a client asks)."""
        with self._lock:
            self._reload()
            wait = self._throttle.wait(peer or "")
        where = printable(peer or "an unknown address")
        if wait > 0:
            LOG.warning("authentication throttled for %s: too many failed sign-ins", where)
            return Throttled(max(1, math.ceil(wait)))
        known = self._identify(headers, peer, where)
        if isinstance(known, Refusal) and known.counted:
            with self._lock:
                self._throttle.failed(peer or "")
        return known

    def _identify(self, headers: Mapping[str, str], peer: str | None, where: str) -> Caller | Refusal:
        if self.proxy is not None and peer == self.proxy.address:
            named = headers.get(self.proxy.header.lower())
            if named is not None:
                user = self._users.get(named)
                if user is None:
                    return _refuse(where, f"the proxy named `{printable(named[:80])}`, who is not in the users file")
                return Caller(user, "proxy")
        authorization = headers.get("authorization")
        if authorization is None:
            return _refuse(where, "no credentials", counted=False)
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() == "bearer":
            return self._bearer(credentials.strip(), where)
        if scheme.lower() == "basic":
            return self._basic(credentials.strip(), where)
        return _refuse(where, f"an unknown authorization scheme `{printable(scheme[:20])}`")

    def _bearer(self, token: str, where: str) -> Caller | Refusal:
        token_id, _, secret = token.removeprefix(TOKEN_PREFIX).partition("_")
        if not token.startswith(TOKEN_PREFIX) or not secret:
            return _refuse(where, "a bearer token not in procflow's form")
        found = self._tokens.get(token_id)
        if found is None or not hmac.compare_digest(found[1].digest, _digest(token)):
            return _refuse(where, f"an unknown bearer token (id `{printable(token_id[:20])}`)")
        user, known = found
        if known.revoked is not None:
            return _refuse(where, f"token `{known.id}` of `{user.name}`, revoked at {known.revoked}")
        return Caller(user, "bearer")

    def _basic(self, credentials: str, where: str) -> Caller | Refusal:
        try:
            name, colon, password = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return _refuse(where, "Basic credentials that are not base64 of UTF-8 `name:password`")
        if not colon:
            return _refuse(where, "Basic credentials without a `:`")
        user = self._users.get(name)
        mark = hmac.new(self._key, password.encode("utf-8"), hashlib.sha256).digest()
        if user is not None and user.password is not None:
            known = self._verified.get((user.name, user.password))
            if known is not None and hmac.compare_digest(known, mark):
                return Caller(user, "basic")
        right: bool
        try:
            right = _HASHER.verify(user.password if user is not None and user.password else _NOBODY, password)
        except (VerificationError, InvalidHashError):
            right = False
        if user is None:
            return _refuse(where, f"an unknown user `{printable(name[:80])}`")
        if user.password is None:
            return _refuse(where, f"`{user.name}`, who has no password in the users file (tokens only)")
        if not right:
            return _refuse(where, f"a wrong password for `{user.name}`")
        if len(self._verified) >= _REMEMBERED:
            self._verified.clear()
        self._verified[(user.name, user.password)] = mark
        return Caller(user, "basic")


def _refuse(where: str, reason: str, *, counted: bool = True) -> Refusal:
    LOG.warning("authentication failed from %s: %s", where, reason)
    return Refusal(reason, counted)


class _Throttle:
    """Failed sign-ins by address, each kept for ``window`` seconds."""

    def __init__(self, allowed: int, window: float, clock: Callable[[], float]):
        self.allowed = allowed
        self.window = window
        self.clock = clock
        self._failed: dict[str, deque[float]] = {}

    def wait(self, peer: str) -> float:
        """Seconds until ``peer`` may try again (0: now)."""
        failed = self._failed.get(peer)
        if failed is None:
            return 0.0
        now = self.clock()
        while failed and failed[0] <= now - self.window:
            failed.popleft()
        if not failed:
            del self._failed[peer]
            return 0.0
        return failed[0] + self.window - now if len(failed) >= self.allowed else 0.0

    def failed(self, peer: str) -> None:
        if len(self._failed) >= _REMEMBERED:  # a flood from many addresses: start again rather than grow
            self._failed.clear()
        self._failed.setdefault(peer, deque(maxlen=self.allowed)).append(self.clock())
