"""What an instance id and an idempotency key may be: one rule, checked by every store.

An **instance id** is 1 to ``MAX_LENGTH`` characters, each a letter (of any script), a combining mark
after one, a decimal digit, or one of ``- _ . : @``, written in Unicode NFC form (so one name has one
spelling). No spaces, no control or invisible characters: an id is printed on a line of its own by
``procflow list`` and passed on command lines, so it cannot forge a line or hide a character.

An **idempotency key** is freer (clients send request ids, hashes, base64): 1 to ``MAX_LENGTH``
printable characters, not only spaces, with no control character (NUL, newline, tab...), no
invisible format character, no line or paragraph separator, no private-use or unassigned code point
and no lone surrogate.

Both stores and the in-memory one call these before touching the database, so an id or key is
refused the same way everywhere (``InvalidIdentifier``), and never half-written.
"""

from __future__ import annotations

import re
import unicodedata

from engine.errors import InvalidIdentifier
from engine.instances import Instance

MAX_LENGTH = 200
"""The most characters an instance id or an idempotency key may hold."""

ID_PUNCTUATION = frozenset("-_.:@")
_LETTERS = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo"})
_MARKS = frozenset({"Mn", "Mc", "Me"})
_KEY_FORBIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


_PLAIN_ID = re.compile(rf"[A-Za-z0-9_.:@-]{{1,{MAX_LENGTH}}}")
_PLAIN_KEY = re.compile(rf"[\x20-\x7e]{{1,{MAX_LENGTH}}}")
"""What nearly every id and key is (ASCII): accepted without looking at each character's category."""


def check_instance_id(value: object) -> str:
    """``value`` if it is an instance id procflow accepts; else ``InvalidIdentifier`` saying why."""
    if isinstance(value, str) and _PLAIN_ID.fullmatch(value):
        return value
    text = _text(value, "an instance id")
    for position, char in enumerate(text):
        kind = unicodedata.category(char)
        if kind in _LETTERS or kind == "Nd" or char in ID_PUNCTUATION:
            continue
        if kind in _MARKS and position > 0:
            continue
        raise InvalidIdentifier(
            f"instance id {shown(text)}: character {position + 1} ({_named(char)}) is not allowed; an id holds "
            f"only letters, digits and {' '.join(sorted(ID_PUNCTUATION))} (1 to {MAX_LENGTH} characters)"
        )
    if unicodedata.normalize("NFC", text) != text:
        raise InvalidIdentifier(
            f"instance id {shown(text)} is not in Unicode NFC form; write {shown(unicodedata.normalize('NFC', text))}"
        )
    return text


def check_key(value: object) -> str:
    """``value`` if it is an idempotency key procflow accepts; else ``InvalidIdentifier`` saying why."""
    if isinstance(value, str) and _PLAIN_KEY.fullmatch(value) and value.strip():
        return value
    text = _text(value, "an idempotency key")
    for position, char in enumerate(text):
        if unicodedata.category(char) in _KEY_FORBIDDEN:
            raise InvalidIdentifier(
                f"idempotency key {shown(text)}: character {position + 1} ({_named(char)}) is not allowed; a key "
                f"is 1 to {MAX_LENGTH} printable characters"
            )
    if not text.strip():
        raise InvalidIdentifier("an idempotency key cannot be only spaces; send a key such as a request id")
    return text


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidIdentifier(f"{what} must be text, got {type(value).__name__}")
    if not value:
        raise InvalidIdentifier(f"{what} cannot be empty; give 1 to {MAX_LENGTH} characters, or none at all")
    if len(value) > MAX_LENGTH:
        raise InvalidIdentifier(f"{what} may hold at most {MAX_LENGTH} characters, got {len(value)}: {shown(value)}")
    return value


def shown(text: str) -> str:
    """The text quoted with everything unprintable escaped, shortened: safe in a one-line message."""
    short = text if len(text) <= 40 else text[:37] + "..."
    return ascii(short) if any(unicodedata.category(c)[0] in "CZ" and c != " " for c in short) else f"`{short}`"


def _named(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def check_written(instance: Instance, first: int = 0) -> None:
    """Refuse to write ``instance`` if its id, or the key of an entry from ``first`` on, is not accepted."""
    check_instance_id(instance.id)
    for entry in instance.history[first:]:
        if entry.key is not None:
            check_key(entry.key)
