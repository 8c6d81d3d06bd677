"""Commands over every stored instance: ``list``, ``worker`` (firing due deadlines and delivering the
outbox until stopped), ``verify``. Those over one instance, and what store commands share, are
``engine.cli.stored``'s."""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from engine.cli.options import EXIT_INVALID, EXIT_OK, MAX_BATCH, MAX_INTERVAL, seconds, text, whole_number
from engine.cli.parser import Parser
from engine.cli.stored import store_command
from engine.delivery import ENVIRONMENT_VARIABLE as ADDRESSES_VARIABLE
from engine.delivery import load_address_book
from engine.errors import NotFound, StoreError
from engine.service import Batch, Workflows
from engine.stores import DEFAULT_LEASE, Damaged, InstanceSummary
from engine.stores.identifiers import shown


def add_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    list_ = store_command(commands, "list", "stored instances, oldest first", _list_instances)
    list_.add_argument("--process", type=text, metavar="P", help="only instances of this process id")
    list_.add_argument("--state", type=text, metavar="S", help="only instances in this state")
    list_.add_argument("--overdue", action="store_true", help="only instances with a time limit or deadline passed")

    worker = store_command(
        commands,
        "worker",
        "fire due deadlines and deliver the outbox until stopped (SIGINT or SIGTERM end it cleanly)",
        _run_worker,
    )
    worker.add_argument(
        "--addresses",
        type=text,
        metavar="FILE",
        help=f"the address book to deliver the outbox by (default: ${ADDRESSES_VARIABLE}; without one, "
        "the outbox is kept and not delivered)",
    )
    worker.add_argument(
        "--lease",
        type=seconds(MAX_INTERVAL),
        default=DEFAULT_LEASE.total_seconds(),
        metavar="S",
        help="how long a claim on a deadline or outbox row holds before another worker may take it over "
        f"(default {DEFAULT_LEASE.total_seconds():g})",
    )
    worker.add_argument(
        "--interval",
        type=seconds(MAX_INTERVAL),
        default=5.0,
        metavar="S",
        help=f"pause when idle, up to {MAX_INTERVAL:g} s (default 5)",
    )
    worker.add_argument(
        "--batch",
        type=whole_number(1, MAX_BATCH),
        default=100,
        metavar="N",
        help=f"deadlines claimed at a time (1 to {MAX_BATCH}, default 100)",
    )
    worker.add_argument("--once", action="store_true", help="fire what is due now, then exit")

    verify = store_command(
        commands, "verify", "replay every stored instance (or those named) and report each damaged one", _verify_store
    )
    verify.add_argument("instance_ids", type=text, nargs="*", metavar="ID", help="only these instances (default: all)")


def _list_instances(args: argparse.Namespace, workflows: Workflows, stdout: TextIO) -> int:
    now = datetime.datetime.now(datetime.UTC)
    listed = workflows.list(args.process, args.state, overdue_at=now if args.overdue else None)
    found = [s for s in listed if isinstance(s, InstanceSummary)]
    damaged = [d for d in listed if isinstance(d, Damaged)]
    for summary in found:
        late = summary.overdue(now)
        since = f"  overdue since {min(d.due for d in late).isoformat()}" if late else ""
        stdout.write(
            f"{summary.id}  {summary.process.id} r{summary.process.revision} (v{summary.process.version})  "
            f"{summary.state:<20} "
            f"since {summary.entered_at.isoformat()}{since}\n"
        )
    _report_damaged(damaged, stdout)
    stdout.write(f"{len(found)} instance(s)" + (f", {len(damaged)} that cannot be read" if damaged else "") + "\n")
    return EXIT_INVALID if damaged else EXIT_OK


def _report_damaged(damaged: Sequence[Damaged], stdout: TextIO) -> None:
    for item in damaged:
        stdout.write(f"DAMAGED {shown(item.instance_id)}: {item.problem}\n")


def _verify_store(args: argparse.Namespace, workflows: Workflows, stdout: TextIO) -> int:
    found = workflows.verify_store(args.instance_ids or None)

    for problem in found.definitions:
        stdout.write(f"DAMAGED definition: {problem}\n")
    _report_damaged(found.damaged, stdout)
    stdout.write(
        f"checked {found.checked} instance(s): {found.checked - len(found.damaged)} match their history, "
        f"{len(found.damaged)} damaged"
        + (f"; {len(found.definitions)} damaged definition(s)" if found.definitions else "")
        + "\n"
    )
    if found.missing:  # said last, on stderr, after the report of the ids that were there
        names = ", ".join(shown(instance_id) for instance_id in found.missing)
        raise NotFound(f"{workflows.store.url} holds no instance {names}")
    return EXIT_OK if found.ok else EXIT_INVALID


def _run_worker(args: argparse.Namespace, workflows: Workflows, stdout: TextIO) -> int:
    book_file = args.addresses or os.environ.get(ADDRESSES_VARIABLE) or None
    if book_file is not None:
        workflows = Workflows(store=workflows.store, addresses=load_address_book(book_file))
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}

    def report(batch: Batch) -> None:
        if batch.claimed:
            now = datetime.datetime.now(datetime.UTC).isoformat()
            stdout.write(f"{now}  fired {batch.fired} of {batch.claimed} claimed\n")
            stdout.flush()
        for item in batch.set_aside:
            sys.stderr.write(f"procflow worker: set aside instance {shown(item.instance_id)}: {item.problem}\n")
        if batch.deliveries is not None and batch.deliveries.claimed:
            told = batch.deliveries
            now = datetime.datetime.now(datetime.UTC).isoformat()
            stdout.write(
                f"{now}  delivered {len(told.delivered)} of {told.claimed} outbox row(s), "
                f"{len(told.retried)} to retry, {len(told.dead)} dead-lettered\n"
            )
            stdout.flush()
            for row in told.dead:
                sys.stderr.write(f"procflow worker: dead letter {shown(row.message.id)}: {row.last_error}\n")

    delivering = f", delivering the outbox by {book_file}" if workflows.delivers else ""
    stdout.write(f"worker on {workflows.store.url}: firing due deadlines{delivering}, {args.batch} at a time\n")
    stdout.flush()

    def complain(error: StoreError) -> None:
        sys.stderr.write(f"procflow worker: {error}; trying again in {args.interval:g} s\n")

    try:
        total = workflows.work(
            interval=args.interval,
            batch=args.batch,
            once=args.once,
            stop=stop,
            report=report,
            on_error=complain,
            lease=datetime.timedelta(seconds=args.lease),
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    stdout.write(f"worker stopped: fired {total} deadline(s)\n")
    return EXIT_OK
