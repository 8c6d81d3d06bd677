"""Who holds a step: a claim, its release, a supervisor's assignment, each recorded as an entry of the
stay; and the refusal of someone else's event while the step is held."""

from __future__ import annotations

import datetime
from typing import Any

from engine.actors import Actor, names, role_names
from engine.compiler import CompiledProcess
from engine.errors import ClaimRefused, StepClaimed
from engine.instances import Assignment, Entry, Instance
from engine.model import Process
from engine.stays import claimant
from engine.work import SUPERVISOR_ROLE, StepWork, offered


def assignment(
    process: Process,
    instance: Instance,
    work: StepWork[Any],
    actor: Actor,
    action: str,
    to: Actor | None,
    moment: datetime.datetime,
) -> Entry:
    """The entry of a ``claim``, ``release`` or ``assign`` (to ``to``) by ``actor`` of the current step, whose
    ``work`` says who holds it and who may act on it; ``ClaimRefused`` when it may not be done."""
    step = process.states[instance.state]
    where = f"step `{step.id}` ({step.label.zh}, {step.label.en}) of instance `{instance.id}`"
    if step.is_final:
        raise ClaimRefused(
            f"instance `{instance.id}` has finished (state `{step.id}`); there is nothing to {action}",
            reason="finished",
        )
    holder = work.claimed_by
    supervises = work.supervises(actor.roles)
    if action == "release":
        if holder is None:
            raise ClaimRefused(f"{where} is not claimed by anyone; there is nothing to release", reason="unclaimed")
        if holder != actor.id and not supervises:
            raise ClaimRefused(
                f"{where} is claimed by `{holder}`; only they or a supervisor "
                f"(role `{SUPERVISOR_ROLE}`) may release it",
                reason="not-allowed",
                claimed_by=holder,
            )
    elif action == "assign":
        if not supervises:
            raise ClaimRefused(
                f"`{actor.id}` (roles: {names(actor.roles)}) may not assign {where}: only a supervisor "
                f"(role `{SUPERVISOR_ROLE}`) may"
                + ("" if work.supervised else f", and `{process.id}` declares no `{SUPERVISOR_ROLE}` role"),
                reason="not-allowed",
            )
    assert to is not None or action == "release"
    if to is not None:
        if holder == to.id:
            raise ClaimRefused(f"{where} is already held by `{holder}`", reason="held", claimed_by=holder)
        if action == "claim" and holder is not None:
            raise ClaimRefused(
                f"{where} is claimed by `{holder}`; they may release it, or a supervisor "
                f"(role `{SUPERVISOR_ROLE}`) may assign it to you",
                reason="held",
                claimed_by=holder,
            )
        theirs = [kind for kind, _, _ in offered(work, to.id, to.roles, claims=False)]
        if all(kind == "cancel" for kind in theirs):
            who = "you have" if to is actor else f"`{to.id}` has"
            what = "only a cancellation there, which no claim holds up" if theirs else "nothing to do in it"
            raise ClaimRefused(
                f"`{to.id}` (roles: {names(to.roles)}) may not act on {where}: {who} {what} "
                f"(it takes one of the roles {names(work.roles)})",
                reason="not-allowed" if to is actor else "cannot-act",
            )
    return Entry(
        at=moment,
        actor=actor.id,
        roles=role_names(actor.roles),
        trigger=None,
        source=step.id,
        dest=step.id,
        payload={},
        assignment=Assignment(action, None if to is None else to.id, () if to is None else role_names(to.roles)),
    )


def refuse_if_held(compiled: CompiledProcess, instance: Instance, trigger: str, actor: Actor) -> None:
    """``StepClaimed`` when someone else holds the step and ``actor``, who may fire ``trigger``
    (holding one of its roles), does not supervise; never for a transition that cancels the case."""
    holder = claimant(instance)
    if holder is None or holder == actor.id:
        return
    candidates = [c for c in compiled.transitions[instance.state] if c.trigger == trigger]
    if any(c.transition.cancels for c in candidates):
        return  # a cancellation ends the case; a claim reserves moving the step on (engine.work)
    if SUPERVISOR_ROLE in compiled.process.roles and SUPERVISOR_ROLE in actor.roles:
        return
    if all(c.roles.isdisjoint(actor.roles) for c in candidates):
        return  # the permission check says why they may not
    raise StepClaimed(
        f"step `{instance.state}` of instance `{instance.id}` is claimed by `{holder}`: only they, or a "
        f"supervisor (role `{SUPERVISOR_ROLE}`), may move it on; ask `{holder}` to release it, or a "
        "supervisor to assign it to you",
        claimed_by=holder,
    )
