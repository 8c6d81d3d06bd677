"""Commands that run a definition without a store: ``run`` (a scenario) and ``simulate`` (random walks)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from engine.checks import check_children
from engine.cli.options import EXIT_INVALID, EXIT_OK, MAX_STEPS, MAX_WALKS, SEED_RANGE, require_files, whole_number
from engine.cli.parser import Parser
from engine.errors import DefinitionError
from engine.files import write_replacing
from engine.instances import Entry, instance_to_json
from engine.model import Process
from engine.processes import load_process, started_definitions
from engine.runtime import Runtime
from engine.scenarios import load_scenario, play
from engine.simulate import Coverage, simulate


def add_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    run_ = commands.add_parser("run", help="play a scripted scenario against a fresh instance and print the trail")
    run_.add_argument("process", metavar="PROCESS.yaml")
    run_.add_argument("--events", required=True, metavar="SCENARIO.yaml", help="the scenario to play")
    run_.add_argument("--history", metavar="FILE", help="also write the instance and its history as JSON to FILE")
    run_.set_defaults(handler=_run)

    simulate_ = commands.add_parser("simulate", help="random walks from start to end; report what they never reach")
    simulate_.add_argument("process", metavar="PROCESS.yaml")
    simulate_.add_argument(
        "-n",
        "--walks",
        type=whole_number(1, MAX_WALKS),
        default=100,
        help=f"how many walks (1 to {MAX_WALKS}, default 100)",
    )
    simulate_.add_argument(
        "--seed",
        type=whole_number(*SEED_RANGE),
        default=0,
        help="the same seed gives the same walks (a whole number of at most 64 bits, default 0)",
    )
    simulate_.add_argument(
        "--max-steps",
        type=whole_number(1, MAX_STEPS),
        default=200,
        help=f"give up a walk after this many events (1 to {MAX_STEPS}, default 200)",
    )
    simulate_.add_argument(
        "--with",
        dest="definitions",
        action="append",
        default=[],
        metavar="PATH",
        help="a file or folder holding procedures its steps start (`starts:`); the folder of PROCESS.yaml "
        "is always looked in, after these",
    )
    simulate_.add_argument("--format", choices=("text", "json"), default="text")
    simulate_.set_defaults(handler=_simulate)


def _run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    require_files(args.process, args.events)
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
        record = json.dumps(instance_to_json(playthrough.instance), ensure_ascii=False, indent=2) + "\n"
        try:
            write_replacing(args.history, record.encode("utf-8"))
        except OSError as exc:
            stderr.write(f"procflow run: cannot write the history to {args.history}: {exc.strerror or exc}\n")
            return EXIT_INVALID
    return EXIT_OK if playthrough.ok else EXIT_INVALID


def trail_lines(process: Process, entry: Entry) -> str:
    """An entry as the lines of a trail: when, what, who, from where to where, branches and signatures."""
    who = "(deadline)" if entry.by_deadline else f"{entry.actor} [{', '.join(entry.roles)}]"
    what = entry.trigger or _what(entry)
    move = f"{entry.source} → {entry.dest}" if entry.source else f"→ {entry.dest}"
    lines = [f"{entry.at.isoformat()}  {what:<18} {who:<28} {move}"]
    indent = " " * 27
    for taken in entry.branches:
        decision = process.states.get(taken.decision)  # None: a step of the revision before a migration
        branch = None
        if decision is not None and (taken.branch is None or taken.branch < len(decision.branches)):
            branch = decision.default if taken.branch is None else decision.branches[taken.branch]
        label = f"{branch.label.zh} / {branch.label.en}" if branch else "?"
        lines.append(f"{indent}decision `{taken.decision}`: {label} → {taken.dest}")
    for signature in entry.signatures:
        lines.append(f"{indent}signed by {signature.actor} as {signature.role} at {signature.at.isoformat()}")
    lines.extend(f"{indent}{line}" for line in notification_lines(entry))
    lines.extend(f"{indent}{line}" for line in link_lines(entry))
    if entry.assignment is not None and entry.assignment.to is not None:
        roles = ", ".join(entry.assignment.roles)
        lines.append(f"{indent}step `{entry.dest}` now held by {entry.assignment.to} [{roles}]")
    return "".join(f"{line}\n" for line in lines)


def _what(entry: Entry) -> str:
    """What an entry without a trigger did: a move by hand, a claim, release or assignment, a migration,
    or the start."""
    if entry.correction is not None:
        return "moved by hand"
    if entry.assignment is not None:
        return entry.assignment.action
    if entry.migration is not None:
        return "migrated"
    return "start"


def link_lines(entry: Entry) -> list[str]:
    """What an entry says of sub-procedures and limits: the child it started, the parent that started
    it, the child whose end fired it, a limit reached."""
    lines = []
    if entry.correction is not None:
        lines.append(f"reason: {entry.correction}")
    if entry.migration is not None:
        moved = entry.migration
        lines.append(
            f"migrated from revision {moved.source.revision} (version {moved.source.version}) to revision "
            f"{moved.target.revision} (version {moved.target.version}) by plan {_one_line(moved.plan)}"
        )
    if entry.limit_reached:
        lines.append(f"limit reached: led to `{entry.dest}` instead")
    if entry.child is not None:
        lines.append(f"started `{entry.child.process}` instance {entry.child.instance}")
    if entry.parent is not None:
        lines.append(
            f"started by `{entry.parent.process}` instance {entry.parent.instance}, step `{entry.parent.state}`"
        )
    if entry.child_ended is not None:
        ended = entry.child_ended
        lines.append(f"fired when `{ended.process}` instance {ended.instance} ended in `{ended.state}`")
    return lines


def notification_lines(entry: Entry) -> list[str]:
    """The notifications an entry made due, one line each: who is told, then the text in both languages."""
    return [
        f"notify {', '.join(n.roles)}: {_one_line(n.zh)} / {_one_line(n.en)}  ({n.cause})" for n in entry.notifications
    ]


def _one_line(text: str) -> str:
    """Text from the data as one printable line: control characters (newlines, terminal escapes) escaped."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _simulate(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    require_files(args.process, *args.definitions)
    runtime = Runtime(load_process(args.process))
    children = _children(runtime.process, [*args.definitions, Path(args.process).parent])
    definitions = {process_id: Runtime(child) for process_id, child in children.items()}
    coverage = simulate(runtime, args.walks, args.seed, args.max_steps, definitions)
    if args.format == "json":
        report = _coverage_json(runtime.process.id, coverage, args.seed)
        report["children"] = {
            process_id: {**_coverage_json(process_id, child), "file": children[process_id].file}
            for process_id, child in coverage.children.items()
        }
        json.dump(report, stdout, ensure_ascii=False, indent=2)
        stdout.write("\n")
        return EXIT_OK
    stdout.write(
        f"{runtime.process.id}: {coverage.walks} walks (seed {args.seed}), "
        f"{coverage.finished} reached a final state, {coverage.stuck} got stuck, "
        f"{coverage.walks - coverage.finished - coverage.stuck} stopped after {args.max_steps} events\n"
    )
    looked_in = ", ".join(str(p) for p in [*args.definitions, Path(args.process).parent])
    stdout.writelines(_coverage_lines(coverage, "  ", looked_in))
    for process_id, child in coverage.children.items():
        stdout.write(
            f"  sub-procedure `{process_id}` ({children[process_id].file}): started {child.walks} times, "
            f"{child.finished} reached a final state, {child.stuck} got stuck"
            + _unfinished(child.walks - child.finished - child.stuck)
            + "\n"
        )
        stdout.writelines(_coverage_lines(child, "    ", looked_in))
    return EXIT_OK


