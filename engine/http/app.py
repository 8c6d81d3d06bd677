"""The routes of the HTTP service: JSON over ``Workflows``, as an ASGI application (Starlette).

Every route signs the caller in first (``engine.http.auth``): the actor an event is sent as is the
user the users file names, with the roles it gives them. Routes read the request, call
the service in a worker thread (the store is blocking), and answer JSON; every refusal is problem
details (``engine.http.problems``). A case's version is its ``ETag``; firing with ``If-Match`` applies
the event only while the case is still at that version (412 otherwise), and ``Idempotency-Key`` is
the engine's idempotency key (the same event sent again takes effect once).
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.clocks import ClockReport
from engine.errors import InvalidData, InvalidPayload, NotFound, ProcflowError
from engine.http.auth import CHALLENGE, Authenticator, Caller, Refusal, Throttled
from engine.http.openapi import openapi_document
from engine.http.problems import MEDIA_TYPE, Problem, problem_for
from engine.inputs import MAX_CHARACTERS, read_json
from engine.instances import Entry, Instance, deadline_to_json, entry_to_json, record_version_to_json
from engine.model import Process, thaw_json
from engine.render import layout, render_dot
from engine.runtime import Choice
from engine.service import Workflows
from engine.stores import InstanceSummary, ProcessRef

LOG = logging.getLogger("procflow.http")

MAX_BODY_BYTES = 4 * MAX_CHARACTERS
"""The largest request body read: the engine's limit on the text one value holds, at four bytes a character."""
_SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
_SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""A chart is Graphviz's SVG of the definition's labels: no script of any kind runs in it."""


@dataclass(frozen=True)
class Call:
    """One signed-in request, as a route sees it."""

    request: Request
    caller: Caller
    body: Any = None
    """The request's JSON, for the routes that take a body (``{}`` when it was empty)."""

    def param(self, name: str) -> str:
        return str(self.request.path_params[name])


Handler = Callable[[Call], Response]


