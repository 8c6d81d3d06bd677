"""Who may act on a case's current step: worked out once per event, answered per actor.

A step's work (``StepWork``) is what can be done in it now and by whom: its open parts, its transitions
(each with the signatures it still needs, and who may not or must give them), and who has claimed it.
It depends on the case alone, never on who asks, so a store keeps it beside the case, rewritten in the
transaction of each event, with one row per role that may find something to do there
(``StepWork.roles``): the worklist query filters those rows by role in SQL. ``offered`` answers for
one actor. ``Runtime.available`` builds the same work and asks the same function, so the worklist
and ``available`` agree by construction (and a property test holds them to it).

Claims (``Assignment`` entries in the history, ``engine.instances``):

- a claim reserves moving the step on: while someone holds it, only they and a supervisor (an actor
  holding the procedure's declared ``supervisor`` role, ``SUPERVISOR_ROLE``) may fire its transitions;
- its parts and the signatures given ahead (``sign:<trigger>``) stay open to whoever may give them,
  since they are other people's contributions to the same step;
- a transition that cancels the case (``cancels: true``) stays open to whoever may fire it, as it is
  while parts are open: it ends the case rather than moving the step on (a customer's withdrawal is
  not held up by the clerk who took the step); and it alone does not make a step one's to claim;
- a claim ends when the case leaves the step, when its holder or a supervisor releases it, or when a
  supervisor assigns the step to someone else.

The stored form (``work_to_json``) keeps each choice as an ``Offer``: what a form or a button needs.
A store writes it as ``work_text``, the same text with each offer encoded once.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Generic, Literal, TypeVar

from engine.errors import InstanceFormatError
from engine.frozen import quick_init

SUPERVISOR_ROLE = "supervisor"
"""Holders of the procedure's role of this name may claim for others (assign), release anyone's
claim, and move on a step someone else holds. A procedure that declares no such role has none."""

C = TypeVar("C")
D = TypeVar("D")


@dataclass(frozen=True, slots=True)
class Signer:
    """A signature a transition still needs in this stay, and who may give it."""

    role: str
    barred: frozenset[str] = frozenset()
    """Actors who may not give it (they acted on a step its ``not_actor_of`` names)."""
    only: frozenset[str] | None = None
    """When its ``same_actor_as`` names steps: the actors one of whom must give it."""
    index: int = 0
    """Its place among the transition's ``signoffs``."""

    def may(self, actor: str, roles: frozenset[str]) -> bool:
        return self.role in roles and actor not in self.barred and (self.only is None or actor in self.only)


@dataclass(frozen=True, slots=True)
class PartWork(Generic[C]):
    """An open part of the step (with its open items), done by any of ``roles``."""

    part: str
    roles: frozenset[str]
    choice: C


