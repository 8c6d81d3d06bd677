"""The ``procflow`` command: argument parsing and printing only; the work is the library's."""

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
from typing import NoReturn, TextIO

from engine.errors import (
    ConflictError,
    DefinitionError,
    EventRefused,
    InitRefused,
    NotFound,
    ProcflowError,
    ReplayMismatch,
    StoreError,
    StoreURLError,
)
from engine.instances import Entry, instance_to_json
from engine.model import Process, thaw_json
from engine.processes import ValidationReport, definition_files, load_process
from engine.render import FILE_FORMATS, LANGS, heatmap_overlay, instance_overlay, read_history, render_to_file
from engine.render.book import write_book
from engine.runtime import Actor, Runtime
from engine.scaffold import HookSource, init_folder, this_checkout
from engine.scenarios import load_scenario, play, validate_process_or_scenario
from engine.schema import schema_path
from engine.service import Batch, Workflows
from engine.simulate import Coverage, simulate
from engine.stores import ProcessRef

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message}\n{self.format_usage().strip()}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="procflow", description="Validate, run and draw written procedures as state graphs.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = commands.add_parser(
        "validate", help="check process and scenario files (or the .yaml files in folders and their subfolders)"
    )
    validate.add_argument("paths", nargs="+", metavar="PATH")
    validate.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="json prints every problem as JSON on standard output, for editors and CI",
    )
    validate.add_argument("--strict", action="store_true", help="count warnings as errors")

    commands.add_parser("schema", help="print the JSON Schema of the definition language")

    init = commands.add_parser(
        "init", help="start a folder of procedures: a sample process and scenario, the schemas, a pre-commit config"
    )
    init.add_argument("folder", metavar="DIR", help="a new or empty folder, or one without any of those files")
    init.add_argument(
        "--hook-repo",
        metavar="REPO",
        help="the procflow repository the pre-commit hook comes from (default: this checkout of it, if procflow "
        "runs from one; else the hook runs the installed procflow)",
    )
    init.add_argument("--hook-rev", metavar="REV", help="with --hook-repo: the tag or commit of it to pin")

    run_ = commands.add_parser("run", help="play a scripted scenario against a fresh instance and print the trail")
    run_.add_argument("process", metavar="PROCESS.yaml")
    run_.add_argument("--events", required=True, metavar="SCENARIO.yaml", help="the scenario to play")
    run_.add_argument("--history", metavar="FILE", help="also write the instance and its history as JSON to FILE")

    simulate_ = commands.add_parser("simulate", help="random walks from start to end; report what they never reach")
    simulate_.add_argument("process", metavar="PROCESS.yaml")
    simulate_.add_argument("-n", "--walks", type=_positive, default=100, help="how many walks (default 100)")
    simulate_.add_argument("--seed", type=int, default=0, help="the same seed gives the same walks (default 0)")
    simulate_.add_argument("--max-steps", type=_positive, default=200, help="give up a walk after this many events")
    simulate_.add_argument("--format", choices=("text", "json"), default="text")

    book = commands.add_parser("book", help="write the audit book: every procedure's flowchart and tables as HTML")
    book.add_argument("paths", nargs="+", metavar="PATH", help="definition files, or folders of them")
    book.add_argument("-o", "--output", required=True, metavar="DIR", help="the folder the book replaces or creates")
    book.add_argument("--lang", choices=LANGS, default="both", help="labels in zh, en or both (default)")
    book.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS", help="layout time bound per diagram")

    render = commands.add_parser("render", help="draw a process as a flowchart: .dot .svg .png .pdf or .mmd (Mermaid)")
    render.add_argument("process", metavar="PROCESS.yaml")
    render.add_argument("-o", "--output", required=True, metavar="FILE", help="the format is the suffix's")
    render.add_argument("--lang", choices=LANGS, default="both", help="labels in zh, en or both (default)")
    overlays = render.add_mutually_exclusive_group()
    overlays.add_argument("--instance", metavar="HISTORY.json", help="draw this instance's path over the chart")
    overlays.add_argument("--heatmap", nargs="+", metavar="HISTORY.json", help="draw how often each path was taken")
    render.add_argument("--at", type=_moment, metavar="TIME", help="with --instance: mark what is overdue at TIME")
    render.add_argument("--timeout", type=_seconds, default=30.0, metavar="SECONDS", help="layout time bound")
    render.add_argument("--sources", metavar="URL", help="link each step to its source document under this folder/URL")
    _add_store_commands(commands)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(list(sys.argv[1:] if argv is None else argv), sys.stdout, sys.stderr)
    except BrokenPipeError:  # `procflow show ID | head`: the reader has gone, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def run(argv: Sequence[str], stdout: TextIO, stderr: TextIO) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return COMMANDS[args.command](args, stdout, stderr)
    except DefinitionError as exc:  # a process or scenario file that cannot be used
        for problem in exc.problems:
            stderr.write(f"{problem}\n")
        return EXIT_INVALID
    except _UsageError as exc:
        stderr.write(f"{exc}\n")
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)


