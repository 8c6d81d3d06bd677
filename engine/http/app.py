"""The routes of the HTTP service: JSON over ``Workflows``, as an ASGI application (Starlette).

Every route signs the caller in first (``engine.http.auth``): the actor an event is sent as is the
user the users file names, with the roles it gives them. Routes read the request, call
the service in a worker thread (the store is blocking), and answer JSON; every refusal is problem
details (``engine.http.problems``). A case's version is its ``ETag``; firing with ``If-Match`` applies
the event only while the case is still at that version (412 otherwise), and ``Idempotency-Key`` is
the engine's idempotency key (the same event sent again takes effect once).

The work routes act for the caller alone: ``/worklist`` is the signed-in user's (``role`` only narrows
it to one of the roles the users file gives them); ``claim``, ``release`` and ``assign`` are
``Workflows``' (an assignee is a user of the users file, with the file's roles); ``cancel`` fires the
current step's ``cancels: true`` transition; ``move`` and ``migrations`` are for the procedure's
``administrators``, as the engine checks. A migration plan is sent as YAML or JSON text and read as a
plan file is (its problems at their lines), but names stored revisions by number only: a file on the
server is not the caller's to name.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from engine.clocks import ClockReport
from engine.errors import DefinitionError, InvalidData, InvalidPayload, NotFound, PlanError, ProcflowError
from engine.http.auth import CHALLENGE, Authenticator, Caller, Refusal, Throttled
from engine.http.openapi import FLAGS, MAX_PAGE, openapi_document
from engine.http.problems import MEDIA_TYPE, Problem, problem_for
from engine.http.sessions import COOKIE, CSRF_HEADER, Sessions
from engine.http.studio import Studio
from engine.inputs import MAX_CHARACTERS, read_json
from engine.instances import Entry, Instance, deadline_to_json, entry_to_json, record_version_to_json
from engine.loader import MAX_FILE_BYTES, load_text
from engine.migration import MigrationPlan, read_plan
from engine.model import Process, thaw_json
from engine.render import layout, render_dot
from engine.runtime import Actor, Choice
from engine.service import Workflows, WorkItem
from engine.stores import InstanceSummary, ProcessRef
from engine.work import SUPERVISOR_ROLE

LOG = logging.getLogger("procflow.http")

MAX_BODY_BYTES = 4 * MAX_CHARACTERS
"""The largest request body read: the engine's limit on the text one value holds, at four bytes a character."""
_SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
WORKERS = 40
"""Worker threads the routes' blocking work runs on (as many as Starlette's own thread pool allows)."""
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
Body = Literal["payload", "data", "fields", "plan"]
"""What a POST's body is: an event's payload, the data a case starts with, a route's own fields
(JSON objects all three), or a migration plan (YAML or JSON text, read as the plan's located document)."""


