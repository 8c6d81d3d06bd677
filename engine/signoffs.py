"""Sign-offs: the signatures a transition needs in the current stay, who may give each (not whoever acted
on one step, or only whoever acted on another), why an actor cannot, and ``sign:<trigger>``, the event
by which a signature is given ahead of whoever fires the transition."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from engine.actors import Actor, names, role_names
from engine.compiler import CompiledProcess
from engine.errors import ExpressionEvaluationError, InvalidPayload, MissingSignature, UnknownTrigger
from engine.expressions import NOW
from engine.history_facts import actors_of
from engine.inputs import json_object
from engine.instances import Entry, Instance, Signature
from engine.model import SignOff, Transition
from engine.stays import stay
from engine.work import Signer

SIGN = "sign:"
"""``sign:<trigger>``: the event by which someone gives the signatures of ``<trigger>`` they can give,
before whoever fires it (the customer signs, then the advisor sends)."""

_NOBODY: frozenset[str] = frozenset()


def sign(
    compiled: CompiledProcess,
    instance: Instance,
    trigger: str,
    actor: Actor,
    payload: Mapping[str, Any] | None,
    moment: datetime.datetime,
    key: str | None,
) -> Entry:
    """``sign:<trigger>``: the signatures of ``<trigger>`` this actor can give, given ahead of it."""
    signed = trigger[len(SIGN) :]
    transitions = [c.transition for c in compiled.transitions[instance.state] if c.trigger == signed]
    if not any(t.signoffs for t in transitions):
        raise UnknownTrigger(
            f"`{signed}` does not leave state `{instance.state}` with a signature to give; "
            + "the triggers that take signatures here are: "
            + (
                ", ".join(f"`{t.trigger}`" for t in compiled.process.states[instance.state].transitions if t.signoffs)
                or "none"
            )
        )
    if json_object(payload or {}, "payload", InvalidPayload):
        raise InvalidPayload(f"`{trigger}` takes no payload: a signature is who, as which role, and when")
    given: list[SignOff] = []
    reasons: list[str] = []
    for transition in transitions:
        mine, missing = signatures(compiled, transition, actor, instance, instance.data, moment)
        given += [s for s in mine if s.role not in {g.role for g in given}]
        reasons += [why for _, why in missing]
    if not given:
        raise MissingSignature(
            f"`{actor.id}` has no signature of `{signed}` to give: " + ("; ".join(reasons) or "all are given")
        )
    entry = Entry(
        at=moment,
        actor=actor.id,
        roles=role_names(actor.roles),
        trigger=trigger,
        source=instance.state,
        dest=instance.state,
        payload={},
        signatures=tuple(Signature(s.role, actor.id, moment) for s in given),
        key=key,
    )
    instance.history.append(entry)
    return entry


def signatures(
    compiled: CompiledProcess,
    transition: Transition,
    actor: Actor,
    instance: Instance,
    data: Mapping[str, Any],
    moment: datetime.datetime,
) -> tuple[list[SignOff], list[tuple[SignOff, str]]]:
    """The signatures of ``transition`` still needed in this stay that ``actor`` gives by firing it,
    and those it cannot give, each with the reason and who must sign instead."""
    mine: list[SignOff] = []
    missing: list[tuple[SignOff, str]] = []
    for signer in signers(compiled, transition, instance, data, moment):
        signoff = transition.signoffs[signer.index]
        if signer.may(actor.id, actor.roles):
            mine.append(signoff)
        else:
            problem = _signer_problem(transition, signoff, actor, instance)
            missing.append((signoff, f"{problem}; {_who_signs(compiled, signoff, instance, transition.trigger)}"))
    return mine, missing


def signers(
    compiled: CompiledProcess,
    transition: Transition,
    instance: Instance,
    data: Mapping[str, Any],
    moment: datetime.datetime,
) -> tuple[Signer, ...]:
    """The signatures of ``transition`` still needed in this stay, each with who may not or must give it."""
    signing = SIGN + transition.trigger
    signed = {s.role for e in stay(instance) if e.trigger == signing for s in e.signatures}
    found = []
    for index, signoff in enumerate(transition.signoffs):
        if signoff.role in signed or not _signature_needed(compiled, signoff, data, moment):
            continue
        barred = (
            frozenset(_actors_of(instance, signoff.not_actor_of, signoff.scope)) if signoff.not_actor_of else _NOBODY
        )
        only = frozenset(_actors_of(instance, signoff.same_actor_as, signoff.scope)) if signoff.same_actor_as else None
        found.append(Signer(signoff.role, barred, only, index))
    return tuple(found)


def _signature_needed(
    compiled: CompiledProcess, signoff: SignOff, data: Mapping[str, Any], moment: datetime.datetime
) -> bool:
    condition = compiled.signature_conditions.get(signoff.path)
    if condition is None:
        return True
    try:
        return bool(condition.evaluate({"data": data, NOW: moment}))
    except ExpressionEvaluationError:
        return True  # when the data cannot say, the signature is asked for


def _who_signs(compiled: CompiledProcess, signoff: SignOff, instance: Instance, trigger: str) -> str:
    role = compiled.process.roles.get(signoff.role)
    who = f"it must be signed as `{signoff.role}`" + (f" ({role.label.zh}, {role.label.en})" if role else "")
    round_ = " in this round" if signoff.scope == "round" else ""
    if signoff.not_actor_of:
        barred = sorted(_actors_of(instance, signoff.not_actor_of, signoff.scope))
        who += f" by someone who did not act on {_states(signoff.not_actor_of)}{round_}" + (
            f" (not {names(barred)})" if barred else ""
        )
    if signoff.same_actor_as:
        allowed = sorted(_actors_of(instance, signoff.same_actor_as, signoff.scope))
        who += f" by the one who acted on {_states(signoff.same_actor_as)}{round_} ({names(allowed)})"
    return who + f" (with `{SIGN}{trigger}` first, or by firing `{trigger}`)"


def _signer_problem(transition: Transition, signoff: SignOff, actor: Actor, instance: Instance) -> str | None:
    """Why ``actor`` may not give this signature, or ``None`` when they may."""
    if signoff.role not in actor.roles:
        return (
            f"`{transition.trigger}` needs a signature as `{signoff.role}`, which `{actor.id}` cannot give "
            f"(roles: {names(actor.roles)})"
        )
    barred = _actors_of(instance, signoff.not_actor_of, signoff.scope)
    if actor.id in barred:
        return (
            f"`{actor.id}` may not sign `{transition.trigger}` as `{signoff.role}`: they acted on "
            + " or ".join(f"`{s}`" for s in signoff.not_actor_of if s in barred[actor.id])
            + ", and the signer must be someone else"
        )
    if signoff.same_actor_as and actor.id not in _actors_of(instance, signoff.same_actor_as, signoff.scope):
        return (
            f"`{actor.id}` may not sign `{transition.trigger}` as `{signoff.role}`: the signer must be the one who "
            f"acted on {_states(signoff.same_actor_as)}"
        )
    return None


def _actors_of(instance: Instance, states: tuple[str, ...], scope: str = "history") -> dict[str, set[str]]:
    """Who did something in each of ``states`` (fired an event from it, did a part of it), by actor: in
    the whole history, or (``round``) only in the latest stay in each state."""
    return actors_of(instance, states).who_acted(instance.history, scope)


def _states(states: Iterable[str]) -> str:
    return " or ".join(f"`{s}`" for s in states)
