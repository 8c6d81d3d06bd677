"""The ``procflow`` command: argument parsing and printing only; the work is the library's."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from engine.errors import DefinitionError
from engine.instances import Entry, instance_to_json
from engine.model import Process
from engine.processes import ValidationReport, definition_files, load_process, validate_file
from engine.runtime import Runtime
from engine.scenarios import load_scenario, play
from engine.schema import schema_path
from engine.simulate import Coverage, simulate

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message}\n{self.format_usage().strip()}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="procflow", description="Validate, run and draw written procedures as state graphs.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = commands.add_parser("validate", help="check definition files (or the .yaml files in folders)")
    validate.add_argument("paths", nargs="+", metavar="PATH")
    validate.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="json prints every problem as JSON on standard output, for editors and CI",
    )
    validate.add_argument("--strict", action="store_true", help="count warnings as errors")

    commands.add_parser("schema", help="print the JSON Schema of the definition language")

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
    return run(list(sys.argv[1:] if argv is None else argv), sys.stdout, sys.stderr)


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
    files = definition_files(args.paths)
    if not files:
        raise _UsageError("procflow validate: the folders named hold no .yaml or .yml files")
    reports = [validate_file(f) for f in files]
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
        stderr.write(f"{failure}\n")
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


def _require_files(*paths: str) -> None:
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise _UsageError(f"procflow: no such file: {', '.join(missing)}")


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO, TextIO], int]] = {
    "validate": _validate,
    "schema": _schema,
    "run": _run,
    "simulate": _simulate,
}