def create_app(workflows: Workflows, authenticator: Authenticator) -> Starlette:
    """The ASGI application serving ``workflows`` to the callers ``authenticator`` knows."""
    service = _Service(workflows)

    def route(path: str, get: Handler | None = None, post: Handler | None = None, *, starts: bool = False) -> Route:
        """One path, its GET and POST; a POST's body is the payload of an event, or with ``starts`` the
        data a case starts with."""
        handlers = {method: h for method, h in (("GET", get), ("POST", post)) if h is not None}

        async def endpoint(request: Request) -> Response:
            handler = handlers["GET" if request.method == "HEAD" else request.method]
            try:
                headers = {k.lower(): v for k, v in request.headers.items()}
                peer = request.client.host if request.client else None
                known = await run_in_threadpool(authenticator.authenticate, headers, peer)  # argon2 takes a while
                if isinstance(known, Throttled):
                    detail = f"too many failed sign-ins from this address; try again in {known.retry_after} s"
                    raise Problem(429, "too-many-failures", detail, retry_after=known.retry_after)
                if isinstance(known, Refusal):
                    raise Problem(401, "unauthenticated", f"sign in with HTTP Basic or a bearer token: {known.reason}")
                payload = await _json_body(request, starts) if request.method == "POST" else None
                return await run_in_threadpool(handler, Call(request, known, payload))
            except Problem as problem:
                return _problem(problem, request)
            except ProcflowError as error:
                answer = problem_for(error)
                if answer.status >= 500:  # the server's own trouble (a damaged record, a store that is down)
                    LOG.error("%s %s: %s", request.method, request.url.path, error)
                return _problem(answer, request)
            except Exception:  # a bug: the log has the traceback, the caller a problem without it
                LOG.exception("internal error on %s %s", request.method, request.url.path)
                return _problem(Problem(500, "internal", "internal error; the server's log has the details"), request)

        return Route(path, endpoint, methods=list(handlers))

    routes = [
        route("/openapi.json", service.openapi),
        route("/procedures", service.procedures),
        route("/procedures/{process}", service.procedure),
        route("/procedures/{process}/chart.svg", service.chart),
        route("/procedures/{process}/cases", service.cases, service.start, starts=True),
        route("/procedures/{process}/cases/{case}/events/{trigger}", post=service.fire),
        route("/cases/{case}", service.case),
        route("/cases/{case}/history", service.history),
        route("/cases/{case}/records", service.records),
        route("/cases/{case}/clocks", service.clocks),
        route("/cases/{case}/actions", service.actions),
        route("/worklist", service.worklist),
    ]

    async def not_routed(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        code = {404: "not-found", 405: "method-not-allowed"}.get(status, "http")
        detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
        if not isinstance(exc, HTTPException):
            LOG.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        answer = _problem(Problem(status, code, f"{request.method} {request.url.path}: {detail}"), request)
        if isinstance(exc, HTTPException) and exc.headers:
            answer.headers.update(exc.headers)  # a 405's Allow
        return answer

    return Starlette(routes=routes, exception_handlers={HTTPException: not_routed, Exception: not_routed})


class _Service:
    """The routes' work, each in a worker thread."""

    def __init__(self, workflows: Workflows):
        self.workflows = workflows
        self._charts: dict[str, bytes] = {}
        self._openapi: tuple[tuple[str, ...], bytes] | None = None

    # --- procedures ----------------------------------------------------------------------------------

    def _latest(self) -> list[tuple[ProcessRef, Process]]:
        latest: dict[str, ProcessRef] = {}
        for stored in self.workflows.store.definitions():  # by id, then revision: the last one is the latest
            latest[stored.ref.id] = stored.ref
        return [(ref, self.workflows.runtime(ref.id, ref.content_hash).process) for ref in latest.values()]

    def openapi(self, call: Call) -> Response:
        procedures = self._latest()
        seen = tuple(ref.content_hash for ref, _ in procedures)
        if self._openapi is None or self._openapi[0] != seen:
            document = openapi_document(procedures, worklist=self._worklist_query() is not None)
            text = json.dumps(document, ensure_ascii=False).encode("utf-8")
            self._openapi = (seen, text)
        return Response(self._openapi[1], media_type="application/json", headers=_SECURITY_HEADERS)

    def procedures(self, call: Call) -> Response:
        return _json([_procedure(ref, process) for ref, process in self._latest()])

    def _procedure(self, call: Call) -> tuple[ProcessRef, Process]:
        ref = self.workflows.latest(call.param("process"))
        return ref, self.workflows.runtime(ref.id, ref.content_hash).process

    def procedure(self, call: Call) -> Response:
        ref, process = self._procedure(call)
        return _json(_procedure(ref, process) | {"definition": thaw_json(process.document)})

    def chart(self, call: Call) -> Response:
        ref, process = self._procedure(call)
        svg = self._charts.get(ref.content_hash)
        if svg is None:
            svg = self._charts.setdefault(ref.content_hash, layout(render_dot(process), "svg"))
        headers = _SECURITY_HEADERS | {"Content-Security-Policy": _SVG_POLICY}
        return Response(svg, media_type="image/svg+xml", headers=headers)

    def cases(self, call: Call) -> Response:
        ref, _ = self._procedure(call)
        listed = self.workflows.list(ref.id)
        return _json([_summary(s) for s in listed if isinstance(s, InstanceSummary)])

    # --- cases ---------------------------------------------------------------------------------------

    def start(self, call: Call) -> Response:
        ref, _ = self._procedure(call)
        instance = self.workflows.start(ref, call.caller.actor, _object(call.body), key=_key(call))
        case = self._case(instance)
        headers = {"Location": f"/cases/{instance.id}", "ETag": _etag(instance.version)}
        return _json(case, 201, headers)

    def fire(self, call: Call) -> Response:
        instance = self._read(call)
        process_id = call.param("process")
        if instance.process_id != process_id:
            raise NotFound(f"`{process_id}` has no case `{instance.id}` (it is a case of `{instance.process_id}`)")
        expected = _if_match(call, instance)
        entry = self.workflows.fire(
            instance.id,
            call.param("trigger"),
            call.caller.actor,
            _object(call.body),
            key=_key(call),
            if_version=expected,
        )
        after = self.workflows.get(instance.id)
        return _json({"entry": _entry(entry), "case": self._case(after)}, 200, {"ETag": _etag(after.version)})

    def _read(self, call: Call) -> Instance:
        return self.workflows.get(call.param("case"))

    def _case(self, instance: Instance) -> dict[str, Any]:
        runtime = self.workflows.runtime(instance.process_id, instance.content_hash)
        state = runtime.process.states[instance.state]
        return {
            "id": instance.id,
            "process": _reference(self.workflows.ref_of(instance)),
            "state": {"id": state.id, "label": {"zh": state.label.zh, "en": state.label.en}},
            "data": instance.data,
            "entered_at": instance.entered_at.isoformat(),
            "deadlines": [deadline_to_json(d) for d in instance.deadlines],
            "version": instance.version,
            "finished": state.is_final,
        }

    def case(self, call: Call) -> Response:
        instance = self._read(call)
        return _json(self._case(instance), headers={"ETag": _etag(instance.version)})

    def history(self, call: Call) -> Response:
        return _json([_entry(e) for e in self._read(call).history])

    def records(self, call: Call) -> Response:
        records = self.workflows.records(call.param("case"))
        return _json({record: [record_version_to_json(v) for v in versions] for record, versions in records.items()})

    def clocks(self, call: Call) -> Response:
        return _json([_clock(report) for report in self.workflows.clocks(call.param("case"))])

    def actions(self, call: Call) -> Response:
        instance = self._read(call)
        base = f"/procedures/{instance.process_id}/cases/{instance.id}/events/"
        return _json([_choice(c, base) for c in self.workflows.available(instance.id, call.caller.actor)])

    # --- work queues ---------------------------------------------------------------------------------

    def _worklist_query(self) -> Callable[..., Any] | None:
        query = getattr(self.workflows, "worklist", None) or getattr(self.workflows.store, "worklist", None)
        return query if callable(query) else None

    def worklist(self, call: Call) -> Response:
        # WORKLIST: the query itself is the store's (issue 13, "Work queues", done beside this change):
        # this route only hands it the caller (never roles from the request) and the filters asked for.
        query = self._worklist_query()
        if query is None:
            raise Problem(501, "not-implemented", "this store keeps no worklist yet")
        filters = {k: v for k, v in call.request.query_params.items() if k in ("process", "role", "overdue", "after")}
        return _json(_plain(query(call.caller.actor, **filters)))


# --- reading the request ------------------------------------------------------------------------------


async def _json_body(request: Request, start: bool) -> Any:
    """The body as JSON: ``{}`` when empty; 413 past ``MAX_BODY_BYTES``, 415 when it says it is
    something else, 400 when it is not JSON, 422 when it is past the engine's limits on a value."""
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind not in ("application/json", "") and not kind.endswith("+json"):
        raise Problem(415, "unsupported-media-type", f"send the body as application/json, not `{kind[:60]}`")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise Problem(413, "too-large", f"the body is over {MAX_BODY_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(400, "bad-json", "the body is not UTF-8 text") from None
    if not text.strip():
        return {}
    try:
        return read_json(text, "data" if start else "payload", InvalidData if start else InvalidPayload)
    except json.JSONDecodeError as exc:
        raise Problem(400, "bad-json", f"the body is not JSON: {exc}") from None


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Problem(
            422,
            "invalid-payload",
            "the body must be a JSON object ({...})",
            {"errors": [{"pointer": "", "detail": "must be a set of fields"}]},
        )
    return body


def _key(call: Call) -> str | None:
    return call.request.headers.get("idempotency-key")


def _if_match(call: Call, instance: Instance) -> int | None:
    """The version ``If-Match`` names (``None`` without one, or with ``*``); 412 when it names none."""
    given = call.request.headers.get("if-match")
    if given is None or given.strip() == "*":
        return None
    for tag in given.split(","):
        text = tag.strip().removeprefix("W/").strip('"')
        if text.isdigit() and len(text) < 19:
            return int(text)
    raise Problem(
        412, "version-mismatch", f"If-Match names no version of case `{instance.id}` (it is at {instance.version})"
    )


# --- writing the answer -------------------------------------------------------------------------------


def _json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(value, status, headers=_SECURITY_HEADERS | (headers or {}))


def _problem(problem: Problem, request: Request) -> Response:
    headers = dict(_SECURITY_HEADERS)
    if problem.status == 401:
        headers["WWW-Authenticate"] = CHALLENGE
    if problem.retry_after is not None:
        headers["Retry-After"] = str(problem.retry_after)
    return JSONResponse(problem.body(request.url.path), problem.status, headers=headers, media_type=MEDIA_TYPE)


def _etag(version: int) -> str:
    return f'"{version}"'


def _reference(ref: ProcessRef) -> dict[str, Any]:
    return {"id": ref.id, "revision": ref.revision, "version": ref.version, "content_hash": ref.content_hash}


def _procedure(ref: ProcessRef, process: Process) -> dict[str, Any]:
    return _reference(ref) | {"title": {"zh": process.title.zh, "en": process.title.en}}


def _summary(summary: InstanceSummary) -> dict[str, Any]:
    return {
        "id": summary.id,
        "process": _reference(summary.process),
        "state": summary.state,
        "data": summary.data,
        "entered_at": summary.entered_at.isoformat(),
        "deadlines": [deadline_to_json(d) for d in summary.deadlines],
        "version": summary.version,
    }


def _entry(entry: Entry) -> dict[str, Any]:
    return entry_to_json(entry)


def _clock(report: ClockReport) -> dict[str, Any]:
    return {
        "clock": report.clock,
        "label": {"zh": report.label.zh, "en": report.label.en},
        "status": report.status,
        "elapsed_seconds": report.elapsed.total_seconds(),
        "remaining_seconds": report.remaining.total_seconds(),
        "limit": report.limit,
        "reached": [{"point": point, "at": at.isoformat()} for point, at in report.reached],
        "next": report.next,
        "due": _time(report.due),
        "started_at": _time(report.started_at),
        "stopped_at": _time(report.stopped_at),
    }


def _choice(choice: Choice, base: str) -> dict[str, Any]:
    return {
        "trigger": choice.trigger,
        "label": {"zh": choice.label.zh, "en": choice.label.en},
        "dest": choice.dest,
        "payload_schema": None if choice.payload_schema is None else thaw_json(choice.payload_schema),
        "conditions": list(choice.conditions),
        "signoffs": [s.role for s in choice.signoffs],
        "ready": choice.ready,
        "remaining": choice.remaining,
        "then": choice.then,
        "part": choice.part,
        "items": list(choice.items),
        "href": base + choice.trigger,
    }


def _time(moment: datetime.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _plain(value: Any) -> Any:
    """What a store query returns (dataclasses, tuples, times) as JSON values."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, frozenset, set)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return value
