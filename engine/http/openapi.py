"""The OpenAPI 3.1 document of the service, generated from the registered definitions themselves.

OpenAPI 3.1's schemas are JSON Schema 2020-12, the dialect of a definition's forms, so each form is
used as it is written: starting a case of a procedure takes its ``data`` schema as the request body,
and each trigger of a procedure (each transition, part and ``sign:`` of a transition that takes
signatures) has its own path whose request body is that trigger's payload schema. A ``$ref`` into
the definition (``#/records/return_application/fields``) becomes a schema under
``components/schemas`` named after the procedure and the place it points at, so the document
resolves on its own. The routes over work (``/worklist``, a case's ``claim``, ``release``, ``assign``,
``cancel`` and ``move``, a procedure's ``migrations`` and ``impact``) have the fixed schemas below; a
cancellation's body is described by the fields every such form asks for (``reason``), its own form
checked by the engine. Every refusal is described as RFC 9457 problem details (``engine.http.problems``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from engine.http.problems import MEDIA_TYPE
from engine.model import FrozenJson, Process, freeze_json, thaw_json
from engine.runtime import SIGN
from engine.stores import ProcessRef

VERSION = "3.1.0"
TITLE = "procflow"

_JSON = "application/json"
_YAML = "application/yaml"
_NAME = re.compile(r"[^A-Za-z0-9._-]")

FLAGS = {"true": True, "1": True, "false": False, "0": False}
"""The spellings a yes-or-no query parameter (``overdue``, ``dry_run``) takes; any other is a 400."""
MAX_PAGE = 200
"""The most items one page of the worklist holds."""


def openapi_document(procedures: Sequence[tuple[ProcessRef, Process]], *, version: str = "0.1.0") -> dict[str, Any]:
    """The whole document for these definitions (the latest revision of each registered procedure)."""
    components: dict[str, Any] = dict(_COMMON_SCHEMAS)
    process_param = {**_PROCESS, "schema": {"type": "string", "enum": sorted(ref.id for ref, _ in procedures)}}
    paths: dict[str, Any] = {
        "/openapi.json": {"get": _operation("openapi", "This document", {"200": _json_response({"type": "object"})})},
        "/procedures": {
            "get": _operation(
                "listProcedures",
                "The registered procedures, each at its latest revision",
                {"200": _json_response({"type": "array", "items": _ref("Procedure")})},
            )
        },
        "/procedures/{process}": {
            "parameters": [process_param],
            "get": _operation(
                "getProcedure",
                "A procedure's latest revision, with its definition as JSON",
                {"200": _json_response(_ref("Definition")), **_problems(404)},
            ),
        },
        "/procedures/{process}/chart.svg": {
            "parameters": [process_param],
            "get": _operation(
                "getChart",
                "The procedure's flowchart as SVG",
                {"200": {"description": "The chart", "content": {"image/svg+xml": {"schema": {"type": "string"}}}}}
                | _problems(404),
            ),
        },
    }
    paths["/procedures/{process}/impact"] = {
        "parameters": [process_param],
        "get": _operation(
            "getImpact",
            "The open cases of revision `from` that changing it into revision `to` touches, grouped by how",
            {"200": _json_response(_ref("Impact")), **_problems(400, 404)},
            parameters=[
                _revision_param("from", "default: the revision before `to`"),
                _revision_param("to", "default: the latest"),
            ],
        ),
    }
    paths["/procedures/{process}/migrations"] = {
        "parameters": [process_param],
        "post": _operation(
            "migrate",
            "Move the open cases a migration plan selects onto another stored revision (administrators of the "
            "new revision only); with `dry_run` every case is checked and nothing is written",
            {"200": _json_response(_ref("MigrationReport")), **_problems(400, 403, 404, 422)},
            body=_PLAN_BODY,
            parameters=[_flag_param("dry_run", "check every case and report, writing nothing")],
            media={_YAML: {"schema": {"type": "string", "description": "the plan, as a plan file holds it"}}},
        ),
    }
    paths.update(_studio_paths(process_param))
    paths["/worklist"] = {
        "get": _operation(
            "worklist",
            "The open steps the caller (with the roles the users file gives them) may act on, earliest due first",
            {"200": _json_response(_ref("Worklist")), **_problems(400)},
            parameters=[
                {**process_param, "in": "query", "required": False, "description": "only cases of this procedure"},
                {
                    "name": "role",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "only steps for this one of the caller's roles (400 for a role they do not hold)",
                },
                _flag_param("overdue", "only steps whose case is overdue now"),
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "description": "items per page (default 50)",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                },
                {
                    "name": "after",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "the `next` of the page before, as given",
                },
            ],
        )
    }
    for action, (summary, body, statuses) in _CASE_ACTIONS.items():
        paths[f"/cases/{{case}}/{action}"] = {
            "parameters": [_CASE],
            "post": _operation(
                f"{action}Case",
                summary,
                {"200": _json_response(_ref("Fired"), headers=_ETAG), **_problems(400, 403, 404, *statuses)},
                body=body,
                parameters=[_IDEMPOTENCY, _IF_MATCH] if action == "cancel" else None,
                required=body is not None and bool(body.get("required")),
            ),
        }
    for sub, (summary, schema) in _CASE_VIEWS.items():
        paths["/cases/{case}" + sub] = {
            "parameters": [_CASE],
            "get": _operation(_view_id(sub), summary, {"200": _json_response(schema), **_problems(400, 404)}),
        }
    for ref, process in procedures:
        portable = _Portable(process, components)
        base = f"/procedures/{ref.id}"
        triggers = _triggers(process)
        started = _json_response(_ref("Case"), headers=_ETAG)
        started["links"] = {
            _NAME.sub("_", name): {"operationId": operation, "parameters": {"case": "$response.body#/id"}}
            for name, operation in [
                *((f"case{sub.replace('/', '_')}", _view_id(sub)) for sub in _CASE_VIEWS),
                *((f"fire_{trigger}", f"fire.{ref.id}.{trigger}") for trigger in triggers),
            ]
        }
        paths[f"{base}/cases"] = {
            "get": _operation(
                f"list.{ref.id}",
                f"The cases of `{ref.id}`, oldest first (without their histories)",
                {"200": _json_response({"type": "array", "items": _ref("Summary")})},
            ),
            "post": _operation(
                f"start.{ref.id}",
                f"Start a case of `{ref.id}`: {process.title.en}",
                {"201": started, **_problems(400, 403, 409, 422)},
                body=portable.schema(process.data_schema),
                parameters=[_IDEMPOTENCY],
                required=False,
            ),
        }
        for trigger, schemas in triggers.items():
            paths[f"{base}/cases/{{case}}/events/{trigger}"] = {
                "parameters": [_CASE],
                "post": _operation(
                    f"fire.{ref.id}.{trigger}",
                    f"Fire `{trigger}` on a case of `{ref.id}`",
                    {"200": _json_response(_ref("Fired"), headers=_ETAG), **_problems(400, 403, 404, 409, 412, 422)},
                    body=_one_of([portable.schema(s) for s in schemas]),
                    parameters=[_IDEMPOTENCY, _IF_MATCH],
                    required=False,
                ),
            }
    return {
        "openapi": VERSION,
        "info": {
            "title": TITLE,
            "version": version,
            "description": "Procedures as state graphs: start cases, fire events, read what they hold. "
            "Every refusal is RFC 9457 problem details with procflow's stable `code`.",
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "security": [{"basic": []}, {"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic", "description": "people: name and password"},
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "systems: a token from `procflow users token`",
                },
            },
        },
    }


def _view_id(sub: str) -> str:
    return "getCase" + sub.strip("/").capitalize()


def _triggers(process: Process) -> dict[str, list[FrozenJson | None]]:
    """Each trigger a caller may send to the procedure's cases, with the payload schemas it takes
    (several when transitions from different steps share a trigger with different forms)."""
    found: dict[str, list[FrozenJson | None]] = {}
    for state in process.states.values():
        for transition in state.transitions:
            found.setdefault(transition.trigger, []).append(transition.payload_schema)
            if transition.signoffs:
                found.setdefault(SIGN + transition.trigger, []).append(_NOTHING)
        for part in state.parts:
            found.setdefault(part.id, []).append(
                _with_item(part.payload_schema) if part.for_each else part.payload_schema
            )
    return found


_NOTHING: FrozenJson = {"type": "object", "maxProperties": 0}
"""What a ``sign:`` event takes: a signature is who, as which role, and when."""


def _with_item(schema: FrozenJson | None) -> FrozenJson:
    """A part done per item: its form, and ``item`` naming the item it is done for."""
    item = {"type": ["string", "integer"], "description": "the item of the list this part is done for"}
    base: dict[str, Any] = thaw_json(schema) if isinstance(schema, Mapping) else {"type": "object"}
    base["properties"] = {**(base.get("properties") or {}), "item": item}
    base["required"] = [*(base.get("required") or []), "item"]
    return freeze_json(base)


def _one_of(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    distinct = list({repr(s): s for s in schemas}.values())
    return distinct[0] if len(distinct) == 1 else {"anyOf": distinct}


class _Portable:
    """A definition's schemas made to stand in the OpenAPI document: ``$ref``s into the definition
    rewritten to components (added once each, recursion included)."""

    def __init__(self, process: Process, components: dict[str, Any]):
        self.process = process
        self.document = thaw_json(process.document)
        self.components = components

    def schema(self, schema: FrozenJson | None) -> dict[str, Any]:
        if schema is None:
            return {"type": "object"}
        copied = self._rewrite(thaw_json(schema))
        return copied if isinstance(copied, dict) else {"type": "object"}

    def _rewrite(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._rewrite(v) for v in value]
        if not isinstance(value, dict):
            return value
        rewritten = {k: self._rewrite(v) for k, v in value.items() if k not in ("$schema", "$id")}
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            rewritten["$ref"] = "#/components/schemas/" + self._component(ref)
        return rewritten

    def _component(self, ref: str) -> str:
        readable = _NAME.sub("_", f"{self.process.id}.{ref[2:].replace('/', '.')}")[:80]
        name = f"{readable}.{hashlib.sha256(f'{self.process.content_hash}{ref}'.encode()).hexdigest()[:8]}"
        if name not in self.components:
            self.components[name] = {}  # taken before its target is rewritten: a recursive reference ends here
            target = _resolve(self.document, ref)
            self.components[name] = self._rewrite(target) if target is not None else {}
        return name


def _resolve(document: Any, ref: str) -> Any:
    """The node a ``#/a/b`` pointer names in the definition, or ``None``."""
    node = document
    for raw in ref[2:].split("/") if ref not in ("#", "#/") else []:
        segment = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            return None
    return node


