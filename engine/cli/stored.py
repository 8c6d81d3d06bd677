"""Commands over one stored instance: ``start``, ``fire``, ``move``, ``show``, ``history``, ``records``;
and what every store command shares: its ``--store`` option, the store opened round it (``stored``),
the ``--as`` actor. Those over every stored instance are ``engine.cli.store``'s."""

from __future__ import annotations

import argparse
import datetime
import json
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from engine.cli.options import EXIT_INVALID, EXIT_OK, UsageError, require_files, text
from engine.cli.parser import Parser
from engine.cli.running import notification_lines, trail_lines
from engine.clocks import ClockReport
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
from engine.service import Workflows
from engine.stores import ProcessRef
from engine.stores.identifiers import shown

STORE_HELP = "the store: sqlite:///file.db, postgresql://…, memory: (default: $PROCFLOW_STORE or sqlite:///procflow.db)"


def store_command(
    commands: argparse._SubParsersAction[Parser],
    name: str,
    help_text: str,
    handler: Callable[[argparse.Namespace, Workflows, TextIO], int],
) -> argparse.ArgumentParser:
    """A command run on an open store (``stored``), with the ``--store`` option it is opened by."""
    sub = commands.add_parser(name, help=help_text)
    sub.add_argument("--store", metavar="URL", help=STORE_HELP)
    sub.set_defaults(handler=stored(handler))
    return sub


def add_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    start = store_command(
        commands,
        "start",
        "start a stored instance of a process (a YAML file, or a registered process id)",
        _start_instance,
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

    fire = store_command(commands, "fire", "apply one event to a stored instance", _fire_event)
    fire.add_argument("instance_id", type=text, metavar="ID")
    fire.add_argument("trigger", type=text, metavar="TRIGGER")
    fire.add_argument("--payload", type=text, default="{}", metavar="JSON", help="the event's form, a JSON object")
    fire.add_argument("--as", type=text, dest="actor", required=True, metavar="ACTOR:ROLE[,ROLE]", help="who fires it")
    fire.add_argument("--key", type=text, help="an idempotency key: the same key again takes effect once")

    move = store_command(
        commands, "move", "an administrator's correction: put a stored instance in another step", _move_instance
    )
    move.add_argument("instance_id", type=text, metavar="ID")
    move.add_argument("--to", type=text, required=True, metavar="STATE", help="the step to put it in")
    move.add_argument("--reason", type=text, required=True, metavar="TEXT", help="why: recorded in the history")
    move.add_argument("--as", type=text, dest="actor", required=True, metavar="ACTOR:ROLE[,ROLE]", help="who moves it")

    show = store_command(
        commands, "show", "an instance's state, data, deadlines, and what may be fired next by whom", _show_instance
    )
    show.add_argument("instance_id", type=text, metavar="ID")

    history = store_command(
        commands,
        "history",
        "an instance's history (--json: the record `procflow render --instance` reads)",
        _instance_history,
    )
    history.add_argument("instance_id", type=text, metavar="ID")
    history.add_argument("--json", action="store_true", help="print the instance record as JSON")

    records = store_command(
        commands,
        "records",
        "the records an instance holds, every version with its author, time and event",
        _instance_records,
    )
    records.add_argument("instance_id", type=text, metavar="ID")
    records.add_argument("--json", action="store_true", help="print the records as JSON")


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


def _now_in(process: Process, state_id: str) -> str:
    state = process.states[state_id]
    return f"now in `{state.id}` {state.label.zh} / {state.label.en}\n"
