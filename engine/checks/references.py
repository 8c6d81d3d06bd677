"""Every name points at something declared: states, roles, departments, sources; time limits,
deadlines and the calendar are well formed.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator

from engine.checks.support import (
    deadline_trigger_problems,
    error,
    is_written,
    own_transitions,
    reference_problems,
    required_properties,
    text_at,
)
from engine.digraph import Digraph
from engine.errors import Problem
from engine.model import (
    Process,
    Record,
    State,
    StateKind,
)
from engine.schema_errors import zero_time_limit
from engine.timing import limit_problem


def check_single_start(process: Process, graph: Digraph) -> Iterator[Problem]:
    starts = [s for s in process.states.values() if s.kind is StateKind.START]
    if not starts:
        yield error(
            process, ("states",), "no-start", "there is no start state; mark the first step `type: start`", key=True
        )
    for extra in starts[1:]:
        yield error(
            process,
            extra.path + ("type",),
            "two-starts",
            f"state `{extra.id}` is a second start state (the first is `{starts[0].id}`); a process has one start",
        )


def check_state_references(process: Process, graph: Digraph) -> Iterator[Problem]:
    states = process.states  # a name found here has no problem: asked first, without a generator for each
    for state in states.values():
        for transition in own_transitions(state):
            if transition.dest not in states:
                yield from reference_problems(process, transition.path + ("dest",), transition.dest, states, "state")
        for branch in (*state.branches, *([state.default] if state.default else [])):
            if branch.dest not in states:
                yield from reference_problems(process, branch.path + ("dest",), branch.dest, states, "state")
        for index, record in enumerate(state.produces):
            yield from reference_problems(process, state.path + ("produces", index), record, process.records, "record")
    for transition in process.shared_transitions:
        yield from reference_problems(process, transition.path + ("dest",), transition.dest, states, "state")
        if is_written(process, transition.path + ("source", 0)):  # a list, not `"*"`
            for index, source in enumerate(transition.sources):
                yield from reference_problems(
                    process, transition.path + ("source", index), source, process.states, "state"
                )
        for index, source in enumerate(transition.sources):
            if source in process.states and process.states[source].is_final:
                yield error(
                    process,
                    transition.path + ("source", index),
                    "leaves-final",
                    f"transition `{transition.trigger}` leaves the final state `{source}`; "
                    "nothing may leave a final state",
                )


def check_role_references(process: Process, graph: Digraph) -> Iterator[Problem]:
    owners = {**process.departments, **process.roles}
    yield from reference_problems(process, ("owner",), process.owner, owners, "department or role")
    for role in process.roles.values():
        if role.department is not None:
            yield from reference_problems(
                process, role.path + ("department",), role.department, process.departments, "department"
            )
    roles = process.roles  # a name found here has no problem: asked first, without a generator for each
    for state in process.states.values():
        if state.role is not None and state.role not in roles:
            yield from reference_problems(process, state.path + ("role",), state.role, roles, "role")
    for transition in process.transitions:
        if is_written(process, transition.path + ("roles",)):
            for index, role_id in enumerate(transition.roles):
                if role_id not in roles:
                    yield from reference_problems(process, transition.path + ("roles", index), role_id, roles, "role")
        elif not transition.roles:
            yield error(
                process,
                transition.path,
                "nobody-may-fire",
                f"transition `{transition.trigger}`: nobody may fire it; add `roles: [...]` "
                "or give the state it leaves a `role`",
            )
        for signoff in transition.signoffs:
            yield from reference_problems(process, signoff.path + ("role",), signoff.role, process.roles, "role")
            for index, state_id in enumerate(signoff.not_actor_of):
                yield from reference_problems(
                    process, signoff.path + ("not_actor_of", index), state_id, process.states, "state"
                )

    for index, role_id in enumerate(process.administrators):
        yield from reference_problems(process, ("administrators", index), role_id, process.roles, "role")


def check_cancellations(process: Process, graph: Digraph) -> Iterator[Problem]:
    """A transition that cancels the case ends it, and says why: its `dest` is a final state and its
    form requires a `reason`."""
    for transition in process.transitions:
        if not transition.cancels:
            continue
        dest = process.states.get(transition.dest)
        if dest is not None and dest.kind is not StateKind.FINAL:
            yield error(
                process,
                transition.path + ("dest",),
                "cancel-not-final",
                f"transition `{transition.trigger}` cancels the case, so it must end it: `{transition.dest}` is not "
                "a final state; lead it to one (e.g. `withdrawn`, with `type: final`)",
            )
        if "reason" not in required_properties(process, transition.payload_schema):
            yield error(
                process,
                transition.path + (("payload",) if is_written(process, transition.path + ("payload",)) else ()),
                "cancel-without-reason",
                f"transition `{transition.trigger}` cancels the case, so its form must require a `reason`: "
                "add `payload: {type: object, required: [reason], properties: {reason: {type: string, minLength: 1}}}`",
            )


def check_source_references(process: Process, graph: Digraph) -> Iterator[Problem]:
    owners: list[State | Record] = [*process.states.values(), *process.records.values()]
    for owner in owners:
        if owner.source is not None:
            yield from reference_problems(
                process, owner.path + ("source", "document"), owner.source.document, process.sources, "source document"
            )


def check_zero_time_limits(process: Process, graph: Digraph) -> Iterator[Problem]:
    """``PT0M`` fits the schema's ISO 8601 pattern but is no time at all (``0m`` the schema refuses)."""
    for state in process.states.values():
        written = [state.path + ("time_limit",)] if state.time_limit is None else []
        written += [d.path + ("after",) for d in state.deadlines if d.after is None]
        for path in written:
            text = text_at(process, path)
            if text is not None:
                yield error(process, path, "zero-time-limit", zero_time_limit(text))


