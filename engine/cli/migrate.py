"""``procflow migrate PROCESS --plan PLAN.yaml``: move open cases onto another revision of their definition
(``Workflows.migrate``), or with ``--dry-run`` say per case what would happen and what would be refused.

Exit status: 0 every selected case moved (or would, or had already); 1 some case was refused or failed
(the others are moved, each on its own); 2 the plan cannot be used (each problem at its file:line:column)
or a usage error.
"""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from engine.cli.options import EXIT_INVALID, EXIT_OK, EXIT_USAGE, UsageError, require_files, text
from engine.cli.parser import Parser
from engine.cli.stored import actor_arg
from engine.errors import DefinitionError, EventRefused, NotFound, ProcflowError, StoreURLError
from engine.migration import load_plan
from engine.service import Workflows


def add_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    migrate = commands.add_parser(
        "migrate", help="move open cases of a process onto another revision of its definition, as a plan says"
    )
    migrate.add_argument("process", type=text, metavar="PROCESS", help="the process id (the plan's `process`)")
    migrate.add_argument("--plan", required=True, metavar="PLAN.yaml", help="the migration plan")
    migrate.add_argument("--store", metavar="URL", help="the store (default: $PROCFLOW_STORE or sqlite:///procflow.db)")
    migrate.add_argument(
        "--dry-run", action="store_true", help="check every case and say what would happen; write nothing"
    )
    migrate.add_argument(
        "--as",
        type=text,
        dest="actor",
        required=True,
        metavar="ACTOR:ROLE[,ROLE]",
        help="an administrator of the new revision",
    )
    migrate.add_argument("--format", choices=("text", "json"), default="text", help="json: the report as JSON")
    migrate.set_defaults(handler=_migrate)


def _migrate(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    require_files(args.plan)
    actor = actor_arg(args.actor)
    try:
        plan = load_plan(args.plan)
        if plan.process != args.process:
            raise UsageError(f"procflow migrate: {args.plan} moves cases of `{plan.process}`, not of `{args.process}`")
        with Workflows(args.store) as workflows:
            report = workflows.migrate(plan, actor, dry_run=args.dry_run)
    except StoreURLError as exc:
        raise UsageError(f"procflow migrate: {exc}") from exc
    except DefinitionError as exc:  # the plan, or a definition file it names
        for problem in exc.problems:
            stderr.write(f"{problem}\n")
        return EXIT_USAGE
    except (EventRefused, NotFound) as exc:
        stderr.write(f"procflow migrate: {exc}\n")
        return EXIT_INVALID
    except ProcflowError as exc:
        stderr.write(f"procflow migrate: {exc}\n")
        return EXIT_INVALID
    if args.format == "json":
        json.dump(report.as_json(), stdout, ensure_ascii=False, indent=2)
        stdout.write("\n")
    else:
        stdout.write("".join(f"{line}\n" for line in report.lines()))
    return EXIT_OK if report.ok else EXIT_INVALID