def _operation(
    operation_id: str,
    summary: str,
    responses: dict[str, Any],
    *,
    body: dict[str, Any] | None = None,
    parameters: list[dict[str, Any]] | None = None,
    required: bool = True,
    media: dict[str, Any] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "responses": {**responses, **_problems(401, 429), "default": _problem_response("Any other refusal")},
    }
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": required, "content": {_JSON: {"schema": body}, **(media or {})}}
    return operation


def _json_response(schema: dict[str, Any], *, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": "Done", "content": {_JSON: {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


_STATUS_WORDS = {
    400: "The request is not JSON, or names an id or key procflow does not accept",
    401: "No one known is calling (see WWW-Authenticate)",
    403: "The caller's roles do not allow it; nothing changed",
    404: "No such procedure or case",
    409: "Another writer got there first, or the idempotency key recorded another event",
    412: "If-Match names a version the case is no longer at",
    422: "The engine refused it (its `code` says why); nothing changed",
    429: "Too many failed sign-ins from this address (see Retry-After)",
}


def _problems(*statuses: int) -> dict[str, Any]:
    return {str(status): _problem_response(_STATUS_WORDS[status], status) for status in statuses}


def _problem_response(description: str, status: int | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {MEDIA_TYPE: {"schema": _ref("Problem")}}}
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"description": "Basic or Bearer", "schema": {"type": "string"}}}
    if status == 429:
        response["headers"] = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "string"}}}
    return response


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_PROCESS = {"name": "process", "in": "path", "required": True, "schema": {"type": "string"}}
_CASE = {
    "name": "case",
    "in": "path",
    "required": True,
    "description": "The case's id: letters (of any script), digits and - _ . : @; the plain ASCII form is described",
    "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_.:@-]{1,200}$"},
}
_IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Sent again with the same event, it takes effect once and answers with what it recorded",
    "schema": {"type": "string", "pattern": r"^[!-~][ -~]{0,199}$"},
}
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "The case's version (its ETag): the event is applied only if the case is still there",
    "schema": {"type": "string"},
}