def _validate(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise _UsageError(f"procflow validate: no such file or folder: {', '.join(missing)}")
    files = definition_files(args.paths, recursive=True)
    if not files:
        raise _UsageError("procflow validate: the folders named hold no .yaml or .yml files")
    reports = [validate_process_or_scenario(f) for f in files]
    failed = [r for r in reports if not _passes(r, args.strict)]
    if args.format == "json":
        json.dump(
            {"valid": not failed, "files": [_report_json(r, args.strict) for r in reports]},
            stdout,
            ensure_ascii=False,
            indent=2,
        )
        stdout.write("\n")
    else:
        for report in reports:
            for problem in report.problems:
                stderr.write(f"{problem}\n")
            verdict = "ok" if _passes(report, args.strict) else f"{len(report.errors)} error(s)"
            if report.warnings:
                verdict += f", {len(report.warnings)} warning(s)"
            stdout.write(f"{report.file}: {verdict}\n")
    return EXIT_INVALID if failed else EXIT_OK


def _passes(report: ValidationReport, strict: bool) -> bool:
    return report.ok and not (strict and report.warnings)


def _report_json(report: ValidationReport, strict: bool) -> dict[str, object]:
    return {
        "file": report.file,
        "valid": _passes(report, strict),
        "process": {
            "id": report.process.id,
            "version": report.process.version,
            "content_hash": report.process.content_hash,
        }
        if report.process
        else None,
        "problems": [p.as_json() for p in report.problems],
    }


def _schema(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    stdout.write(schema_path().read_text(encoding="utf-8"))
    return EXIT_OK


def _init(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    if bool(args.hook_repo) != bool(args.hook_rev):
        raise _UsageError("procflow init: --hook-repo and --hook-rev go together (a repository and its revision)")
    hook = HookSource(args.hook_repo, args.hook_rev) if args.hook_repo else this_checkout()
    try:
        written = init_folder(args.folder, hook)
    except InitRefused as exc:
        stderr.write(f"procflow init: {exc}\n")
        return EXIT_INVALID
    for path in written:
        stdout.write(f"wrote {path}\n")
    stdout.write(f"next: cd {args.folder} && procflow validate .  (then `pre-commit install` in its git repository)\n")
    return EXIT_OK


def _run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    _require_files(args.process, args.events)
    runtime = Runtime(load_process(args.process))
    playthrough = play(runtime, load_scenario(args.events))
    stdout.write(f"{runtime.process.id} version {runtime.process.version} · instance {playthrough.instance.id}\n")
    stdout.write(trail_lines(runtime.process, playthrough.instance.history[0]))
    for step in playthrough.steps:
        for entry in step.deadlines:
            stdout.write(trail_lines(runtime.process, entry))
        if step.entry is not None:
            stdout.write(trail_lines(runtime.process, step.entry))
        if step.refusal is not None:
            verdict = "REFUSED" if step.failure else "refused, as the scenario expects"
            actor = step.event.actor
            who = f"{actor.id} [{', '.join(sorted(actor.roles))}]" if actor else ""
            stdout.write(f"{'':<27}{verdict}: {step.event.trigger} by {who}: {step.refusal.message}\n")
    for failure in playthrough.failures:
        stderr.write(f"{failure.location}: {failure.message}\n")
    state = runtime.process.states[playthrough.instance.state]
    stdout.write(f"now in `{state.id}` {state.label.zh} / {state.label.en}\n")
    if args.history:
        Path(args.history).write_text(
            json.dumps(instance_to_json(playthrough.instance), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    return EXIT_OK if playthrough.ok else EXIT_INVALID


def trail_lines(process: Process, entry: Entry) -> str:
    """An entry as the lines of a trail: when, what, who, from where to where, branches and signatures."""
    who = "(deadline)" if entry.by_deadline else f"{entry.actor} [{', '.join(entry.roles)}]"
    what = entry.trigger or "start"
    move = f"{entry.source} → {entry.dest}" if entry.source else f"→ {entry.dest}"
    lines = [f"{entry.at.isoformat()}  {what:<18} {who:<28} {move}"]
    indent = " " * 27
    for taken in entry.branches:
        decision = process.states[taken.decision]
        branch = decision.default if taken.branch is None else decision.branches[taken.branch]
        label = f"{branch.label.zh} / {branch.label.en}" if branch else "?"
        lines.append(f"{indent}decision `{taken.decision}`: {label} → {taken.dest}")
    for signature in entry.signatures:
        lines.append(f"{indent}signed by {signature.actor} as {signature.role} at {signature.at.isoformat()}")
    return "".join(f"{line}\n" for line in lines)


def _simulate(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    _require_files(args.process)
    runtime = Runtime(load_process(args.process))
    coverage = simulate(runtime, args.walks, args.seed, args.max_steps)
    if args.format == "json":
        json.dump(_coverage_json(runtime.process, coverage, args.seed), stdout, ensure_ascii=False, indent=2)
        stdout.write("\n")
        return EXIT_OK
    stdout.write(
        f"{runtime.process.id}: {coverage.walks} walks (seed {args.seed}), "
        f"{coverage.finished} reached a final state, {coverage.stuck} got stuck, "
        f"{coverage.walks - coverage.finished - coverage.stuck} stopped after {args.max_steps} events\n"
        f"  states reached:    {len(coverage.all_states) - len(coverage.states_missed)} of {len(coverage.all_states)}\n"
        f"  transitions taken: {len(coverage.all_transitions) - len(coverage.transitions_missed)} "
        f"of {len(coverage.all_transitions)}\n"
        f"  branches taken:    {len(coverage.all_branches) - len(coverage.branches_missed)} "
        f"of {len(coverage.all_branches)}\n"
    )
    for state in coverage.states_missed:
        stdout.write(f"  never reached: state `{state}`\n")
    for source, trigger, dest in coverage.transitions_missed:
        stdout.write(f"  never taken: `{trigger}` from `{source}` to `{dest}`\n")
    for decision, index in coverage.branches_missed:
        stdout.write(f"  never taken: branch {'default' if index is None else index + 1} of `{decision}`\n")
    if coverage.complete:
        stdout.write("  every state, transition and branch was reached\n")
    return EXIT_OK


def _coverage_json(process: Process, coverage: Coverage, seed: int) -> dict[str, object]:
    return {
        "process": process.id,
        "walks": coverage.walks,
        "seed": seed,
        "finished": coverage.finished,
        "stuck": coverage.stuck,
        "states": {s: coverage.states[s] for s in coverage.all_states},
        "transitions": [
            {"source": s, "trigger": t, "dest": d, "count": coverage.transitions[(s, t, d)]}
            for s, t, d in coverage.all_transitions
        ],
        "branches": [
            {"decision": d, "branch": "default" if i is None else i, "count": coverage.branches[(d, i)]}
            for d, i in coverage.all_branches
        ],
    }


def _book(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise _UsageError(f"procflow book: no such file or folder: {', '.join(missing)}")
    if not 0 < args.timeout < float("inf"):
        raise _UsageError(f"procflow book: --timeout must be a positive number of seconds, got {args.timeout}")
    try:
        report = write_book(args.paths, args.output, lang=args.lang, timeout=args.timeout)
    except DefinitionError as exc:
        for problem in exc.problems:
            stderr.write(f"{problem}\n")
        stderr.write(f"procflow book: no book written: {len(exc.errors)} error(s) to fix first\n")
        return EXIT_INVALID
    except ProcflowError as exc:  # no Graphviz, a layout past its time bound, an unusable output folder
        stderr.write(f"procflow book: {exc}\n")
        return EXIT_INVALID
    stdout.write(f"wrote the audit book: {len(report.pages)} procedures, {report.files} files, {report.bytes} bytes\n")
    stdout.write(f"open {report.index}  ({report.index.resolve().as_uri()})\n")
    return EXIT_OK


def _moment(text: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 time (2026-11-30T09:00+08:00), got {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"the time needs its UTC offset (…+08:00 or …Z), got {text!r}")
    return moment


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _render(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    _require_files(args.process, *([args.instance] if args.instance else []), *(args.heatmap or []))
    suffix = Path(args.output).suffix.lower()
    if suffix not in FILE_FORMATS:
        raise _UsageError(
            f"procflow render: cannot tell the format of {args.output}: use one of {', '.join(FILE_FORMATS)}"
        )
    if args.at is not None and args.instance is None:
        raise _UsageError("procflow render: --at goes with --instance (the moment to mark overdue steps at)")
    process = load_process(args.process)
    try:
        overlay = None
        if args.instance:
            overlay = instance_overlay(process, read_history(args.instance), now=args.at)
        elif args.heatmap:
            overlay = heatmap_overlay(process, [read_history(path) for path in args.heatmap])
        render_to_file(
            process, args.output, lang=args.lang, overlay=overlay, timeout=args.timeout, source_base=args.sources
        )
    except ProcflowError as exc:  # a history of another process, no Graphviz, a layout past its time bound
        stderr.write(f"procflow render: {exc}\n")
        return EXIT_INVALID
    stdout.write(f"wrote {args.output}\n")
    return EXIT_OK


# --- stored instances: start, fire, show, history, list, worker ----------------------------------


def _add_store_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    store_help = "the store: sqlite:///file.db, postgresql://…, memory: (default: $PROCFLOW_STORE or sqlite:///procflow.db)"

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--store", metavar="URL", help=store_help)
        return sub

    start = command("start", "start a stored instance of a process (a YAML file, or a registered process id)")
    start.add_argument("process", metavar="PROCESS")
    start.add_argument("--data", default="{}", metavar="JSON", help="the instance's first data, a JSON object")
    start.add_argument("--as", dest="actor", required=True, metavar="ACTOR:ROLE[,ROLE]", help="who starts it")
    start.add_argument("--key", help="an idempotency key: starting again with it returns the same instance")
    start.add_argument("--id", dest="instance_id", help="the instance's id (default: a new random one)")

    fire = command("fire", "apply one event to a stored instance")
    fire.add_argument("instance_id", metavar="ID")
    fire.add_argument("trigger", metavar="TRIGGER")
    fire.add_argument("--payload", default="{}", metavar="JSON", help="the event's form, a JSON object")
    fire.add_argument("--as", dest="actor", required=True, metavar="ACTOR:ROLE[,ROLE]", help="who fires it")
    fire.add_argument("--key", help="an idempotency key: the same key again takes effect once")

    show = command("show", "an instance's state, data, deadlines, and what may be fired next by whom")
    show.add_argument("instance_id", metavar="ID")

    history = command("history", "an instance's history (--json: the record `procflow render --instance` reads)")
    history.add_argument("instance_id", metavar="ID")
    history.add_argument("--json", action="store_true", help="print the instance record as JSON")

    list_ = command("list", "stored instances, oldest first")
    list_.add_argument("--process", metavar="P", help="only instances of this process id")
    list_.add_argument("--state", metavar="S", help="only instances in this state")
    list_.add_argument("--overdue", action="store_true", help="only instances with a time limit or deadline passed")

    worker = command("worker", "fire due deadlines until stopped (SIGINT or SIGTERM end it cleanly)")
    worker.add_argument("--interval", type=_seconds, default=5.0, metavar="S", help="pause when idle (default 5)")
    worker.add_argument("--batch", type=_positive, default=100, metavar="N", help="deadlines claimed at a time")
    worker.add_argument("--once", action="store_true", help="fire what is due now, then exit")


def _stored(
    handler: Callable[[argparse.Namespace, Workflows, TextIO], int],
) -> Callable[[argparse.Namespace, TextIO, TextIO], int]:
    """Run a store command with its store open; errors the user can act on as one line on stderr."""

    def command(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
        try:
            with Workflows(args.store) as workflows:
                return handler(args, workflows, stdout)
        except StoreURLError as exc:
            raise _UsageError(f"procflow {args.command}: {exc}") from exc
        except EventRefused as exc:
            stderr.write(f"procflow {args.command}: refused: {exc}\n")
        except (NotFound, ConflictError, StoreError, ReplayMismatch) as exc:
            stderr.write(f"procflow {args.command}: {exc}\n")
        return EXIT_INVALID

    return command


def _actor_arg(text: str) -> Actor:
    name, _, roles = text.partition(":")
    role_list = [r.strip() for r in roles.split(",") if r.strip()]
    if not name.strip() or not role_list:
        raise _UsageError(f"procflow: --as takes ACTOR:ROLE[,ROLE] (for example li:clerk), got {text!r}")
    return Actor(name.strip(), role_list)


def _json_arg(text: str, option: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise _UsageError(f"procflow: {option} is not JSON ({exc}): {text!r}") from None
    if not isinstance(value, dict):
        raise _UsageError(f"procflow: {option} must be a JSON object ({{...}}), got {text!r}")
    return value


def _start_instance(args: argparse.Namespace, workflows: Workflows, stdout: TextIO) -> int:
    actor, data = _actor_arg(args.actor), _json_arg(args.data, "--data")
    process: str | ProcessRef = args.process
    if Path(args.process).suffix in (".yaml", ".yml") or Path(args.process).is_file():
        _require_files(args.process)
        process = workflows.register(args.process)
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
    actor, payload = _actor_arg(args.actor), _json_arg(args.payload, "--payload")
    entry = workflows.fire(args.instance_id, args.trigger, actor, payload, key=args.key)
    instance = workflows.get(args.instance_id)
    runtime = workflows.runtime(instance.process_id, instance.content_hash)
    stdout.write(trail_lines(runtime.process, entry))
    stdout.write(_now_in(runtime.process, instance.state))
    return EXIT_OK


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
        what = f"fires `{deadline.fire}`" if deadline.fire else "time limit"
        late = "  OVERDUE" if deadline.due <= now else ""
        stdout.write(f"deadline: {deadline.due.isoformat()}  {what}{late}\n")
    candidates = runtime.compiled.transitions[instance.state]
    if not candidates:
        stdout.write("next:     nothing (finished)\n")
    for candidate in candidates:
        transition = candidate.transition
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
            line += f"   signed as: {', '.join(s.role for s in transition.signoffs)}"
        stdout.write(line + "\n")
    return EXIT_OK


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


def _list_instances(args: argparse.Namespace, workflows: Workflows, stdout: TextIO) -> int:
    now = datetime.datetime.now(datetime.UTC)
    found = workflows.list(args.process, args.state, overdue_at=now if args.overdue else None)
    for summary in found:
        late = summary.overdue(now)
        since = f"  overdue since {min(d.due for d in late).isoformat()}" if late else ""
        stdout.write(
            f"{summary.id}  {summary.process.id} r{summary.process.revision} (v{summary.process.version})  "
            f"{summary.state:<20} "
            f"since {summary.entered_at.isoformat()}{since}\n"
        )
    stdout.write(f"{len(found)} instance(s)\n")
    return EXIT_OK


def _run_worker(args: argparse.Namespace, workflows: Workflows, stdout: TextIO) -> int:
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}

    def report(batch: Batch) -> None:
        if batch.claimed:
            now = datetime.datetime.now(datetime.UTC).isoformat()
            stdout.write(f"{now}  fired {batch.fired} of {batch.claimed} claimed\n")
            stdout.flush()

    stdout.write(f"worker on {workflows.store.url}: firing due deadlines, {args.batch} at a time\n")
    stdout.flush()
    def complain(error: StoreError) -> None:
        sys.stderr.write(f"procflow worker: {error}; trying again in {args.interval:g} s\n")

    try:
        total = workflows.work(
            interval=args.interval, batch=args.batch, once=args.once, stop=stop, report=report, on_error=complain
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    stdout.write(f"worker stopped: fired {total} deadline(s)\n")
    return EXIT_OK


def _now_in(process: Process, state_id: str) -> str:
    state = process.states[state_id]
    return f"now in `{state.id}` {state.label.zh} / {state.label.en}\n"


def _require_files(*paths: str) -> None:
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise _UsageError(f"procflow: no such file: {', '.join(missing)}")


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO, TextIO], int]] = {
    "validate": _validate,
    "schema": _schema,
    "init": _init,
    "run": _run,
    "simulate": _simulate,
    "book": _book,
    "render": _render,
    "start": _stored(_start_instance),
    "fire": _stored(_fire_event),
    "show": _stored(_show_instance),
    "history": _stored(_instance_history),
    "list": _stored(_list_instances),
    "worker": _stored(_run_worker),
}
