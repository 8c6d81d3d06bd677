"""Who acts on an instance: ``Actor`` with the roles they hold, the engine's own actors, and roles as
entries record them and refusals name them."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from engine.inputs import check_name

CLOCK_ACTOR = "procflow:clock"
"""The actor recorded on events the engine fires itself when a deadline passes."""

CHILD_ACTOR = "procflow:sub-process"
"""The actor recorded on events the engine fires itself when a child procedure ends."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Someone acting on an instance, with the roles they hold.

    The id and each role follow the rule for names (``engine.inputs.check_name``): 1 to 200
    characters, not only spaces, no control characters, valid Unicode; ``InvalidActor`` otherwise.
    """

    id: str
    roles: frozenset[str]

    def __init__(self, id: str, roles: Iterable[str]):
        object.__setattr__(self, "id", check_name(id, "the actor id"))
        held = frozenset([roles] if isinstance(roles, str) else roles)
        for role in held:
            check_name(role, f"a role of actor `{id}`")
        object.__setattr__(self, "roles", held)


CLOCK = Actor(CLOCK_ACTOR, ())
"""The engine firing a deadline or reaching a clock's point: no person's permission is asked."""
CHILD = Actor(CHILD_ACTOR, ())
"""The engine firing a step's continuation when the procedure it started ends."""


@functools.lru_cache(maxsize=1024)
def role_names(roles: frozenset[str]) -> tuple[str, ...]:
    """The roles as recorded on an entry; one shared tuple per set of roles, not one per entry."""
    return tuple(sorted(roles))


def names(given: Iterable[str | None]) -> str:
    """Names (roles, actors, parts) as a refusal says them: sorted, each in backticks; ``none`` for none."""
    shown = sorted(n for n in given if n is not None)
    return ", ".join(f"`{n}`" for n in shown) if shown else "none"