def _flag_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": f"{description}: {', '.join(FLAGS)} (default false)",
        "schema": {"type": "boolean"},
    }


def _revision_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": f"a revision number ({description})",
        "schema": {"type": "integer", "minimum": 1},
    }


_ETAG = {"ETag": {"description": "The case's version after the event", "schema": {"type": "string"}}}

_TEXT = {"type": "object", "required": ["zh", "en"], "properties": {"zh": {"type": "string"}, "en": {"type": "string"}}}
_TIME = {"type": "string"}
_NULLABLE_TIME = {"type": ["string", "null"]}

_COMMON_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "code": {"type": "string", "description": "procflow's stable name of the refusal"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["pointer", "detail"],
                    "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}},
                },
            },
        },
    },
    "Reference": {
        "type": "object",
        "required": ["id", "revision", "version", "content_hash"],
        "properties": {
            "id": {"type": "string"},
            "revision": {"type": "integer"},
            "version": {"type": "integer"},
            "content_hash": {"type": "string"},
        },
    },
    "Procedure": {
        "allOf": [_ref("Reference")],
        "type": "object",
        "required": ["title"],
        "properties": {"title": _TEXT},
    },
    "Definition": {
        "allOf": [_ref("Procedure")],
        "type": "object",
        "required": ["definition"],
        "properties": {"definition": {"type": "object"}},
    },
    "Deadline": {
        "type": "object",
        "required": ["state", "due"],
        "properties": {"state": {"type": "string"}, "due": _TIME, "fire": {"type": ["string", "null"]}},
    },
    "Summary": {
        "type": "object",
        "required": ["id", "process", "state", "data", "entered_at", "deadlines", "version"],
        "properties": {
            "id": {"type": "string"},
            "process": _ref("Reference"),
            "state": {"type": "string"},
            "data": {"type": "object"},
            "entered_at": _TIME,
            "deadlines": {"type": "array", "items": _ref("Deadline")},
            "version": {"type": "integer"},
        },
    },
    "Case": {
        "type": "object",
        "required": ["id", "process", "state", "data", "entered_at", "deadlines", "version", "finished"],
        "properties": {
            "id": {"type": "string"},
            "process": _ref("Reference"),
            "state": {
                "type": "object",
                "required": ["id", "label"],
                "properties": {"id": {"type": "string"}, "label": _TEXT},
            },
            "data": {"type": "object"},
            "entered_at": _TIME,
            "deadlines": {"type": "array", "items": _ref("Deadline")},
            "version": {"type": "integer"},
            "finished": {"type": "boolean"},
        },
    },
    "Entry": {
        "type": "object",
        "required": ["at", "actor", "roles", "trigger", "dest", "payload"],
        "properties": {
            "at": _TIME,
            "actor": {"type": "string"},
            "roles": {"type": "array", "items": {"type": "string"}},
            "trigger": {"type": ["string", "null"]},
            "source": {"type": ["string", "null"]},
            "dest": {"type": "string"},
            "payload": {"type": "object"},
            "key": {"type": ["string", "null"]},
        },
    },
    "Fired": {
        "type": "object",
        "required": ["entry", "case"],
        "properties": {"entry": _ref("Entry"), "case": _ref("Case")},
    },
    "Clock": {
        "type": "object",
        "required": ["clock", "label", "status", "elapsed_seconds", "remaining_seconds", "limit", "reached"],
        "properties": {
            "clock": {"type": "string"},
            "label": _TEXT,
            "status": {"enum": ["idle", "running", "paused", "warned", "breached", "stopped"]},
            "elapsed_seconds": {"type": "number"},
            "remaining_seconds": {"type": "number"},
            "limit": {"type": "string"},
            "reached": {
                "type": "array",
                "items": {"type": "object", "properties": {"point": {"type": "string"}, "at": _TIME}},
            },
            "next": {"type": ["string", "null"]},
            "due": _NULLABLE_TIME,
            "started_at": _NULLABLE_TIME,
            "stopped_at": _NULLABLE_TIME,
        },
    },
    "Action": {
        "type": "object",
        "required": ["trigger", "label", "dest", "payload_schema", "ready", "href"],
        "properties": {
            "trigger": {"type": "string"},
            "label": _TEXT,
            "dest": {"type": "string"},
            "payload_schema": {"type": ["object", "null"]},
            "conditions": {"type": "array", "items": {"type": "string"}},
            "signoffs": {"type": "array", "items": {"type": "string"}},
            "ready": {"type": ["boolean", "null"]},
            "remaining": {"type": ["integer", "null"]},
            "then": {"type": ["string", "null"]},
            "part": {"type": ["string", "null"]},
            "items": {"type": "array", "items": {"type": "string"}},
            "href": {"type": "string", "description": "where to POST it"},
        },
    },
}

