"""Commands over stored instances: ``start``, ``fire``, ``show``, ``history``, ``records``, ``list``, ``worker``,
``verify``."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from engine.cli.options import (
    EXIT_INVALID,
    EXIT_OK,
    MAX_BATCH,
    MAX_INTERVAL,
    UsageError,
    require_files,
    seconds,
    text,
    whole_number,
)
from engine.cli.parser import Parser
from engine.cli.running import notification_lines, trail_lines
from engine.clocks import ClockReport
from engine.delivery import ENVIRONMENT_VARIABLE as ADDRESSES_VARIABLE
from engine.delivery import load_address_book
from engine.errors import (
    AddressBookError,
    ConflictError,
    EventRefused,
    InvalidData,
    InvalidIdentifier,
    InvalidPayload,
    InvalidQuery,
    NotFound,
    ReplayMismatch,
    StoreError,
    StoreURLError,
)
from engine.inputs import read_json
from engine.instances import instance_to_json, record_version_to_json
from engine.model import Process, thaw_json
from engine.runtime import Actor, LimitLeft, PartStatus
from engine.service import Batch, Workflows
from engine.stores import DEFAULT_LEASE, Damaged, InstanceSummary, ProcessRef
from engine.stores.identifiers import shown


def add_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    store_help = (
        "the store: sqlite:///file.db, postgresql://…, memory: (default: $PROCFLOW_STORE or sqlite:///procflow.db)"
    )

    def command(
        name: str, help_text: str, handler: Callable[[argparse.Namespace, Workflows, TextIO], int]
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--store", metavar="URL", help=store_help)
        sub.set_defaults(handler=stored(handler))
        return sub

    start = command(
        "start", "start a stored instance of a process (a YAML file, or a registered process id)", _start_instance
    )
    start.add_argument("process", metavar="PROCESS")
    start.add_argument(
        "--data", type=text, default="{}", metavar="JSON", help="the instance's first data, a JSON object"
    )
    start.add_argument(
        "--as", type=text, dest="actor", required=True, metavar="ACTOR:ROLE[,ROLE]", help="who starts it"
    )
    start.add_argument("--key", type=text, help="an idempotency key: starting again with it returns the same instance")
    start.add_argument("--id", type=text, dest="instance_id", help="the instance's id (default: a new random one)")

    fire = command("fire", "apply one event to a stored instance", _fire_event)
    fire.add_argument("instance_id", type=text, metavar="ID")
    fire.add_argument("trigger", type=text, metavar="TRIGGER")
    fire.add_argument("--payload", type=text, default="{}", metavar="JSON", help="the event's form, a JSON object")
    fire.add_argument("--as", type=text, dest="actor", required=True, metavar="ACTOR:ROLE[,ROLE]", help="who fires it")
    fire.add_argument("--key", type=text, help="an idempotency key: the same key again takes effect once")

    move = command("move", "an administrator's correction: put a stored instance in another step", _move_instance)
    move.add_argument("instance_id", type=text, metavar="ID")
    move.add_argument("--to", type=text, required=True, metavar="STATE", help="the step to put it in")
    move.add_argument("--reason", type=text, required=True, metavar="TEXT", help="why: recorded in the history")
    move.add_argument("--as", type=text, dest="actor", required=True, metavar="ACTOR:ROLE[,ROLE]", help="who moves it")

    show = command("show", "an instance's state, data, deadlines, and what may be fired next by whom", _show_instance)
    show.add_argument("instance_id", type=text, metavar="ID")

    history = command(
        "history", "an instance's history (--json: the record `procflow render --instance` reads)", _instance_history
    )
    history.add_argument("instance_id", type=text, metavar="ID")
    history.add_argument("--json", action="store_true", help="print the instance record as JSON")

    records = command(
        "records", "the records an instance holds, every version with its author, time and event", _instance_records
    )
    records.add_argument("instance_id", type=text, metavar="ID")
    records.add_argument("--json", action="store_true", help="print the records as JSON")

    list_ = command("list", "stored instances, oldest first", _list_instances)
    list_.add_argument("--process", type=text, metavar="P", help="only instances of this process id")
    list_.add_argument("--state", type=text, metavar="S", help="only instances in this state")
    list_.add_argument("--overdue", action="store_true", help="only instances with a time limit or deadline passed")

    worker = command(
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

    verify = command(
        "verify", "replay every stored instance (or those named) and report each damaged one", _verify_store
    )
    verify.add_argument("instance_ids", type=text, nargs="*", metavar="ID", help="only these instances (default: all)")


def stored(
    handler: Callable[[argparse.Namespace, Workflows, TextIO], int],
) -> Callable[[argparse.Namespace, TextIO, TextIO], int]:
    """Run a store command with its store open; errors the user can act on as one line on stderr."""

    def command(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
        try:
            with Workflows(args.store) as workflows:
                return handler(args, workflows, stdout)
        except StoreURLError as exc:
            raise UsageError(f"procflow {args.command}: {exc}") from exc
        except EventRefused as exc:
            stderr.write(f"procflow {args.command}: refused: {exc}\n")
        except (
            NotFound,
            ConflictError,
            StoreError,
            ReplayMismatch,
            InvalidIdentifier,
            InvalidQuery,
            AddressBookError,
        ) as exc:
            stderr.write(f"procflow {args.command}: {exc}\n")
        return EXIT_INVALID

    return command


def actor_arg(text: str) -> Actor:
    name, _, roles = text.partition(":")
    role_list = [r.strip() for r in roles.split(",") if r.strip()]
    if not name.strip() or not role_list:
        raise UsageError(f"procflow: --as takes ACTOR:ROLE[,ROLE] (for example li:clerk), got {text!r}")
    return Actor(name.strip(), role_list)


def _json_arg(text: str, option: str) -> dict[str, object]:
    """The option's JSON object; text that is not JSON is a usage error, JSON past the runtime's limits
    (``engine.inputs``) a refusal like any other bad payload."""
    shown = repr(text) if len(text) <= 60 else f"{text[:40]!r}… ({len(text):,} characters)"
    try:
        value = read_json(text, option, InvalidData if option == "--data" else InvalidPayload)
    except json.JSONDecodeError as exc:
        raise UsageError(f"procflow: {option} is not JSON ({exc}): {shown}") from None
    if not isinstance(value, dict):
        raise UsageError(f"procflow: {option} must be a JSON object ({{...}}), got {shown}")
    return value


def _start_instance(args: argparse.Namespace, workflows: Workflows, stdout: TextIO) -> int:
    actor, data = actor_arg(args.actor), _json_arg(args.data, "--data")
    process: str | ProcessRef = args.process
    given = Path(args.process)
    with workflows.batch():  # a refused start registers no definition either
        if given.suffix in (".yaml", ".yml") or given.is_file() or len(given.parts) > 1:  # a file, not an id
            require_files(args.process)
            process = workflows.register(args.process)
        else:
            try:
                text(args.process)
            except argparse.ArgumentTypeError as exc:
                raise UsageError(f"procflow start: the process id {exc}") from None
        instance = workflows.start(process, actor, data, key=args.key, instance_id=args.instance_id)
    runtime = workflows.runtime(instance.process_id, instance.content_hash)
    ref = workflows.ref_of(instance)
    stdout.write(f"{instance.id}\n")
    stdout.write(f"runs on {_revision(ref)}\n")
    if isinstance(process, ProcessRef) and (earlier := workflows.shares_version(process)) is not None:
        stdout.write(
            f"note: stored as revision {process.revision} (declares version {process.version}, as revision "
            f"{earlier.revision} did: consider raising `version:` in {args.process})\n"
        )
    stdout.write(trail_lines(runtime.process, instance.history[0]))
    stdout.write(_now_in(runtime.process, instance.state))
    return EXIT_OK


def _revision(ref: ProcessRef) -> str:
    return f"{ref.id} revision {ref.revision} (version {ref.version}, content {ref.content_hash[:12]})"


def _fire_event(args: argparse.Namespace, workflows: Workflows, stdout: TextIO) -> int:
    actor, payload = actor_arg(args.actor), _json_arg(args.payload, "--payload")
    entry = workflows.fire(args.instance_id, args.trigger, actor, payload, key=args.key)
    instance = workflows.get(args.instance_id)
    runtime = workflows.runtime(instance.process_id, instance.content_hash)
    stdout.write(trail_lines(runtime.process, entry))
    stdout.write(_now_in(runtime.process, instance.state))
    return EXIT_OK


def _move_instance(args: argparse.Namespace, workflows: Workflows, stdout: TextIO) -> int:
    entry = workflows.move(args.instance_id, args.to, actor_arg(args.actor), args.reason)
    instance = workflows.get(args.instance_id)
    runtime = workflows.runtime(instance.process_id, instance.content_hash)
    stdout.write(trail_lines(runtime.process, entry))
    stdout.write(_now_in(runtime.process, instance.state))
    return EXIT_OK


def _span(length: datetime.timedelta) -> str:
    """A stretch of time as a reader says it: ``2d 3h 05m``, ``1h 30m``, ``45m``."""
    hours, minutes = divmod(int(length.total_seconds() // 60), 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h {minutes:02d}m"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def _clock_line(report: ClockReport) -> str:
    """One clock of ``procflow show``: its status, time used against its limit, points reached, next due."""
    line = (
        f"clock:    {report.clock} {report.label.zh} / {report.label.en}: {report.status}, "
        f"{_span(report.elapsed)} used of {report.limit}, {_span(report.remaining)} left"
    )
    for name, when in report.reached:
        line += f"; {name} reached {when.isoformat()}"
    if report.next is not None and report.due is not None:
        line += f"; {report.next} due {report.due.isoformat()}"
    return line + "\n"


def _show_instance(args: argparse.Namespace, workflows: Workflows, stdout: TextIO) -> int:
    instance = workflows.get(args.instance_id)
    runtime = workflows.runtime(instance.process_id, instance.content_hash)
    process, now = runtime.process, datetime.datetime.now(datetime.UTC)
    state = process.states[instance.state]
    stdout.write(
        f"instance {instance.id} · {_revision(workflows.ref_of(instance))} · "
        f"{instance.version} event(s)\n"
        f"state:    `{state.id}` {state.label.zh} / {state.label.en} since {instance.entered_at.isoformat()}\n"
        f"data:     {json.dumps(instance.data, ensure_ascii=False)}\n"
    )
    for deadline in instance.deadlines:
        if deadline.clock is not None:
            continue  # shown with its clock below
        what = f"fires `{deadline.fire}`" if deadline.fire else "time limit"
        late = "  OVERDUE" if deadline.due <= now else ""
        stdout.write(f"deadline: {deadline.due.isoformat()}  {what}{late}\n")
    holder = runtime.claimant(instance)
    if holder is not None:
        stdout.write(f"held by:  {shown(holder)} (only they, or a supervisor, may move the step on)\n")
    for status in runtime.parts(instance, now):
        stdout.write(_part_line(status) + "\n")
    for line in notification_lines(instance.history[-1]):  # those the last event made due
        stdout.write(f"due:      {line}\n")
    for report in runtime.clocks(instance, now):
        stdout.write(_clock_line(report))
    candidates = runtime.compiled.transitions[instance.state]
    if not candidates:
        stdout.write("next:     nothing (finished)\n")
    starts = runtime.process.states[instance.state].starts
    waiting = runtime.waiting_for(instance)
    if starts is not None and waiting is not None:
        stdout.write(f"waiting:  for `{starts.process}` instance {waiting} to end\n")
    for candidate in candidates:
        transition = candidate.transition
        if starts is not None and transition.trigger in dict(starts.on_end).values():
            ends = ", ".join(f"`{f}`" for f, t in starts.on_end if t == transition.trigger)
            stdout.write(
                f"next:     {transition.trigger:<18} → {transition.dest}   by: the engine, when it ends in {ends}\n"
            )
            continue
        line = (
            f"next:     {transition.trigger:<18} {transition.label.zh} / {transition.label.en} → {transition.dest}"
            f"   by: {', '.join(sorted(candidate.roles))}"
        )
        if transition.payload_schema is not None:
            required = thaw_json(transition.payload_schema).get("required") or ()
            line += f"   payload: {', '.join(str(r) for r in required) or '(optional fields)'}"
        if transition.conditions:
            line += f"   if: {' and '.join(transition.conditions)}"
        if transition.signoffs:
            signers = (s.role + (f" if {s.when}" if s.when else "") for s in transition.signoffs)
            line += f"   signed as: {', '.join(signers)}"
        bound = runtime.limit_left(instance, candidate, now)
        if bound is not None:
            line += f"   limit: {_limit_words(bound)}"
        stdout.write(line + "\n")
    return EXIT_OK


def _limit_words(bound: LimitLeft) -> str:
    """A loop limit in ``procflow show``: ``1 of 3 left, then → escalate``; from the data, with what it
    gave (``1 of 3 left (times: data.max_reworks)``), or why it gives nothing usable."""
    limit = bound.limit
    if bound.times is None:
        return f"`times: {limit.times_from}` gives no whole number, 1 or more: the event is refused"
    said = f"{bound.left} of {bound.times} left" + (f" (times: {limit.times_from})" if limit.times_from else "")
    return said + (f", then → {limit.then}" if limit.then else ", then refused")


def _part_line(status: PartStatus) -> str:
    part = status.part
    name = part.id + (f"[{status.item}]" if status.item is not None else "")
    if status.done is not None:
        state = f"done by {status.done.actor} [{', '.join(status.done.roles)}] at {status.done.at.isoformat()}"
    else:
        state = "OPEN, required" if status.required else "open, not required"
    return f"part:     {name:<18} {part.label.zh} / {part.label.en}   by: {', '.join(part.roles)}   {state}"


def _instance_history(args: argparse.Namespace, workflows: Workflows, stdout: TextIO) -> int:
    instance = workflows.get(args.instance_id)
    if args.json:
        json.dump(instance_to_json(instance), stdout, ensure_ascii=False, indent=2)
        stdout.write("\n")
        return EXIT_OK
    process = workflows.runtime(instance.process_id, instance.content_hash).process
    stdout.write(f"instance {instance.id} · {_revision(workflows.ref_of(instance))}\n")
    for entry in instance.history:
        stdout.write(trail_lines(process, entry))
    stdout.write(_now_in(process, instance.state))
    return EXIT_OK


def _instance_records(args: argparse.Namespace, workflows: Workflows, stdout: TextIO) -> int:
    records = workflows.records(args.instance_id)
    if args.json:
        shown = {record: [record_version_to_json(v) for v in versions] for record, versions in records.items()}
        json.dump(shown, stdout, ensure_ascii=False, indent=2)
        stdout.write("\n")
        return EXIT_OK
    instance = workflows.get(args.instance_id)
    process = workflows.runtime(instance.process_id, instance.content_hash).process
    stdout.write(f"instance {instance.id} · {_revision(workflows.ref_of(instance))}\n")
    for record_id, versions in records.items():
        declared = process.records.get(record_id)
        label = f" {declared.label.zh} / {declared.label.en}" if declared is not None else ""
        stdout.write(f"{record_id}{label}\n")
        for v in versions:
            how = "amended" if v.amended else "written"
            stdout.write(
                f"  v{v.version} {how} by {v.actor} ({', '.join(v.roles) or 'no roles'}) at {v.at.isoformat()}, "
                f"event {v.event} `{v.trigger}`\n"
            )
            for name, value in v.fields.items():
                stdout.write(f"    {name}: {json.dumps(value, ensure_ascii=False)}\n")
    stdout.write(f"{len(records)} record(s)\n")
    return EXIT_OK


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


def _now_in(process: Process, state_id: str) -> str:
    state = process.states[state_id]
    return f"now in `{state.id}` {state.label.zh} / {state.label.en}\n"