def create_app(
    workflows: Workflows,
    authenticator: Authenticator,
    *,
    sessions: Sessions | None = None,
    pages: Sequence[BaseRoute] = (),
) -> EventsFirst:
    """The ASGI application serving ``workflows`` to the callers ``authenticator`` knows, with the web
    pages' routes (``engine.web``) beside the API when given; with ``sessions``, the API also takes a
    page's session cookie (and its CSRF token in ``X-CSRF-Token`` on a POST)."""
    service = _Service(workflows, authenticator)
    studio = Studio(workflows)
    # A plain executor: one hop to a worker thread costs less than Starlette's run_in_threadpool (anyio's
    # limiter and cancel scope), and the routes need neither (a request's work runs to its end).
    workers = ThreadPoolExecutor(WORKERS, thread_name_prefix="procflow-http")

    async def in_worker(work: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(workers, work, *args)

    def route(path: str, get: Handler | None = None, post: Handler | None = None, *, body: Body = "fields") -> Route:
        """One path, its GET and POST, and what a POST's body is."""
        handlers = {method: h for method, h in (("GET", get), ("POST", post)) if h is not None}

        async def endpoint(request: Request) -> Response:
            handler = handlers["GET" if request.method == "HEAD" else request.method]
            try:
                headers = request.headers  # looked up by lower-case name, as the authenticator does
                peer = request.client.host if request.client else None
                known: Caller | Refusal | Throttled | None = None
                if sessions is not None and "authorization" not in headers:
                    known = _session_caller(sessions, authenticator, request, headers)
                if known is None and authenticator.costly(headers):  # argon2 takes a while: not on the event loop
                    known = await in_worker(authenticator.authenticate, headers, peer)
                elif known is None:  # a token's digest or the proxy's header: cheaper here than a worker thread
                    known = authenticator.authenticate(headers, peer)
                if isinstance(known, Throttled):
                    detail = f"too many failed sign-ins from this address; try again in {known.retry_after} s"
                    raise Problem(429, "too-many-failures", detail, retry_after=known.retry_after)
                if isinstance(known, Refusal):
                    raise Problem(401, "unauthenticated", f"sign in with HTTP Basic or a bearer token: {known.reason}")
                payload = None
                if request.method == "POST":
                    payload = await (_plan_text(request) if body == "plan" else _json_body(request, body == "data"))
                done: Response = await in_worker(handler, Call(request, known, payload))
                return done
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

    events = route("/procedures/{process}/cases/{case}/events/{trigger}", post=service.fire, body="payload")
    routes = [  # the event route first: matching tries each in turn, and it is the busiest
        events,
        route("/openapi.json", service.openapi),
        route("/procedures", service.procedures),
        route("/procedures/{process}", service.procedure),
        route("/procedures/{process}/chart.svg", service.chart),
        route("/procedures/{process}/impact", service.impact),
        route("/procedures/{process}/migrations", post=service.migrate, body="plan"),
        route("/procedures/{process}/cases", service.cases, service.start, body="data"),
        route("/cases/{case}", service.case),
        route("/cases/{case}/history", service.history),
        route("/cases/{case}/records", service.records),
        route("/cases/{case}/clocks", service.clocks),
        route("/cases/{case}/actions", service.actions),
        route("/cases/{case}/claim", post=service.claim),
        route("/cases/{case}/release", post=service.release),
        route("/cases/{case}/assign", post=service.assign),
        route("/cases/{case}/cancel", post=service.cancel, body="payload"),
        route("/cases/{case}/move", post=service.move),
        route("/worklist", service.worklist),
        route("/studio/check", post=studio.check, body="plan"),  # a draft's YAML text, read as a plan's
        route("/studio/diff/{process}", post=studio.diff, body="plan"),
        route("/studio/publish/{process}", post=studio.publish, body="plan"),
        *pages,
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

    app = Starlette(routes=routes, exception_handlers={HTTPException: not_routed, Exception: not_routed})
    return EventsFirst(app, events)


class EventsFirst:
    """The ASGI application: an event's POST goes straight to its route's endpoint, every other request
    through Starlette's router and middleware.

    The endpoint answers every failure itself (as a problem), so the middleware adds nothing to an event
    but its cost: a fifth of the server's own time per event, where events are most of the traffic."""

    def __init__(self, app: Starlette, events: Route):
        self.app = app
        self.events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            match, matched = self.events.matches(scope)
            if match is Match.FULL:
                scope.update(matched)
                response: Response = await self.events.endpoint(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _Service:
    """The routes' work, each in a worker thread."""

    def __init__(self, workflows: Workflows, authenticator: Authenticator):
        self.workflows = workflows
        self.authenticator = authenticator
        self._charts: dict[str, bytes] = {}
        self._refs: dict[tuple[str, str], ProcessRef] = {}
        """The stored reference of each definition a case runs on, by process and content hash: read
        once, as ``Workflows.runtime`` compiles each one once (a stored definition never changes)."""
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
            document = openapi_document(procedures)
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
        # One read of the case: fire_and_get checks its process and If-Match's version on the read the event needs.
        process_id, case_id = call.param("process"), call.param("case")
        expected = _if_match(call, lambda: self._of_process(case_id, process_id))
        entry, after = self.workflows.fire_and_get(
            case_id,
            call.param("trigger"),
            call.caller.actor,
            _object(call.body),
            key=_key(call),
            if_version=expected,
            process=process_id,
        )
        return self._answer(entry, after)

    def _of_process(self, case_id: str, process_id: str) -> Instance:
        instance = self.workflows.get(case_id)
        if instance.process_id != process_id:
            raise NotFound(f"`{process_id}` has no case `{instance.id}` (it is a case of `{instance.process_id}`)")
        return instance

    def _fired(self, entry: Entry, case: str) -> Response:
        """The entry an event (a claim, a move...) recorded, and the case after it, with its ETag."""
        return self._answer(entry, self.workflows.get(case))

    def _answer(self, entry: Entry, after: Instance) -> Response:
        return _json({"entry": _entry(entry), "case": self._case(after)}, 200, {"ETag": _etag(after.version)})

    def _read(self, call: Call) -> Instance:
        return self.workflows.get(call.param("case"))

    def _case(self, instance: Instance) -> dict[str, Any]:
        runtime = self.workflows.runtime(instance.process_id, instance.content_hash)
        state = runtime.process.states[instance.state]
        return {
            "id": instance.id,
            "process": _reference(self._ref_of(instance)),
            "state": {"id": state.id, "label": {"zh": state.label.zh, "en": state.label.en}},
            "data": instance.data,
            "entered_at": instance.entered_at.isoformat(),
            "deadlines": [deadline_to_json(d) for d in instance.deadlines],
            "version": instance.version,
            "finished": state.is_final,
        }

    def _ref_of(self, instance: Instance) -> ProcessRef:
        key = (instance.process_id, instance.content_hash)
        ref = self._refs.get(key)
        if ref is None:
            ref = self._refs.setdefault(key, self.workflows.ref_of(instance))
        return ref

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

    def cancel(self, call: Call) -> Response:
        """Fire the current step's transition that cancels the case (``cancels: true``), one the caller
        may fire; the body is its form (which asks for a ``reason``), with ``trigger`` naming which
        when the caller may fire several."""
        instance = self._read(call)
        payload = dict(_object(call.body))
        named = payload.pop("trigger", None)
        if named is not None and not isinstance(named, str):
            raise _invalid_body("`trigger` names a transition of the step", [("/trigger", "must be a string")])
        runtime = self.workflows.runtime(instance.process_id, instance.content_hash)
        compiled = runtime.compiled.transitions.get(instance.state, ())
        cancelling = list(dict.fromkeys(c.trigger for c in compiled if c.transition.cancels))
        where = f"step `{instance.state}` of case `{instance.id}`"
        if not cancelling:
            finished = runtime.process.states[instance.state].is_final
            detail = f"case `{instance.id}` has finished" if finished else f"nothing in {where} cancels the case"
            raise Problem(409, "not-cancellable", detail, {"state": instance.state})
        if named is not None and named not in cancelling:
            raise Problem(
                422,
                "not-a-cancellation",
                f"`{named[:80]}` is not a transition of {where} that cancels the case",
                {"allowed": cancelling},
            )
        mine = [c.trigger for c in self.workflows.available(instance.id, call.caller.actor) if c.trigger in cancelling]
        if named is None and len(mine) > 1:
            raise Problem(
                422,
                "trigger-required",
                f"{where} may be cancelled in several ways: name one as `trigger`",
                {"allowed": mine},
            )
        trigger = named or (mine or cancelling)[0]  # one the caller may not fire: the engine says why not
        entry = self.workflows.fire(
            instance.id,
            trigger,
            call.caller.actor,
            payload,
            key=_key(call),
            if_version=_if_match(call, lambda: instance),
        )
        return self._fired(entry, instance.id)

    def move(self, call: Call) -> Response:
        """An administrator's correction: the case put in another step by hand, with the reason."""
        fields = _fields(call.body, {"to": "text", "reason": "text"})
        entry = self.workflows.move(call.param("case"), fields["to"], call.caller.actor, fields["reason"])
        return self._fired(entry, call.param("case"))

    # --- work queues ---------------------------------------------------------------------------------

    def worklist(self, call: Call) -> Response:
        """The caller's worklist: always for who signed in, with the roles the users file gives them."""
        query = call.request.query_params
        process = query.get("process")
        if process is not None and not _PROCESS_ID.fullmatch(process):
            raise Problem(400, "invalid-query", f"`{process[:80]}` is not a procedure id")
        limit = _whole(call, "limit", 1, MAX_PAGE, 50)
        page = self.workflows.worklist(
            call.caller.actor,
            process=process,
            role=query.get("role"),
            overdue=_flag(call, "overdue"),
            limit=limit,
            after=query.get("after"),
        )
        return _json(
            {
                "items": [_work_item(item) for item in page.items],
                "next": page.next,
                "damaged": [d.instance_id for d in page.damaged],
            }
        )

    def claim(self, call: Call) -> Response:
        _fields(call.body, {})
        return self._fired(self.workflows.claim(call.param("case"), call.caller.actor), call.param("case"))

    def release(self, call: Call) -> Response:
        _fields(call.body, {})
        return self._fired(self.workflows.release(call.param("case"), call.caller.actor), call.param("case"))

    def assign(self, call: Call) -> Response:
        """A supervisor gives the step to a user of the users file, acting with the roles the file gives
        them (or those of them the body names): never roles the file does not."""
        fields = _fields(call.body, {"to": "text"}, {"roles": "names"})
        # Before the users file is looked at: who is in it is not for every caller to learn.
        if SUPERVISOR_ROLE not in call.caller.actor.roles:
            raise Problem(403, "permission", f"only a `{SUPERVISOR_ROLE}` may assign a step")
        name: str = fields["to"]
        user = self.authenticator.user(name)
        if user is None:
            raise Problem(422, "unknown-user", f"`{name[:80]}` is not in the users file", _errors(("/to", "unknown")))
        roles: list[str] = fields.get("roles", list(user.roles))
        others = sorted(set(roles) - set(user.roles))
        if others or not roles:
            held = ", ".join(f"`{r}`" for r in user.roles) or "none"
            raise Problem(
                422,
                "roles-not-held",
                f"`{name}` holds the roles {held}, "
                + (f"not {', '.join(f'`{r}`' for r in others)}" if others else "and is assigned with one at least"),
                _errors(("/roles", "must be roles the users file gives them")),
            )
        entry = self.workflows.assign(call.param("case"), Actor(name, roles), call.caller.actor)
        return self._fired(entry, call.param("case"))

    # --- changing definitions under running cases ---------------------------------------------------

    def migrate(self, call: Call) -> Response:
        """Move the open cases a migration plan selects (``Workflows.migrate``); ``?dry_run=true`` only checks."""
        ref, _ = self._procedure(call)
        dry_run = _flag(call, "dry_run")
        plan = _plan(call.body, ref.id)
        return _json(self.workflows.migrate(plan, call.caller.actor, dry_run=dry_run).as_json())

    def impact(self, call: Call) -> Response:
        """The open cases of revision ``from`` that changing it into revision ``to`` touches (by default
        the latest revision and the one before it)."""
        latest = self.workflows.latest(call.param("process"))
        revisions = {d.ref.revision: d.ref for d in self.workflows.store.definitions() if d.ref.id == latest.id}
        new = _whole(call, "to", 1, latest.revision, latest.revision)
        old = _whole(call, "from", 1, latest.revision, max(new - 1, 1))
        for number in (old, new):
            if number not in revisions:  # cannot happen with revisions numbered 1, 2, 3...; verify says why
                raise NotFound(f"`{latest.id}` has no revision {number}")
        before, after = (self.workflows.runtime(latest.id, revisions[n].content_hash).process for n in (old, new))
        found = self.workflows.impact(before, after)
        return _json({"from": _reference(revisions[old]), "to": _reference(revisions[new])} | found.as_json())


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


_PLAN_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "application/json")
_PLAN_FILE = "<request body>"
"""The file name a plan sent over HTTP is located in (its problems read ``<request body>:3:5``)."""


async def _plan_text(request: Request) -> str:
    """A migration plan's text, YAML or JSON (which YAML reads too); 415 for another media type."""
    kind = request.headers.get("content-type", "application/yaml").split(";")[0].strip().lower()
    if kind not in _PLAN_TYPES and not kind.endswith(("+json", "+yaml")):
        raise Problem(
            415, "unsupported-media-type", f"send the plan as application/yaml or application/json, not `{kind[:60]}`"
        )
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FILE_BYTES:
            raise Problem(413, "too-large", f"a plan is at most {MAX_FILE_BYTES:,} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Problem(400, "bad-body", "the plan is not UTF-8 text") from None


def _plan(text: str, process_id: str) -> MigrationPlan:
    """The plan sent, read and checked as a plan file is; it must name stored revisions by number (a
    file on the server is not the caller's to name) and be one for the procedure it was sent to."""
    try:
        plan = read_plan(load_text(text, _PLAN_FILE), Path("."))
    except PlanError:
        raise
    except DefinitionError as exc:  # its YAML: the same located problems, as a plan's
        raise PlanError(exc.problems) from exc
    problems = [
        plan.problem(spec.path, f"over HTTP `{spec.path[0]}` names a stored revision by its number", "revision-file")
        for spec in (plan.source, plan.target)
        if spec.file is not None
    ]
    if plan.process != process_id:
        message = f"the plan moves cases of `{plan.process}`, but it was sent to `{process_id}`'s migrations"
        problems.append(plan.problem(("process",), message, "wrong-process"))
    if problems:
        raise PlanError(problems)
    return plan


Field = Literal["text", "names"]


def _fields(body: Any, required: Mapping[str, Field], optional: Mapping[str, Field] | None = None) -> dict[str, Any]:
    """A route's own body: a JSON object with these fields (``text``: a string, ``names``: a list of
    strings) and no others; 422 naming each field that is missing, extra or of the wrong kind."""
    given = _object(body, "invalid-body")
    known = {**required, **(optional or {})}
    wrong = [(f"/{name}", "is required") for name in required if name not in given]
    for name, value in given.items():
        kind = known.get(name)
        if kind is None:
            wrong.append((_pointer(name), f"is not a field of this request (it takes {', '.join(known) or 'none'})"))
        elif kind == "text" and not isinstance(value, str):
            wrong.append((f"/{name}", "must be a string"))
        elif kind == "names" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            wrong.append((f"/{name}", "must be a list of strings"))
    if wrong:
        raise _invalid_body("the body does not fit this request", wrong)
    return given


def _pointer(name: str) -> str:
    return "/" + name.replace("~", "~0").replace("/", "~1")


def _errors(*found: tuple[str, str]) -> dict[str, Any]:
    return {"errors": [{"pointer": pointer, "detail": detail} for pointer, detail in found]}


def _invalid_body(detail: str, found: list[tuple[str, str]]) -> Problem:
    return Problem(422, "invalid-body", detail, _errors(*found))


_PROCESS_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")


def _flag(call: Call, name: str) -> bool:
    """A yes-or-no query parameter: ``true`` or ``1``, ``false`` or ``0`` (``false`` when left out)."""
    given = call.request.query_params.get(name)
    if given is None:
        return False
    if given not in FLAGS:
        raise Problem(400, "invalid-query", f"`{name}` is one of {', '.join(FLAGS)}, not `{given[:40]}`")
    return FLAGS[given]


def _whole(call: Call, name: str, low: int, high: int, default: int) -> int:
    """A whole-number query parameter from ``low`` to ``high``."""
    given = call.request.query_params.get(name)
    if given is None:
        return default
    if not re.fullmatch(r"[0-9]{1,6}", given) or not low <= int(given) <= high:
        raise Problem(400, "invalid-query", f"`{name}` is a whole number from {low} to {high}, not `{given[:40]}`")
    return int(given)


def _object(body: Any, code: str = "invalid-payload") -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Problem(
            422,
            code,
            "the body must be a JSON object ({...})",
            {"errors": [{"pointer": "", "detail": "must be a set of fields"}]},
        )
    return body


def _key(call: Call) -> str | None:
    return call.request.headers.get("idempotency-key")


def _if_match(call: Call, case: Callable[[], Instance]) -> int | None:
    """The version ``If-Match`` names (``None`` without one, or with ``*``); 412 when it names none
    (the case is read only then, for the answer to say its version)."""
    given = call.request.headers.get("if-match")
    if given is None or given.strip() == "*":
        return None
    for tag in given.split(","):
        text = tag.strip().removeprefix("W/").strip('"')
        if text.isdigit() and len(text) < 19:
            return int(text)
    instance = case()
    raise Problem(
        412, "version-mismatch", f"If-Match names no version of case `{instance.id}` (it is at {instance.version})"
    )


# --- writing the answer -------------------------------------------------------------------------------


def _session_caller(
    sessions: Sessions, authenticator: Authenticator, request: Request, headers: Mapping[str, str]
) -> Caller | None:
    """The person a page's session cookie names, for the pages' own scripts; a POST must also carry the
    session's CSRF token, so that another site's page cannot post with the cookie."""
    signed_in = sessions.signed_in(request.cookies.get(COOKIE), authenticator, time.time())
    if signed_in is None:
        return None
    session, user = signed_in
    if request.method == "POST" and not sessions.csrf_ok(session, headers.get(CSRF_HEADER.lower())):
        raise Problem(403, "csrf", f"a POST signed in by a page's session cookie must carry its {CSRF_HEADER}")
    return Caller(user, "session")


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


def _work_item(item: WorkItem) -> dict[str, Any]:
    events = f"/procedures/{item.process_id}/cases/{item.instance_id}/events/"
    return {
        "process": item.process_id,
        "case": item.instance_id,
        "href": f"/cases/{item.instance_id}",
        "step": {"id": item.step, "label": {"zh": item.step_label.zh, "en": item.step_label.en}},
        "triggers": [
            {
                "trigger": offer.trigger,
                "label": {"zh": offer.zh, "en": offer.en},
                "dest": offer.dest,
                "form": None if offer.form is None else thaw_json(offer.form),
                "part": offer.part,
                "items": list(offer.items),
                "href": events + offer.trigger,
            }
            for offer in item.offers
        ],
        "due": _time(item.due),
        "overdue": item.overdue,
        "clocks": [
            {
                "clock": clock.clock,
                "label": {"zh": clock.zh, "en": clock.en},
                "status": status,
                "points": [{"point": point, "due": due.isoformat()} for point, due in clock.points],
            }
            for clock, status in item.clocks
        ],
        "claimed_by": item.claimed_by,
        "cursor": item.cursor,
    }