_CASE_VIEWS: dict[str, tuple[str, dict[str, Any]]] = {
    "": ("A case: its step, data, deadlines and version (also its ETag)", _ref("Case")),
    "/history": ("Every event of the case, oldest first", {"type": "array", "items": _ref("Entry")}),
    "/records": (
        "The records the case holds, by id, every version with its author, time and event",
        {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "object"}}},
    ),
    "/clocks": ("The case's clocks now", {"type": "array", "items": _ref("Clock")}),
    "/actions": ("What the caller may fire on the case now", {"type": "array", "items": _ref("Action")}),
}

_NAMES = {"type": "array", "items": {"type": "string"}}
_CASE_ACTIONS: dict[str, tuple[str, dict[str, Any] | None, tuple[int, ...]]] = {
    "claim": (
        "Take the case's current step: others see who has it, and only they or a supervisor move it on",
        None,
        (409,),
    ),
    "release": ("Give the current step back: its holder, or a supervisor", None, (409,)),
    "assign": (
        "A supervisor gives the current step to a user of the users file, acting with the roles the file gives "
        "them (or those of them `roles` names)",
        {
            "type": "object",
            "required": ["to"],
            "properties": {"to": {"type": "string"}, "roles": _NAMES},
            "additionalProperties": False,
        },
        (409, 422),
    ),
    "cancel": (
        "Fire the current step's transition that cancels the case, one the caller may fire; the body is its "
        "form, with `trigger` naming which when the caller may fire several",
        {
            "type": "object",
            "required": ["reason"],
            "properties": {"trigger": {"type": "string"}, "reason": {"type": "string", "minLength": 1}},
        },
        (409, 412, 422),
    ),
    "move": (
        "An administrator's correction: put the case in step `to` by hand, with the reason (recorded)",
        {
            "type": "object",
            "required": ["to", "reason"],
            "properties": {"to": {"type": "string"}, "reason": {"type": "string", "minLength": 1}},
            "additionalProperties": False,
        },
        (409, 422),
    ),
}
"""``POST /cases/{case}/<action>``: summary, body schema (none: no body) and the statuses beyond 400/403/404."""

