"""The worklist: every open step an actor may act on, from the store's indexes.

Each write carries the case's work items (``Runtime.case_work``), which the store keeps in the same
transaction, so ``worklist`` answers from the store's indexes: every open step an actor may act on,
earliest due first, a page at a time by cursor. What each item offers is ``engine.work.offered`` on the
stored work, the function ``Runtime.available`` itself asks.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from dataclasses import dataclass

from engine.errors import DamagedRecord, InvalidIdentifier, InvalidQuery, NotFound
from engine.model import Text
from engine.runtime import Actor
from engine.service_definitions import WorkflowsDefinitions
from engine.stores import NO_DUE, Damaged
from engine.stores.identifiers import check_instance_id
from engine.work import CaseWork, ClockShown, Offer, offered


class WorkflowsWorklist(WorkflowsDefinitions):
    """The worklist, answered from the work items stored with each case."""

    def worklist(
        self,
        actor: Actor,
        *,
        process: str | None = None,
        role: str | None = None,
        overdue: bool = False,
        limit: int = 50,
        after: str | None = None,
        at: datetime.datetime | None = None,
    ) -> Worklist:
        """Every open step of every stored case that ``actor`` may act on, earliest due first (cases with
        no due time last), ``limit`` at a time: pass the page's ``next`` as ``after`` for the following
        one. Each item's offers are what ``available`` gives the actor (none on a step someone else holds,
        but for its parts and signatures ahead); a step they may act on once it is released is listed too,
        with its holder. ``process`` and ``role`` (one of the actor's) narrow it; ``overdue`` keeps the
        steps due by ``at`` (default: now). ``InvalidQuery`` for a role the actor does not hold or a
        cursor this method did not give."""
        if role is not None and role not in actor.roles:
            raise InvalidQuery(
                f"`{actor.id}` does not hold role `{role}` (roles: {', '.join(sorted(actor.roles)) or 'none'})"
            )
        if limit < 1:
            raise InvalidQuery(f"a page holds at least one item, not {limit}")
        roles = sorted(actor.roles if role is None else {role})
        now = self._clock() if at is None else at
        position = read_cursor(after)
        self.fill_work()
        items: list[WorkItem] = []
        damaged: list[Damaged] = []
        while len(items) <= limit:
            page = self.store.worklist(
                roles, process_id=process, due_by=now if overdue else None, after=position, limit=limit + 1
            )
            for case in page:
                if isinstance(case, Damaged):
                    damaged.append(case)
                    continue
                position = (case.due or NO_DUE, case.instance_id)
                item = _item(case, actor, now)
                if item is not None:
                    items.append(item)
            if len(page) < limit + 1 or not page:
                break
        more = len(items) > limit
        items = items[:limit]
        return Worklist(tuple(items), items[-1].cursor if more else None, tuple(damaged))

    def fill_work(self, batch: int = 500) -> int:
        """Work out the work items of every stored case still waiting for them (written by a procflow
        before the worklist, or saved by a caller that gave none), each written only if the case has not
        moved on meanwhile; return how many. ``worklist`` calls it first: after an upgrade, the first
        worklist pays for the store's cases once."""
        filled = 0
        while True:
            pending = self.store.work_pending(batch)
            progress = False
            for instance_id in pending:
                try:
                    instance, runtime = self._read(instance_id)
                    work = runtime.case_work(instance)
                except (DamagedRecord, NotFound):  # verify reports it; the worklist leaves it out
                    progress |= self.store.write_work(instance_id, None, None)
                    continue
                if self.store.write_work(instance_id, instance.version, work):
                    filled += 1
                    progress = True
            if not pending or not progress:
                return filled


@dataclass(frozen=True)
class WorkItem:
    """An open step an actor may act on, as their worklist shows it."""

    instance_id: str
    process_id: str
    step: str
    step_label: Text
    offers: tuple[Offer, ...]
    """What they may do in it now: what ``Workflows.available`` gives them (trigger, label, form)."""
    due: datetime.datetime | None
    """The earliest open deadline, time limit or clock point of the case."""
    overdue: bool
    clocks: tuple[tuple[ClockShown, str], ...]
    """Each clock of the case, with its status at the time the worklist was asked for."""
    claimed_by: str | None
    cursor: str
    """Pass it as ``after`` for the items that follow this one."""


@dataclass(frozen=True)
class Worklist:
    items: tuple[WorkItem, ...]
    next: str | None
    """The cursor of the following page; ``None`` when this is the last."""
    damaged: tuple[Damaged, ...] = ()
    """Cases whose stored work items cannot be read (``procflow verify`` says more)."""


def _item(case: CaseWork, actor: Actor, now: datetime.datetime) -> WorkItem | None:
    """The case as ``actor``'s work item: ``None`` unless they may act on its step, if not now then once
    whoever holds it lets go (one barred from every signature it needs has nothing there)."""
    work = case.work
    if not offered(work, actor.id, actor.roles, claims=False):
        return None
    offers = tuple(offer for _, offer, _ in offered(work, actor.id, actor.roles))
    return WorkItem(
        instance_id=case.instance_id,
        process_id=case.process_id,
        step=work.state,
        step_label=Text(case.step_zh, case.step_en),
        offers=offers,
        due=case.due,
        overdue=case.due is not None and case.due <= now,
        clocks=tuple((clock, clock.status_at(now)) for clock in case.clocks),
        claimed_by=work.claimed_by,
        cursor=page_cursor(case.due or NO_DUE, case.instance_id),
    )


def page_cursor(due: datetime.datetime, instance_id: str) -> str:
    text = json.dumps([due.astimezone(datetime.UTC).isoformat(), instance_id], ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def read_cursor(cursor: str | None, kind: str = "worklist") -> tuple[datetime.datetime, str] | None:
    if cursor is None:
        return None
    try:
        due, instance_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.datetime.fromisoformat(due)
        if moment.tzinfo is None or not isinstance(instance_id, str):
            raise ValueError("not a cursor")
        check_instance_id(instance_id)
    except (ValueError, TypeError, UnicodeDecodeError, InvalidIdentifier, binascii.Error):
        raise InvalidQuery(
            f"`{cursor[:80]}` is not a {kind} cursor; pass the `next` of the page before, as given"
        ) from None
    return moment, instance_id
