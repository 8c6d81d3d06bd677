"""``procflow outbox``: the outbox rows a store keeps (pending, delivered, dead-lettered), and putting
dead letters back to be delivered again."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from engine.cli.options import EXIT_OK, text, whole_number
from engine.cli.parser import Parser
from engine.cli.stored import stored
from engine.outbox import OUTBOX_STATES, OutboxRow
from engine.service import Workflows
from engine.stores.identifiers import shown

MAX_LISTED = 10_000


def add_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    outbox = commands.add_parser("outbox", help="list the outbox (what events tell other systems); retry dead letters")
    outbox.add_argument("--store", metavar="URL", help="the store (default: $PROCFLOW_STORE or sqlite:///procflow.db)")
    which = outbox.add_mutually_exclusive_group()
    which.add_argument("--dead", action="store_true", help="only the dead letters")
    which.add_argument("--state", choices=OUTBOX_STATES, help="only rows in this state")
    outbox.add_argument(
        "--retry",
        type=text,
        nargs="*",
        metavar="ID",
        help="put dead letters back to be delivered (those named by delivery id, or every one)",
    )
    outbox.add_argument(
        "--limit", type=whole_number(1, MAX_LISTED), default=100, metavar="N", help="rows listed (default 100)"
    )
    outbox.add_argument("--json", action="store_true", help="one JSON object per row")
    outbox.set_defaults(handler=stored(_outbox))


def _outbox(args: argparse.Namespace, workflows: Workflows, stdout: TextIO) -> int:
    if args.retry is not None:
        count = workflows.retry_dead(args.retry)
        stdout.write(f"{count} dead letter(s) put back in the outbox\n")
        return EXIT_OK
    rows = workflows.outbox(dead=args.dead, state=args.state, limit=args.limit)
    for row in rows:
        stdout.write((json.dumps(_row_json(row), ensure_ascii=False) if args.json else _row_line(row)) + "\n")
    if not rows and not args.json:
        stdout.write("the outbox is empty\n" if not (args.dead or args.state) else "no such rows\n")
    return EXIT_OK


def _row_line(row: OutboxRow) -> str:
    line = f"{shown(row.message.id)}  {row.message.kind:<12} {row.state:<9} attempts {row.attempts}"
    if row.state == "pending":
        line += f"  next {row.next_attempt.isoformat()}"
    if row.last_error:
        line += f"  last error: {row.last_error}"
    return line


def _row_json(row: OutboxRow) -> dict[str, object]:
    return {
        "delivery": row.message.id,
        "kind": row.message.kind,
        "instance": row.message.instance_id,
        "process": row.message.process_id,
        "state": row.state,
        "attempts": row.attempts,
        "created_at": row.created_at.isoformat(),
        "next_attempt": row.next_attempt.isoformat(),
        "sent_to": list(row.sent_to),
        "last_error": row.last_error,
        "payload": dict(row.message.payload),
    }
