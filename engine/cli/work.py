"""Commands over the worklist: ``inbox``, ``claim``, ``release``, ``assign``.

``procflow inbox --as li:clerk`` prints every open step of every stored case that li may act on,
earliest due first, a page at a time (``--after`` the cursor a page ends with); ``--json`` prints the
same as one JSON document. ``claim``, ``release`` and ``assign`` record who holds a case's current step
(the rules are ``engine.work``'s); each refusal is one line on stderr, exit 1, and changes nothing.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from engine.cli.options import EXIT_OK, MAX_BATCH, UsageError, text, whole_number
from engine.cli.parser import Parser
from engine.cli.stored import STORE_HELP, actor_arg, stored
from engine.runtime import Actor
from engine.service import Workflows, WorkItem, Worklist
from engine.stores.identifiers import shown

PAGE = 20
"""Items per page unless ``--limit`` says otherwise."""


def add_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    as_help = "who asks (ACTOR:ROLE[,ROLE])"

    def command(name: str, help_text: str, handler: Any) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--store", metavar="URL", help=STORE_HELP)
        sub.add_argument("--as", type=text, dest="actor", required=True, metavar="ACTOR:ROLE[,ROLE]", help=as_help)
        sub.set_defaults(handler=stored(handler))
        return sub

    inbox = command("inbox", "the open steps you may act on, earliest due first, a page at a time", _inbox)
    inbox.add_argument("--process", type=text, metavar="P", help="only cases of this process id")
    inbox.add_argument("--role", type=text, metavar="ROLE", help="only steps for this one of your roles")
    inbox.add_argument("--overdue", action="store_true", help="only steps whose case is overdue now")
    inbox.add_argument(
        "--limit",
        type=whole_number(1, MAX_BATCH),
        default=PAGE,
        metavar="N",
        help=f"items per page (1 to {MAX_BATCH}, default {PAGE})",
    )
    inbox.add_argument("--after", type=text, metavar="CURSOR", help="the page after the one that ended with CURSOR")
    inbox.add_argument("--json", action="store_true", help="print the page as JSON")

    claim = command("claim", "take a case's current step: others see you have it", _claim)
    claim.add_argument("instance_id", type=text, metavar="ID")
    release = command("release", "give a case's current step back (its holder, or a supervisor)", _release)
    release.add_argument("instance_id", type=text, metavar="ID")
    assign = command("assign", "give a case's current step to someone (a supervisor)", _assign)
    assign.add_argument("instance_id", type=text, metavar="ID")
    assign.add_argument(
        "--to", type=text, required=True, metavar="ACTOR:ROLE[,ROLE]", help="who is to have it, with their roles"
    )


def _inbox(args: argparse.Namespace, workflows: Workflows, stdout: TextIO) -> int:
    actor = actor_arg(args.actor)
    page = workflows.worklist(
        actor, process=args.process, role=args.role, overdue=args.overdue, limit=args.limit, after=args.after
    )
    if args.json:
        json.dump(worklist_to_json(page), stdout, ensure_ascii=False, indent=2)
        stdout.write("\n")
        return EXIT_OK
    who = f"{shown(actor.id)} [{', '.join(sorted(actor.roles))}]"
    if not page.items:
        stdout.write(f"nothing {'more ' if args.after else ''}for {who}\n")
    else:
        stdout.write(f"{len(page.items)} open step(s) for {who}, earliest due first\n")
    for item in page.items:
        stdout.write(_item_lines(item, actor))
    for damaged in page.damaged:
        stdout.write(f"damaged: {shown(damaged.instance_id)}: {damaged.problem} (see procflow verify)\n")
    if page.next is not None:
        stdout.write(f"more: procflow inbox --as {args.actor} --after {page.next} (with the same options)\n")
    return EXIT_OK


def _item_lines(item: WorkItem, actor: Actor) -> str:
    lines = [
        f"{shown(item.instance_id)}  {item.process_id} · `{item.step}` {item.step_label.zh} / {item.step_label.en}"
    ]
    indent = "    "
    facts = []
    if item.due is not None:
        facts.append(f"due {item.due.isoformat()}" + ("  OVERDUE" if item.overdue else ""))
    if item.claimed_by is not None:
        facts.append("claimed by you" if item.claimed_by == actor.id else f"claimed by {shown(item.claimed_by)}")
    if facts:
        lines.append(indent + " · ".join(facts))
    for clock, status in item.clocks:
        lines.append(f"{indent}clock `{clock.clock}` {clock.zh} / {clock.en}: {status}")
    if item.offers:
        lines.append(indent + "may: " + " · ".join(f"{o.trigger} ({o.zh} / {o.en})" for o in item.offers))
    else:
        lines.append(f"{indent}nothing for you until {shown(item.claimed_by or '?')} releases it")
    return "".join(f"{line}\n" for line in lines)


def worklist_to_json(page: Worklist) -> dict[str, Any]:
    return {
        "items": [
            {
                "instance": item.instance_id,
                "process": item.process_id,
                "step": {"id": item.step, "zh": item.step_label.zh, "en": item.step_label.en},
                "due": None if item.due is None else item.due.isoformat(),
                "overdue": item.overdue,
                "claimed_by": item.claimed_by,
                "clocks": [{"clock": c.clock, "zh": c.zh, "en": c.en, "status": status} for c, status in item.clocks],
                "triggers": [
                    {
                        "trigger": o.trigger,
                        "zh": o.zh,
                        "en": o.en,
                        "dest": o.dest,
                        "form": o.form,
                        **({"part": o.part, "items": list(o.items)} if o.part is not None else {}),
                    }
                    for o in item.offers
                ],
                "cursor": item.cursor,
            }
            for item in page.items
        ],
        "next": page.next,
        "damaged": [{"instance": d.instance_id, "problem": d.problem} for d in page.damaged],
    }


def _claim(args: argparse.Namespace, workflows: Workflows, stdout: TextIO) -> int:
    actor = actor_arg(args.actor)
    workflows.claim(args.instance_id, actor)
    stdout.write(
        f"{shown(args.instance_id)}: step `{workflows.get(args.instance_id).state}` claimed by {shown(actor.id)}\n"
    )
    return EXIT_OK


def _release(args: argparse.Namespace, workflows: Workflows, stdout: TextIO) -> int:
    actor = actor_arg(args.actor)
    workflows.release(args.instance_id, actor)
    stdout.write(f"{shown(args.instance_id)}: step `{workflows.get(args.instance_id).state}` released\n")
    return EXIT_OK


def _assign(args: argparse.Namespace, workflows: Workflows, stdout: TextIO) -> int:
    actor = actor_arg(args.actor)
    try:
        to = actor_arg(args.to)
    except UsageError:
        raise UsageError(
            f"procflow assign: --to takes ACTOR:ROLE[,ROLE], the roles they will act with (for example "
            f"chen:clerk), got {args.to!r}"
        ) from None
    workflows.assign(args.instance_id, to, actor)
    stdout.write(
        f"{shown(args.instance_id)}: step `{workflows.get(args.instance_id).state}` assigned to {shown(to.id)}\n"
    )
    return EXIT_OK
