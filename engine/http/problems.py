"""RFC 9457 problem details: every refusal the HTTP service gives, as ``application/problem+json``.

A problem carries the HTTP ``status``, a ``title`` (the same for every problem of its kind), a
``detail`` (what went wrong this time, in the engine's words), the request path as ``instance``, and
procflow's stable refusal ``code`` (``EventRefused.code`` for a refused event: ``permission``,
``invalid-payload``, ``guard-false``...), also the last segment of ``type``. A payload or data that
does not fit its schema lists each problem at its place in ``errors`` (a JSON pointer into the
request body, and what is wrong there); the refusals that name what is missing keep those names
(``allowed``, ``missing``, ``open``).

Statuses follow HTTP: 400 a request that is not JSON or names an unusable id or key, or a worklist
query that cannot be used (``invalid-query``), 401 no one known is calling, 403 the caller's roles do
not allow it, 404 no such procedure or case, 409 another writer got there first, an idempotency key
came again with another event, someone else holds the step (``claimed``, with ``claimed_by``) or the
step stands in the way of a claim (``claim`` with ``reason``) or a cancellation, 412 ``If-Match``
names a version the case is no longer at, 422 the engine refused the event (a move by hand:
``move-refused``; a migration plan that cannot be used: ``invalid-plan``, each problem at its line
and column), 429 too many failed sign-ins from the caller's address; 500 and 503 only for the
server's own trouble (a damaged record, a store or Graphviz that cannot be used), never for what a
caller sent, and never with a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import (
    ClaimRefused,
    ConflictError,
    DamagedRecord,
    EventConflict,
    EventRefused,
    InvalidData,
    InvalidIdentifier,
    InvalidPayload,
    InvalidQuery,
    KeyReused,
    LimitReached,
    MissingRecord,
    MissingSignature,
    NotFound,
    PartsOpen,
    PermissionDenied,
    PlanError,
    ProcflowError,
    RenderError,
    StaleVersion,
    StepClaimed,
    StoreError,
    UnknownTrigger,
)

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:procflow:problem:"
"""A problem's ``type`` is this followed by its code: stable, and a URI as RFC 9457 asks."""

TITLES = {
    400: "The request cannot be read",
    401: "Who is calling is not known",
    403: "The caller may not do this",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "The case is no longer at that version",
    413: "The request is too large",
    415: "Unsupported media type",
    422: "Refused",
    429: "Too many failed sign-ins",
    500: "The server failed",
    501: "Not implemented",
    503: "A service the server needs is unavailable",
}


@dataclass(frozen=True)
class Problem(Exception):
    """A refusal to send back; raise it from a route, or build one with ``problem_for``."""

    status: int
    code: str
    detail: str
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Extension members (``errors``, ``allowed``, ``missing``...), beside the standard ones."""
    retry_after: int | None = None
    """Seconds to wait before asking again (a 429's ``Retry-After``)."""

    def body(self, instance: str) -> dict[str, Any]:
        return {
            "type": TYPE_PREFIX + self.code,
            "title": TITLES.get(self.status, "Refused"),
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            "code": self.code,
            **self.extra,
        }


def problem_for(error: ProcflowError) -> Problem:
    """The problem an engine error is sent back as."""
    if isinstance(error, EventRefused):
        return _refused(error)
    if isinstance(error, NotFound):
        return Problem(404, "not-found", str(error))
    if isinstance(error, InvalidIdentifier):
        return Problem(400, "invalid-identifier", str(error))
    if isinstance(error, InvalidQuery):
        return Problem(400, "invalid-query", str(error))
    if isinstance(error, PlanError):
        return _plan(error)
    if isinstance(error, StaleVersion):  # only ever raised out of the service when If-Match named a version
        return Problem(412, "version-mismatch", str(error), {"expected": error.expected, "found": error.found})
    if isinstance(error, KeyReused):
        return Problem(409, "key-reused", str(error))
    if isinstance(error, EventConflict):
        extra = {} if error.refusal is None else {"refusal": error.refusal.code}
        return Problem(409, "conflict", str(error), extra)
    if isinstance(error, ConflictError):
        return Problem(409, "conflict", str(error))
    if isinstance(error, DamagedRecord):
        return Problem(500, "damaged-record", str(error))
    if isinstance(error, StoreError):
        return Problem(503, "store-unavailable", str(error))
    if isinstance(error, RenderError):
        return Problem(503, "render", str(error))
    return Problem(500, "internal", str(error))


_CLAIM_STATUS = {"finished": 409, "unclaimed": 409, "held": 409, "not-allowed": 403, "cannot-act": 422}
"""A refused claim, release or assignment by ``ClaimRefused.reason``: the step's state stands in the
way (409), the caller's roles do (403), or the one it would be assigned to has nothing to do there (422)."""


def _refused(error: EventRefused) -> Problem:
    status = 403 if isinstance(error, PermissionDenied) else 422
    extra: dict[str, Any] = {}
    if isinstance(error, StepClaimed):
        status, extra["claimed_by"] = 409, error.claimed_by
    if isinstance(error, ClaimRefused):
        status, extra["reason"] = _CLAIM_STATUS.get(error.reason, 422), error.reason
        if error.claimed_by is not None:
            extra["claimed_by"] = error.claimed_by
    if isinstance(error, (InvalidPayload, InvalidData)) and error.problems:
        root = "payload" if isinstance(error, InvalidPayload) else "data"
        extra["errors"] = [_located(problem, root) for problem in error.problems]
    if isinstance(error, UnknownTrigger):
        extra["allowed"] = list(error.allowed)
    if isinstance(error, (MissingRecord, MissingSignature)):
        extra["missing"] = list(error.missing)
    if isinstance(error, PartsOpen):
        extra["open"] = list(error.open)
    if isinstance(error, LimitReached):
        extra["limit"] = error.limit
    for name in ("state", "trigger"):
        value = getattr(error, name)
        if value is not None:
            extra[name] = value
    return Problem(status, error.code, error.message, extra)


def _plan(error: PlanError) -> Problem:
    """A plan that cannot be used: each problem at its line and column in the body sent (warnings too)."""
    errors = error.errors or error.problems
    located = [
        {
            "pointer": "",
            "detail": p.message,
            "line": p.location.line,
            "column": p.location.column,
            "severity": p.severity.value,
            "code": p.code,
        }
        for p in error.problems
    ]
    detail = f"the migration plan cannot be used ({len(errors)} problem(s)): {errors[0]}" if errors else str(error)
    return Problem(422, "invalid-plan", detail, {"errors": located})


_PLACE = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _located(problem: str, root: str) -> dict[str, str]:
    """``payload.items[0].serial: is required`` as ``{"pointer": "/items/0/serial", "detail": ...}``: the
    place in the request body (the payload, or the data a case starts with, is the whole body)."""
    place, separator, message = problem.partition(": ")
    if not separator or not place.startswith(root):
        return {"pointer": "", "detail": problem}
    rest = place[len(root) :]
    found = _PLACE.findall(rest)
    if "".join(f".{name}" if name else f"[{index}]" for name, index in found) != rest:
        return {"pointer": "", "detail": problem}  # a field name the short form cannot say plainly
    segments = [name or index for name, index in found]
    pointer = "".join("/" + s.replace("~", "~0").replace("/", "~1") for s in segments)
    return {"pointer": pointer, "detail": message}