_PLAN_BODY: dict[str, Any] = {
    "type": "object",
    "description": "a migration plan (schemas/migration.schema.json); `from` and `to` name stored revisions by number",
    "required": ["migration", "process", "from", "to"],
    "properties": {
        "migration": {"const": 1},
        "title": {"type": "string"},
        "process": {"type": "string"},
        "from": {"type": "integer", "minimum": 1},
        "to": {"type": "integer", "minimum": 1},
        "steps": {"type": "object", "additionalProperties": {"type": "string"}},
        "set": {"type": "object"},
        "cases": {"type": "object"},
    },
}

_DRAFT_BODY: dict[str, Any] = {
    "type": "object",
    "description": "a process definition (schemas/process.schema.json) as JSON; as YAML text with application/yaml",
}
_DRAFT_MEDIA = {_YAML: {"schema": {"type": "string", "description": "the draft, as a definition file holds it"}}}
_STUDIO_CHECK = {
    "type": "object",
    "required": ["valid", "process", "problems", "svg"],
    "properties": {
        "valid": {"type": "boolean"},
        "process": {"type": ["object", "null"]},
        "problems": {"type": "array", "items": {"type": "object", "required": ["line", "column", "end", "message"]}},
        "svg": {"type": ["string", "null"], "description": "the draft's chart, when it has no errors"},
    },
}


def _studio_paths(process_param: dict[str, Any]) -> dict[str, Any]:
    """The Studio's routes (``engine.http.studio``): a draft's problems, its diff, publishing it."""
    lang = {
        "name": "lang",
        "in": "query",
        "required": False,
        "schema": {"enum": ["zh", "en", "both"]},
        "description": "chart labels (default both)",
    }
    draft = {"body": _DRAFT_BODY, "media": _DRAFT_MEDIA, "parameters": [lang]}
    return {
        "/studio/check": {
            "post": _operation(
                "studioCheck",
                "A draft's problems as `procflow validate` finds them, at their lines, and its chart when valid",
                {"200": _json_response(_STUDIO_CHECK), **_problems(400)},
                **draft,  # type: ignore[arg-type]
            )
        },
        "/studio/diff/{process}": {
            "parameters": [process_param],
            "post": _operation(
                "studioDiff",
                "The changes from the latest published revision to the draft, and the drawn diff (SVG)",
                {"200": _json_response({"type": "object", "required": ["published", "changes", "lines", "svg"]})}
                | _problems(400, 404, 422),
                **draft,  # type: ignore[arg-type]
            ),
        },
        "/studio/publish/{process}": {
            "parameters": [_PROCESS],
            "post": _operation(
                "studioPublish",
                "Publish the draft as the procedure's next revision (role `publisher` only), with the impact on "
                "open cases and a draft migration plan; 200 when the store already holds this content",
                {
                    "201": _json_response({"type": "object", "required": ["revision", "created", "impact", "plan"]}),
                    "200": _json_response({"type": "object", "required": ["revision", "created"]}),
                }
                | _problems(400, 403, 422),
                **draft,  # type: ignore[arg-type]
            ),
        },
    }


