"""Signed-in people in the browser: session cookies and the CSRF tokens of their forms.

A session is a cookie the server signs (HMAC-SHA256 under the session key) and keeps nothing of:
it names the user, when it was made and when it ends, and binds a digest of the user's password
hash, so that changing or removing a password ends every session made with the old one. Roles are
never in it: each request takes them from the users file as it is then. Any server process holding
the same key file accepts it, so several processes on several hosts share sign-ins.

The API takes the same cookie from the pages' own scripts (the studio's editor), with the token in
an ``X-CSRF-Token`` header on every POST.

Each form carries a CSRF token: an HMAC of the session's own random id, which a page from another
site cannot read (the cookie is HttpOnly and SameSite=Strict as well). The sign-in form, before
there is a session, uses a random cookie the form must repeat (double submit).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.errors import SessionKeyError
from engine.http.auth import Authenticator, User

COOKIE = "procflow_session"
LOGIN_COOKIE = "procflow_login"
CSRF_HEADER = "X-CSRF-Token"
LIFETIME_SECONDS = 12 * 3600
"""A working day and a half: a person signs in once a shift."""
KEY_BYTES = 32

PasswordOf = Callable[[str], tuple[bool, "str | None"]]
"""Whether a user is known, and their password hash as the users file has it now."""


@dataclass(frozen=True)
class Session:
    user: str
    id: str
    """Random, per sign-in: what the CSRF token is made from."""
    expires: int
    """Seconds since the epoch."""


def session_key(path: Path) -> bytes:
    """The key in ``path``, made (32 random bytes, readable by the owner only) when it does not exist."""
    try:
        with open(path, "xb") as made:
            os.chmod(path, 0o600)
            made.write(secrets.token_bytes(KEY_BYTES))
    except FileExistsError:
        pass
    except OSError as exc:
        raise SessionKeyError(f"{path}: cannot make the session key: {exc.strerror or exc}") from exc
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise SessionKeyError(f"{path}: cannot read the session key: {exc.strerror or exc}") from exc
    if len(key) < KEY_BYTES:
        raise SessionKeyError(f"{path}: a session key has at least {KEY_BYTES} bytes; delete the file to make one")
    return key


class Sessions:
    """Makes and reads session cookies and CSRF tokens under one key."""

    def __init__(self, key: bytes, lifetime: int = LIFETIME_SECONDS):
        self._key = key
        self.lifetime = lifetime

    def issue(self, user: str, password_hash: str | None, now: float) -> str:
        """The cookie value of a new session for ``user``."""
        body = {"u": user, "i": secrets.token_urlsafe(16), "e": int(now) + self.lifetime}
        text = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()
        return f"{text}.{self._sign(text, password_hash)}"

    def read(self, cookie: str, password_hash_of: PasswordOf, now: float) -> Session | None:
        """The session ``cookie`` holds, or ``None`` when it is forged, expired, or its user's password
        changed since (``password_hash_of`` gives the user's hash as the users file has it now)."""
        text, dot, signature = cookie.partition(".")
        if not dot:
            return None
        try:
            body = json.loads(base64.urlsafe_b64decode(text.encode()))
            user, session_id, expires = str(body["u"]), str(body["i"]), int(body["e"])
        except (binascii.Error, ValueError, KeyError, TypeError):
            return None
        found, password_hash = password_hash_of(user)
        if not found or not hmac.compare_digest(signature, self._sign(text, password_hash)):
            return None
        if expires <= now:
            return None
        return Session(user, session_id, expires)

    def signed_in(self, cookie: str | None, users: Authenticator, now: float) -> tuple[Session, User] | None:
        """The session a request's cookie holds and its user as the users file has them now."""
        if not cookie:
            return None
        session = self.read(cookie, lambda name: _password_of(users, name), now)
        user = None if session is None else users.user(session.user)
        return None if session is None or user is None else (session, user)

    def csrf(self, session: Session) -> str:
        """The token every form of this session carries."""
        return hmac.new(self._key, f"csrf:{session.id}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf(session), token)

    def _sign(self, text: str, password_hash: str | None) -> str:
        bound = hashlib.sha256((password_hash or "").encode()).hexdigest()
        return hmac.new(self._key, f"{text}|{bound}".encode(), hashlib.sha256).hexdigest()


def _password_of(users: Authenticator, name: str) -> tuple[bool, str | None]:
    user = users.user(name)
    return (False, None) if user is None else (True, user.password)
