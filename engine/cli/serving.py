"""Commands of the HTTP service: ``serve`` (the API on uvicorn) and ``users`` (who may call it).

Both need the ``serve`` extra (``pip install 'procflow[serve]'``); without it they say so in one line.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from engine.cli.options import EXIT_INVALID, EXIT_OK, UsageError, require_files, text, whole_number
from engine.cli.parser import Parser
from engine.errors import ProcflowError, StoreURLError
from engine.processes import load_process

if TYPE_CHECKING:
    from engine.http.app import EventsFirst
    from engine.service import Workflows

_EXTRA = "the HTTP service needs the `serve` extra: pip install 'procflow[serve]'"


def add_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    users_help = "the users file (default: $PROCFLOW_USERS or procflow-users.yaml)"

    serve = commands.add_parser("serve", help="run the HTTP API (JSON, OpenAPI at /openapi.json) on uvicorn")
    serve.add_argument("paths", nargs="*", metavar="PROCESS.yaml", help="definitions to register before serving")
    serve.add_argument("--store", metavar="URL", help="the store (default: $PROCFLOW_STORE or sqlite:///procflow.db)")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=whole_number(0, 65535), default=8000, help="the port (default 8000)")
    serve.add_argument("--users", metavar="FILE", help=users_help)
    serve.add_argument(
        "--trusted-proxy",
        metavar="ADDRESS",
        help="the reverse proxy's address: only its requests may name the user in --proxy-header",
    )
    serve.add_argument(
        "--proxy-header", type=text, default="X-Remote-User", help="the header the proxy names the user in"
    )
    serve.add_argument(
        "--max-failures",
        type=whole_number(1, 1_000_000),
        default=20,
        metavar="N",
        help="failed sign-ins an address may have in a minute before it must wait (default 20)",
    )
    serve.add_argument(
        "--session-key",
        metavar="FILE",
        help="the key that signs the pages' sign-ins, made when missing (default: the users file's name "
        "+ .session-key); give every server process the same file",
    )
    serve.add_argument(
        "--workers",
        type=whole_number(1, 64),
        default=1,
        metavar="N",
        help="server processes sharing the port (default 1; one per core to use them all; not with an in-memory store)",
    )
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="log every request (uvicorn's access log; off by default: it costs each request a log line)",
    )
    serve.set_defaults(handler=_serve)

    users = commands.add_parser("users", help="the users the HTTP API knows, with their roles, passwords and tokens")
    actions = users.add_subparsers(dest="action", required=True, parser_class=Parser)

    add = actions.add_parser("add", help="add a user (or change their roles and password)")
    add.add_argument("name", type=text, metavar="NAME")
    add.add_argument("--roles", type=text, required=True, metavar="ROLE[,ROLE]", help="the roles they hold")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (else asked for at a terminal; none: tokens only)",
    )
    token = actions.add_parser("token", help="make a bearer token for a user and print it (once: it is not kept)")
    token.add_argument("name", type=text, metavar="NAME")
    revoke = actions.add_parser("revoke", help="revoke a user's token (by its id), or all of them")
    revoke.add_argument("name", type=text, metavar="NAME")
    revoke.add_argument("--token", type=text, metavar="ID", help="only this token (default: every one)")
    actions.add_parser("list", help="the users, their roles and their tokens' ids")
    for sub in (add, token, revoke, actions.choices["list"]):
        sub.add_argument("--users", metavar="FILE", help=users_help)
    users.set_defaults(handler=_users)


def _serve(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    require_files(*args.paths)
    try:
        import uvicorn
    except ImportError:
        stderr.write(f"procflow serve: {_EXTRA}\n")
        return EXIT_INVALID
    from engine.service import Workflows

    setting = _Setting.of(args)
    try:
        workflows = Workflows(args.store)
    except StoreURLError as exc:
        raise UsageError(f"procflow serve: {exc}") from exc
    try:
        if args.workers > 1 and workflows.store.url in _PRIVATE_STORES:
            raise UsageError(
                f"procflow serve: --workers {args.workers} needs a store the processes share, not {args.store}"
            )
        for path in args.paths:
            ref = workflows.register(load_process(path))
            stdout.write(f"registered {ref.id} revision {ref.revision} from {path}\n")
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        processes = f", {args.workers} processes" if args.workers > 1 else ""
        stdout.write(f"procflow serve: {workflows.store.url} on http://{args.host}:{args.port}{processes}\n")
        stdout.flush()
        options: dict[str, Any] = {
            "host": args.host,
            "port": args.port,
            "log_level": "info",
            "access_log": args.access_log,
            "proxy_headers": False,  # the peer address is what --trusted-proxy is compared with
            "server_header": False,
        }
        if args.workers == 1:
            uvicorn.run(setting.application(workflows), **options)
        else:  # each process builds its own application from the setting (uvicorn starts them afresh)
            workflows.close()
            os.environ[_SETTING] = json.dumps(dataclasses.asdict(setting))
            uvicorn.run(f"{__name__}:application_from_setting", factory=True, workers=args.workers, **options)
    finally:
        workflows.close()
    return EXIT_OK


_SETTING = "PROCFLOW_SERVE_SETTING"
"""Where a server process started by ``serve --workers`` finds the setting it is to serve with."""
_PRIVATE_STORES = ("memory:", "sqlite://:memory:")


@dataclasses.dataclass(frozen=True)
class _Setting:
    """What every process of ``serve`` needs to build the same application."""

    store: str | None
    users: str | None
    trusted_proxy: str | None
    proxy_header: str
    max_failures: int
    session_key: str | None

    @classmethod
    def of(cls, args: argparse.Namespace) -> _Setting:
        return cls(args.store, args.users, args.trusted_proxy, args.proxy_header, args.max_failures, args.session_key)

    def application(self, workflows: Workflows) -> EventsFirst:
        from engine.http import Authenticator, TrustedProxy, create_app
        from engine.http.auth import users_path
        from engine.http.sessions import Sessions, session_key
        from engine.web.routes import page_routes

        proxy = TrustedProxy(self.trusted_proxy, self.proxy_header) if self.trusted_proxy else None
        users = users_path(self.users)
        authenticator = Authenticator(users, proxy, failures=self.max_failures)
        key_file = Path(self.session_key) if self.session_key else users.with_name(users.name + ".session-key")
        sessions = Sessions(session_key(key_file))
        # transitions says at INFO each state it leaves and enters: two log lines an event, which the
        # history records already, at a cost each request would pay.
        logging.getLogger("transitions").setLevel(logging.WARNING)
        return create_app(
            workflows, authenticator, sessions=sessions, pages=page_routes(workflows, authenticator, sessions)
        )


def application_from_setting() -> EventsFirst:
    """The application of one process of ``serve --workers N`` (uvicorn calls this in each)."""
    from engine.service import Workflows

    setting = _Setting(**json.loads(os.environ[_SETTING]))
    return setting.application(Workflows(setting.store))


def _users(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    try:
        from engine.http import auth
    except ImportError:
        stderr.write(f"procflow users: {_EXTRA}\n")
        return EXIT_INVALID
    path = auth.users_path(args.users)
    try:
        if args.action == "add":
            roles = [r.strip() for r in args.roles.split(",") if r.strip()]
            if not roles:
                raise UsageError("procflow users add: --roles takes ROLE[,ROLE], for example clerk,engineer")
            user = auth.add_user(path, args.name, roles, _password(args))
            how = "a password" if user.password else "tokens only (no password)"
            stdout.write(f"{user.name}: roles {', '.join(user.roles)}; signs in with {how}; in {path}\n")
        elif args.action == "token":
            stdout.write(auth.new_token(path, args.name) + "\n")
            stderr.write("keep it now: only its hash is kept, it cannot be shown again\n")
        elif args.action == "revoke":
            count = auth.revoke(path, args.name, args.token)
            stdout.write(f"{args.name}: {count} token(s) revoked\n")
        else:
            for user in auth.read_users(path).values():
                live = [t.id for t in user.tokens if t.revoked is None]
                stdout.write(
                    f"{user.name}  roles: {', '.join(user.roles)}  password: {'yes' if user.password else 'no'}  "
                    f"tokens: {', '.join(live) or 'none'}\n"
                )
    except ProcflowError as exc:
        stderr.write(f"procflow users {args.action}: {exc}\n")
        return EXIT_INVALID
    return EXIT_OK


def _password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("procflow users add: --password-stdin read an empty password")
        return password
    if not sys.stdin.isatty():
        return None
    first = getpass.getpass("password (empty: tokens only): ")
    if first and getpass.getpass("again: ") != first:
        raise UsageError("procflow users add: the two passwords differ; nothing was changed")
    return first or None