_REVISION = {
    "type": "object",
    "required": ["revision", "version", "content_hash"],
    "properties": {"revision": {"type": "integer"}, "version": {"type": "integer"}, "content_hash": {"type": "string"}},
}
_WORK_SCHEMAS: dict[str, Any] = {
    "WorkItem": {
        "type": "object",
        "required": ["process", "case", "href", "step", "triggers", "due", "overdue", "clocks", "claimed_by", "cursor"],
        "properties": {
            "process": {"type": "string"},
            "case": {"type": "string"},
            "href": {"type": "string"},
            "step": {
                "type": "object",
                "required": ["id", "label"],
                "properties": {"id": {"type": "string"}, "label": _TEXT},
            },
            "triggers": {
                "type": "array",
                "description": "what the caller may send now (none while someone else holds the step)",
                "items": {
                    "type": "object",
                    "required": ["trigger", "label", "dest", "form", "href"],
                    "properties": {
                        "trigger": {"type": "string"},
                        "label": _TEXT,
                        "dest": {"type": "string"},
                        "form": {"type": ["object", "null"], "description": "the JSON Schema of its payload"},
                        "part": {"type": ["string", "null"]},
                        "items": _NAMES,
                        "href": {"type": "string", "description": "where to POST it"},
                    },
                },
            },
            "due": _NULLABLE_TIME,
            "overdue": {"type": "boolean"},
            "clocks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["clock", "label", "status"],
                    "properties": {
                        "clock": {"type": "string"},
                        "label": _TEXT,
                        "status": {"type": "string"},
                        "points": {
                            "type": "array",
                            "items": {"type": "object", "properties": {"point": {"type": "string"}, "due": _TIME}},
                        },
                    },
                },
            },
            "claimed_by": {"type": ["string", "null"]},
            "cursor": {"type": "string"},
        },
    },
    "Worklist": {
        "type": "object",
        "required": ["items", "next", "damaged"],
        "properties": {
            "items": {"type": "array", "items": _ref("WorkItem")},
            "next": {"type": ["string", "null"], "description": "pass it as `after` for the next page"},
            "damaged": {"type": "array", "items": {"type": "string"}, "description": "cases `procflow verify` reports"},
        },
    },
    "MigrationReport": {
        "type": "object",
        "required": ["plan", "process", "from", "to", "dry_run", "summary", "warnings", "cases"],
        "properties": {
            "format": {"type": "integer"},
            "plan": {"type": "string"},
            "process": {"type": "string"},
            "from": _REVISION,
            "to": _REVISION,
            "dry_run": {"type": "boolean"},
            "summary": {"type": "object", "additionalProperties": {"type": "integer"}},
            "warnings": {"type": "array", "items": {"type": "object"}},
            "cases": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "outcome", "from", "to", "set", "detail"],
                    "properties": {
                        "id": {"type": "string"},
                        "outcome": {"enum": ["moved", "would move", "already moved", "refused", "failed"]},
                        "from": {"type": "string"},
                        "to": {"type": "string"},
                        "set": {"type": "object"},
                        "detail": {"type": "string"},
                    },
                },
            },
        },
    },
    "Impact": {
        "type": "object",
        "required": ["from", "to", "checked", "touched", "groups"],
        "properties": {
            "from": _ref("Reference"),
            "to": _ref("Reference"),
            "checked": {"type": "integer"},
            "touched": {"type": "integer"},
            "groups": {"type": "object", "additionalProperties": {"type": "object"}},
        },
    },
}
_COMMON_SCHEMAS.update(_WORK_SCHEMAS)