def _unfinished(count: int) -> str:
    if not count:
        return ""
    return f", {count} left unfinished (the step moved on without it, or it ran past --max-steps)"


def _children(process: Process, paths: list[str | Path]) -> dict[str, Process]:
    """The procedures the steps start, found among the definitions at ``paths``, each checked against
    the step that starts it as ``register`` checks it; one not found is left to the simulator, which
    takes the ends its ``on_end`` declares."""
    children = started_definitions(process, paths)
    problems = [
        problem
        for parent in (process, *children.values())
        for problem in check_children(parent, children)
        if problem.code != "unknown-process"
    ]
    if problems:
        raise DefinitionError(problems)
    return children


def _coverage_lines(coverage: Coverage, indent: str, looked_in: str) -> list[str]:
    """What the walks reached and missed, where they got stuck, and what they did at sub-procedures
    (``looked_in``: where the children's definitions were looked for)."""
    lines = [
        f"states reached:    {len(coverage.all_states) - len(coverage.states_missed)} of {len(coverage.all_states)}",
        f"transitions taken: {len(coverage.all_transitions) - len(coverage.transitions_missed)} "
        f"of {len(coverage.all_transitions)}",
        f"branches taken:    {len(coverage.all_branches) - len(coverage.branches_missed)} "
        f"of {len(coverage.all_branches)}",
    ]
    lines += [f"never reached: state `{state}`" for state in coverage.states_missed]
    for source, trigger, dest in coverage.transitions_missed:
        why = coverage.never_taken_because.get((source, trigger))
        lines.append(f"never taken: `{trigger}` from `{source}` to `{dest}`" + (f" — {why}" if why else ""))
    for decision, index in coverage.branches_missed:
        lines.append(f"never taken: branch {'default' if index is None else index + 1} of `{decision}`")
    for stuck in coverage.stuck_at:
        trigger = f"`{stuck.trigger}`" if stuck.trigger else "nothing to fire"
        lines.append(f"stuck in `{stuck.state}` ({stuck.walks} walks): {trigger} — {stuck.reason}")
        if stuck.example and stuck.example != stuck.reason:
            lines.append(f"  last refused: {stuck.example}")
    for sub in coverage.sub_procedures:
        ends = ", ".join(f"{final} {count}" for final, count in sub.ends.items())
        if sub.available:
            lines.append(f"step `{sub.step}` started `{sub.process}` {sub.started} times; it ended: {ends}")
        else:
            lines.append(
                f"step `{sub.step}` starts `{sub.process}`, which is not available (no valid definition with "
                f"that id in {looked_in}; add it with --with PATH): the walks did not run it, but took the ends "
                f"its `on_end` declares: {ends}"
            )
    if coverage.complete:
        lines.append("every state, transition and branch was reached")
    return [f"{indent}{line}\n" for line in lines]


def _coverage_json(process_id: str, coverage: Coverage, seed: int | None = None) -> dict[str, object]:
    return {
        "process": process_id,
        "walks": coverage.walks,
        **({} if seed is None else {"seed": seed}),
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
        "stuck_at": [
            {"state": x.state, "trigger": x.trigger, "reason": x.reason, "walks": x.walks, "example": x.example}
            for x in coverage.stuck_at
        ],
        "never_taken_because": [
            {"state": state, "trigger": trigger, "reason": reason}
            for (state, trigger), reason in sorted(coverage.never_taken_because.items())
        ],
        "sub_procedures": [
            {
                "step": sub.step,
                "process": sub.process,
                "available": sub.available,
                "started": sub.started,
                "ends": dict(sub.ends),
            }
            for sub in coverage.sub_procedures
        ],
    }