@dataclass(frozen=True, slots=True)
class MoveWork(Generic[C]):
    """A transition leaving the step, in the order the definition lists them."""

    trigger: str
    roles: frozenset[str]
    engine: bool
    """Fired by the engine only (a step that waits for a sub-procedure's end)."""
    choice: C
    signers: tuple[Signer, ...]
    """The signatures it still needs now."""
    signs: C | None
    """The choice of giving its signatures ahead (``sign:<trigger>``), when it takes any."""
    cancels: bool = False
    """It cancels the case (``Transition.cancels``): taken whatever the step's open parts and claims."""
    _mapped: tuple[Callable[[Any], Any], MoveWork[Any]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def map(self, change: Callable[[C], D]) -> MoveWork[D]:
        """The same transition with its choices changed (``StepWork.map``)."""
        mapped = self._mapped
        if mapped is not None and mapped[0] is change:
            return mapped[1]
        made = MoveWork(
            self.trigger,
            self.roles,
            self.engine,
            change(self.choice),
            self.signers,
            None if self.signs is None else change(self.signs),
            self.cancels,
        )
        object.__setattr__(self, "_mapped", (change, made))  # frozen: a memo, as ``StepWork.map`` says
        return made


@dataclass(frozen=True, slots=True)
class StepWork(Generic[C]):
    state: str
    parts: tuple[PartWork[C], ...] = ()
    moves: tuple[MoveWork[C], ...] = ()
    claimed_by: str | None = None
    supervised: bool = False
    """Whether the procedure declares ``SUPERVISOR_ROLE``."""
    _roles: frozenset[str] | None = field(default=None, init=False, repr=False, compare=False)
    _mapped: tuple[Callable[[Any], Any], StepWork[Any]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def roles(self) -> frozenset[str]:
        """Every role with which someone may find something to do here (worked out once; a store asks
        for it of the work it writes and of the work it wrote before)."""
        roles = self._roles
        if roles is None:
            found: set[str] = set()
            for part in self.parts:
                found |= part.roles
            for move in self.moves:
                if not move.engine:
                    found |= move.roles
                for signer in move.signers:
                    found.add(signer.role)
            roles = frozenset(found)
            object.__setattr__(self, "_roles", roles)  # frozen: set once, as the fields make it
        return roles

    def supervises(self, roles: frozenset[str]) -> bool:
        return self.supervised and SUPERVISOR_ROLE in roles

    def map(self, change: Callable[[C], D]) -> StepWork[D]:
        """The same work with each choice changed (its roles, which no choice changes, carried over).
        ``change`` must give the same for the same choice: the work a step shares between its cases
        (``engine.choices.StepOffers``) keeps what it made, for the next time it is asked the same."""
        mapped = self._mapped
        if mapped is not None and mapped[0] is change:
            return mapped[1]
        made: StepWork[D] = StepWork(
            self.state,
            tuple([PartWork(p.part, p.roles, change(p.choice)) for p in self.parts]),
            tuple([m.map(change) for m in self.moves]),
            self.claimed_by,
            self.supervised,
        )
        object.__setattr__(made, "_roles", self._roles)
        object.__setattr__(self, "_mapped", (change, made))  # frozen: a memo, which no comparison reads
        return made


Kind = Literal["part", "move", "cancel", "sign"]


def offered(
    work: StepWork[C], actor: str, roles: frozenset[str], *, claims: bool = True
) -> list[tuple[Kind, C, tuple[Signer, ...]]]:
    """What ``actor`` holding ``roles`` may do in the step now, in the order ``Runtime.available`` lists
    it: each open part they may do, each transition they may fire (with every signature it still
    needs theirs to give; not one claimed by someone else unless they supervise), and the signatures
    they may give ahead of a transition they cannot fire. A transition that cancels the case is
    offered (as ``cancel``) whoever holds the step. With ``claims=False``, as if nobody held the step:
    what they could do once it is released. For a signature ahead, the signers are theirs."""
    found: dict[str, tuple[Kind, C, tuple[Signer, ...]]] = {}
    for part in work.parts:
        if not part.roles.isdisjoint(roles):
            found[part.part] = ("part", part.choice, ())
    held_by_other = claims and work.claimed_by is not None and work.claimed_by != actor and not work.supervises(roles)
    for move in work.moves:
        if move.trigger in found or move.roles.isdisjoint(roles) or move.engine:
            continue
        if held_by_other and not move.cancels:
            continue
        if all(s.may(actor, roles) for s in move.signers):
            found[move.trigger] = ("cancel" if move.cancels else "move", move.choice, move.signers)
    for move in work.moves:
        key = "sign:" + move.trigger
        if move.signs is None or key in found or move.trigger in found:
            continue
        mine = tuple(s for s in move.signers if s.may(actor, roles))
        if mine:
            found[key] = ("sign", move.signs, mine)
    return list(found.values())


@dataclass(frozen=True, slots=True)
class Offer:
    """A choice as the worklist shows it: the trigger to send, its label, where it leads, its form."""

    trigger: str
    zh: str
    en: str
    dest: str
    form: Mapping[str, Any] | None
    """The JSON Schema of the payload to fill in; ``None`` when it takes none."""
    part: str | None = None
    items: tuple[str, ...] = ()
    _text: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def text(self) -> str:
        """Its JSON in ``work_to_json``, as compact text (``work_text``): encoded once per offer, and an
        offer a step shares (``engine.choices.StepOffers``) carries a form that never changes."""
        text = self._text
        if text is None:
            text = _ENCODE(_offer_json(self))
            object.__setattr__(self, "_text", text)  # frozen: set once, from the fields
        return text


@quick_init
@dataclass(frozen=True, slots=True)
class ClockShown:
    """A clock of the case as of its last event, with the points still ahead of it."""

    clock: str
    zh: str
    en: str
    status: str
    """As ``engine.clocks.ClockReport.status`` at the last event."""
    points: tuple[tuple[str, datetime.datetime], ...] = ()
    """``(warning|limit|ceiling, due)`` of each point not yet reached while the clock runs."""

    def status_at(self, now: datetime.datetime) -> str:
        """The status at ``now``: a point passed since the last event counts as reached (a worker
        records it when it fires), as ``engine.clocks.report`` counts it."""
        passed = {name for name, due in self.points if due <= now}
        if self.status in ("running", "warned") and passed & {"limit", "ceiling"}:
            return "breached"
        if self.status == "running" and "warning" in passed:
            return "warned"
        return self.status


@quick_init
@dataclass(frozen=True, slots=True)
class CaseWork:
    """What a store keeps of a case for the worklist, rewritten with each event."""

    instance_id: str
    process_id: str
    step_zh: str
    step_en: str
    due: datetime.datetime | None
    """The earliest open deadline, time limit or clock point of the case."""
    clocks: tuple[ClockShown, ...]
    work: StepWork[Offer]

    @property
    def roles(self) -> frozenset[str]:
        return self.work.roles


# --- the stored form ------------------------------------------------------------------------------


def work_to_json(case: CaseWork) -> dict[str, Any]:
    """The JSON a store keeps beside the case's work rows (``work_from_json`` reads it back)."""
    work = case.work
    return {
        "step": {"id": work.state, "zh": case.step_zh, "en": case.step_en},
        "due": None if case.due is None else case.due.isoformat(),
        "clocks": [_clock_json(c) for c in case.clocks],
        "claimed_by": work.claimed_by,
        "supervised": work.supervised,
        "parts": [{"part": p.part, "roles": sorted(p.roles), "offer": _offer_json(p.choice)} for p in work.parts],
        "moves": [
            {
                "trigger": m.trigger,
                "roles": sorted(m.roles),
                "engine": m.engine,
                "offer": _offer_json(m.choice),
                "signers": [_signer_json(s) for s in m.signers],
                "signs": None if m.signs is None else _offer_json(m.signs),
                "cancels": m.cancels,
            }
            for m in work.moves
        ],
    }


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
"""Compact JSON with the options of ``engine.stores.integrity.canonical`` (a test holds ``work_text`` to it)."""
_STRING = json.encoder.encode_basestring
"""What that encoder writes for a text (without ``ensure_ascii``), called without its setup for a value."""
_TRUTH = {True: "true", False: "false"}


def work_text(case: CaseWork) -> str:
    """``canonical(work_to_json(case))``, the text a store keeps, written piece by piece: each offer's
    from its ``text`` rather than encoding every form again on every event, and the rest without the
    encoder's setup for each value (its cost on a text this size is most of the work)."""
    work = case.work
    return (
        f'{_step_text(work.state, case.step_zh, case.step_en)}"due":{_time_text(case.due)},'
        f'"clocks":[{",".join(map(_clock_text, case.clocks))}],'
        f'"claimed_by":{"null" if work.claimed_by is None else _STRING(work.claimed_by)},'
        f'"supervised":{_TRUTH[work.supervised]},"parts":[{",".join(map(_part_text, work.parts))}],'
        f'"moves":[{",".join(map(_move_text, work.moves))}]}}'
    )


def _time_text(moment: datetime.datetime | None) -> str:
    return "null" if moment is None else _STRING(moment.isoformat())


def _clock_text(clock: ClockShown) -> str:
    string = _STRING
    points = ",".join([f"[{string(name)},{string(due.isoformat())}]" for name, due in clock.points])
    return f'{_clock_head(clock.clock, clock.zh, clock.en, clock.status)}"points":[{points}]}}'


# The texts of a definition's steps and clocks, the same on every event: a few per definition.
@lru_cache(maxsize=1024)
def _step_text(state: str, zh: str, en: str) -> str:
    return f'{{"step":{{"id":{_STRING(state)},"zh":{_STRING(zh)},"en":{_STRING(en)}}},'


@lru_cache(maxsize=1024)
def _clock_head(clock: str, zh: str, en: str, status: str) -> str:
    return f'{{"clock":{_STRING(clock)},"zh":{_STRING(zh)},"en":{_STRING(en)},"status":{_STRING(status)},'


def _part_text(part: PartWork[Offer]) -> str:
    return f'{{"part":{_STRING(part.part)},"roles":{_texts(part.roles)},"offer":{part.choice.text}}}'


def _move_text(move: MoveWork[Offer]) -> str:
    return (
        f'{{"trigger":{_STRING(move.trigger)},"roles":{_texts(move.roles)},"engine":{_TRUTH[move.engine]},'
        f'"offer":{move.choice.text},"signers":[{",".join(map(_signer_text, move.signers))}],'
        f'"signs":{"null" if move.signs is None else move.signs.text},"cancels":{_TRUTH[move.cancels]}}}'
    )


def _signer_text(signer: Signer) -> str:
    only = "null" if signer.only is None else _sorted_text(signer.only)
    return (
        f'{{"role":{_STRING(signer.role)},"barred":{_sorted_text(signer.barred)},"only":{only},"index":{signer.index}}}'
    )


def _sorted_text(values: frozenset[str]) -> str:
    return "[" + ",".join([_STRING(value) for value in sorted(values)]) + "]"


@lru_cache(maxsize=1024)
def _texts(values: frozenset[str]) -> str:
    """``_sorted_text`` of the roles of a part or a transition."""
    return _sorted_text(values)


def work_from_json(instance_id: str, process_id: str, document: Any) -> CaseWork:
    """``InstanceFormatError`` for a document that is not what ``work_to_json`` writes."""
    try:
        step = document["step"]
        work = StepWork(
            state=_str(step["id"]),
            parts=tuple(
                PartWork(_str(p["part"]), _roles(p["roles"]), _offer(p["offer"])) for p in _list(document["parts"])
            ),
            moves=tuple(
                MoveWork(
                    _str(m["trigger"]),
                    _roles(m["roles"]),
                    bool(m["engine"]),
                    _offer(m["offer"]),
                    tuple(
                        Signer(
                            _str(s["role"]),
                            _roles(s["barred"]),
                            None if s["only"] is None else _roles(s["only"]),
                            int(s["index"]),
                        )
                        for s in _list(m["signers"])
                    ),
                    None if m["signs"] is None else _offer(m["signs"]),
                    m.get("cancels", False) is True,
                )
                for m in _list(document["moves"])
            ),
            claimed_by=None if document["claimed_by"] is None else _str(document["claimed_by"]),
            supervised=bool(document["supervised"]),
        )
        return CaseWork(
            instance_id,
            process_id,
            _str(step["zh"]),
            _str(step["en"]),
            None if document["due"] is None else _time(document["due"]),
            tuple(
                ClockShown(
                    _str(c["clock"]),
                    _str(c["zh"]),
                    _str(c["en"]),
                    _str(c["status"]),
                    tuple((_str(n), _time(d)) for n, d in _list(c["points"])),
                )
                for c in _list(document["clocks"])
            ),
            work,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InstanceFormatError(f"its work items cannot be read: {exc!r}") from exc


def _clock_json(clock: ClockShown) -> dict[str, Any]:
    return {
        "clock": clock.clock,
        "zh": clock.zh,
        "en": clock.en,
        "status": clock.status,
        "points": [[name, due.isoformat()] for name, due in clock.points],
    }


def _signer_json(signer: Signer) -> dict[str, Any]:
    return {
        "role": signer.role,
        "barred": sorted(signer.barred),
        "only": None if signer.only is None else sorted(signer.only),
        "index": signer.index,
    }


def _offer_json(offer: Offer) -> dict[str, Any]:
    return {
        "trigger": offer.trigger,
        "zh": offer.zh,
        "en": offer.en,
        "dest": offer.dest,
        "form": offer.form,
        "part": offer.part,
        "items": list(offer.items),
    }


def _offer(value: Any) -> Offer:
    form = value["form"]
    if form is not None and not isinstance(form, dict):
        raise TypeError("a form must be an object")
    return Offer(
        _str(value["trigger"]),
        _str(value["zh"]),
        _str(value["en"]),
        _str(value["dest"]),
        form,
        None if value["part"] is None else _str(value["part"]),
        tuple(_str(i) for i in _list(value["items"])),
    )


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def _list(value: Any) -> Sequence[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def _roles(value: Iterable[Any]) -> frozenset[str]:
    return frozenset(_str(r) for r in _list(value))


def _time(value: Any) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(_str(value))
    if moment.tzinfo is None:
        raise ValueError(f"time {value!r} has no UTC offset")
    return moment