def check_deadlines(process: Process, graph: Digraph) -> Iterator[Problem]:
    for state in process.states.values():
        for deadline in state.deadlines:
            if (
                deadline.after is None
                and deadline.after_from is None
                and text_at(process, deadline.path + ("after",)) is None
            ):
                yield error(
                    process,
                    deadline.path,
                    "deadline-without-time",
                    f"state `{state.id}`: this deadline has no `after` and the state has no `time_limit`; "
                    "say when it fires",
                )
            yield from reference_problems(
                process, deadline.path + ("fire",), deadline.fire, state.triggers, f"trigger of state `{state.id}`"
            )
            for transition in state.transitions:
                if transition.trigger == deadline.fire:
                    yield from deadline_trigger_problems(process, deadline, transition)


def check_calendar(process: Process, graph: Digraph) -> Iterator[Problem]:
    calendar = process.calendar
    try:
        zoneinfo.ZoneInfo(calendar.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        yield error(
            process,
            ("calendar", "timezone"),
            "unknown-timezone",
            f"`{calendar.timezone}` is not a known time zone; write an IANA name such as `Asia/Shanghai`",
        )
    previous_end = None
    for index, (start, end) in enumerate(calendar.working_hours):
        if start >= end:
            yield error(
                process, ("calendar", "working_hours", index), "bad-hours", "a working period must end after it starts"
            )
        elif previous_end is not None and start < previous_end:
            yield error(
                process,
                ("calendar", "working_hours", index),
                "bad-hours",
                "working periods must be in order and must not overlap",
            )
        previous_end = end
    for day in sorted(calendar.holidays & calendar.extra_working_days):
        yield error(
            process,
            ("calendar", "extra_working_days"),
            "holiday-and-workday",
            f"{day} is listed both as a holiday and as an extra working day",
        )


def check_limit_lengths(process: Process, graph: Digraph) -> Iterator[Problem]:
    """Every time limit must be one the runtime can count: see ``engine.timing.limit_problem``."""
    for state in process.states.values():
        limits = [(state.path + ("time_limit",), state.time_limit)]
        limits += [(d.path + ("after",), d.after) for d in state.deadlines if is_written(process, d.path + ("after",))]
        for path, limit in limits:
            problem = None if limit is None else limit_problem(limit, process.calendar)
            if problem is not None:
                yield error(process, path, "limit-too-long", f"state `{state.id}`: {problem}; write a shorter one")
