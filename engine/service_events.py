"""Events sent to stored instances: a start, an event (``fire``), several in one transaction
(``fire_many``), a move by hand, and the claims on a step (``claim``, ``release``, ``assign``, events
like any other, with the rules of ``engine.work``).

Each call reads what it needs from the store, lets the definition's ``Runtime`` check and apply the
event to that private copy, and writes the result back in one transaction that succeeds only if the
instance is still at the version read. When another writer got there first, the call reads again
and retries while the event is still allowed (``retries`` times, with a short random pause), and
otherwise raises ``EventConflict``; nothing is ever half-written. An event sent with an idempotency
key takes effect once: the same key again returns the entry it recorded, to the actor who sent it and
only if that actor may still send it (checked on the instance as it was before that event); another
actor's use of the key is ``KeyReused``, told nothing of what the key recorded.

``fire_many`` is all or nothing: the first event refused raises, and none of the batch is stored.
"""

from __future__ import annotations

import datetime
import json
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import (
    DuplicateKey,
    EventConflict,
    EventRefused,
    KeyReused,
    NotFound,
    ProcflowError,
    StaleVersion,
    StoreError,
    SubProcessRefused,
)
from engine.inputs import json_object
from engine.instances import Entry, Instance
from engine.runtime import Actor, ChildStart, Runtime, Spawn
from engine.service_verify import WorkflowsVerify
from engine.service_writes import WorkflowsWrites
from engine.stores import ProcessRef
from engine.stores.identifiers import check_instance_id


@dataclass(frozen=True)
class Event:
    """One event of ``Workflows.fire_many``: what ``fire`` is given."""

    instance_id: str
    trigger: str
    actor: Actor
    payload: Mapping[str, Any] = field(default_factory=dict)
    key: str | None = None
    at: datetime.datetime | None = None


class WorkflowsEvents(WorkflowsWrites, WorkflowsVerify):
    """Starts, events, moves by hand and claims, each read, checked and written conditionally."""

    def start(
        self,
        process: str | ProcessRef,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
        instance_id: str | None = None,
        at: datetime.datetime | None = None,
    ) -> Instance:
        """Start an instance of a registered process (its highest revision, or the one ``process``
        names) and store it. With ``key``, starting again with the same key returns the instance the
        first start made, to the same actor, if that actor may still start it and sends the same data
        (and the same ``instance_id``, if one is given); otherwise ``KeyReused`` (or ``PermissionDenied``)."""
        if instance_id is not None:
            check_instance_id(instance_id)  # here, as the runtime would take an empty one for "choose one"
        ref = process if isinstance(process, ProcessRef) else self.latest(process)
        runtime = self.runtime(ref.id, ref.content_hash)
        instance = runtime.start(
            actor, data, at=at, instance_id=uuid.uuid4().hex if instance_id is None else instance_id, key=key
        )
        stored = self.store.insert(instance, runtime.case_work(instance))
        if stored is not instance:
            self._same_start(stored, key or "", actor, instance, instance_id)
        return stored

    def _same_start(self, stored: Instance, key: str, actor: Actor, sent: Instance, instance_id: str | None) -> None:
        """Refuse a start that names a key already used, unless it is the very start that used it."""
        first = stored.history[0]
        if first.actor != actor.id:
            raise KeyReused(_someone_elses(key, f"start an instance of `{stored.process_id}`"))
        # Checked as a new start of the stored instance's own definition would be (its roles, its data).
        again = self.runtime(stored.process_id, stored.content_hash).start(
            actor, sent.history[0].payload, at=first.at, instance_id=stored.id, key=key
        )
        if instance_id is not None and instance_id != stored.id:
            raise KeyReused(
                f"key `{key}` already started instance `{stored.id}`; starting `{instance_id}` needs a new key"
            )
        if again.history[0].payload != first.payload:
            raise KeyReused(
                f"key `{key}` already started instance `{stored.id}` with data "
                f"{json.dumps(first.payload, ensure_ascii=False)}; other data needs a new key"
            )

    def fire(
        self,
        instance_id: str,
        trigger: str,
        actor: Actor,
        payload: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
        at: datetime.datetime | None = None,
        if_version: int | None = None,
    ) -> Entry:
        """Apply one event and store it; return its history entry.

        ``EventRefused`` (nothing written) when the runtime refuses it; ``EventConflict`` when other
        writers kept moving the instance on and it is no longer allowed, or kept winning the race;
        ``KeyReused`` when ``key`` already recorded a different event. With ``if_version`` the event
        is applied only to the instance at that version (an HTTP ``If-Match``), never retried on a
        newer one: ``StaleVersion`` otherwise, unless ``key`` recorded this very event already.
        """
        return self.fire_and_get(instance_id, trigger, actor, payload, key=key, at=at, if_version=if_version)[0]

    def fire_many(self, events: Iterable[Event]) -> list[Entry]:
        """Fire ``events`` in order in one transaction (``batch``); their entries. All or nothing: the
        first that cannot be stored raises, noted with its place in the batch, and none is stored."""
        entries: list[Entry] = []
        with self.batch():
            for index, event in enumerate(events):
                try:
                    entries.append(
                        self.fire(
                            event.instance_id, event.trigger, event.actor, event.payload, key=event.key, at=event.at
                        )
                    )
                except ProcflowError as error:
                    error.add_note(
                        f"event {index} of the batch (on `{event.instance_id}`): none of the batch was stored"
                    )
                    raise
        return entries

    def fire_and_get(
        self,
        instance_id: str,
        trigger: str,
        actor: Actor,
        payload: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
        at: datetime.datetime | None = None,
        if_version: int | None = None,
        process: str | None = None,
    ) -> tuple[Entry, Instance]:
        """``fire``, and the instance as the event left it in the store (read again only when ``key``
        had recorded the event already): what an HTTP reply shows, without a second read. With
        ``process``, an instance of another process is ``NotFound`` (nothing written): the HTTP route
        names the process, and this checks it on the one read the event needs."""
        payload = json_object(payload or {}, "payload")  # within the limits before it is compared or stored
        for attempt in range(self._retries):
            instance, runtime = self._read(instance_id)
            if process is not None and instance.process_id != process:
                raise NotFound(f"`{process}` has no case `{instance.id}` (it is a case of `{instance.process_id}`)")
            read = instance.version
            if if_version is not None and read != if_version:
                recorded = None if key is None else self.store.entry_for_key(instance_id, key)
                if recorded is not None:
                    return self._same_event(instance, key or "", recorded, trigger, actor, payload), self.get(
                        instance_id
                    )
                raise StaleVersion(
                    f"instance `{instance_id}` is at version {read}, not {if_version}: read it again and decide "
                    "whether the event still applies",
                    expected=if_version,
                    found=read,
                )
            children: list[Instance] = []
            try:
                entry = runtime.fire(
                    instance,
                    trigger,
                    actor,
                    payload,
                    at=at or self._now_after(instance),
                    key=key,
                    spawn=self._spawner(children),
                )
                parents = self._parents_moved_on(instance, runtime, children)
            except EventRefused as refusal:
                # A key already recorded answers with its event, even one the instance has since moved past;
                # a key recorded for an event that is still allowed is caught by the store on writing.
                recorded = None if key is None else self.store.entry_for_key(instance_id, key)
                if recorded is not None:
                    return self._same_event(instance, key or "", recorded, trigger, actor, payload), self.get(
                        instance_id
                    )
                if attempt == 0:
                    raise
                raise EventConflict(
                    f"instance `{instance_id}` was moved on by other writers while `{trigger}` was being applied "
                    f"(it is now in `{instance.state}`, version {instance.version}) and the event is no longer "
                    f"allowed: {refusal}",
                    refusal=refusal,
                ) from refusal
            try:
                self._write(instance, read, parents, children)
            except StaleVersion:
                # A resent key whose event another writer already stored has nothing left to race for.
                recorded = None if key is None else self.store.entry_for_key(instance_id, key)
                if recorded is not None:  # judged on the history as stored, which holds the recorded event
                    stored = self._read(instance_id)[0]
                    return self._same_event(stored, key or "", recorded, trigger, actor, payload), self.get(instance_id)
                _pause(attempt)
                continue
            except DuplicateKey as duplicate:
                recorded = self.store.entry_for_key(instance_id, key or "")
                if recorded is None:  # cannot happen: the key is only ever added
                    raise StoreError(f"{self.store.url}: key `{key}` reported but not found") from duplicate
                return self._same_event(instance, key or "", recorded, trigger, actor, payload), self.get(instance_id)
            return entry, instance
        raise EventConflict(
            f"instance `{instance_id}`: `{trigger}` lost the race to other writers {self._retries} times; "
            "nothing was written, send it again"
        )

    def move(
        self, instance_id: str, to: str, actor: Actor, reason: str, *, at: datetime.datetime | None = None
    ) -> Entry:
        """An administrator's correction, stored: the case put in step ``to`` by hand, with the reason
        (``Runtime.move`` says what is refused). Written as an event is, conditional on the version
        read; a child moved to its end moves its parent on, in the same transaction."""
        for attempt in range(self._retries):
            instance, runtime = self._read(instance_id)
            read = instance.version
            try:
                entry = runtime.move(instance, to, actor, reason, at=at or self._now_after(instance))
                parents = self._parents_moved_on(instance, runtime, [])
            except EventRefused as refusal:
                if attempt == 0:
                    raise
                raise EventConflict(
                    f"instance `{instance_id}` was moved on by other writers while it was being moved to `{to}` "
                    f"and the move is no longer allowed: {refusal}",
                    refusal=refusal,
                ) from refusal
            try:
                self._write(instance, read, parents, [])
            except StaleVersion:
                _pause(attempt)
                continue
            return entry
        raise EventConflict(
            f"instance `{instance_id}`: the move to `{to}` lost the race to other writers {self._retries} times; "
            "nothing was written, send it again"
        )

    # --- claims --------------------------------------------------------------------------------------

    def claim(self, instance_id: str, actor: Actor, *, at: datetime.datetime | None = None) -> Entry:
        """Take the instance's current step (``Runtime.claim``), recorded in its history; ``ClaimRefused``
        (nothing written) when it may not be taken."""
        return self._hold(instance_id, lambda i, r, m: r.claim(i, actor, at=m), at)

    def release(self, instance_id: str, actor: Actor, *, at: datetime.datetime | None = None) -> Entry:
        """Give the current step back (``Runtime.release``): its holder, or a supervisor."""
        return self._hold(instance_id, lambda i, r, m: r.release(i, actor, at=m), at)

    def assign(self, instance_id: str, to: Actor, actor: Actor, *, at: datetime.datetime | None = None) -> Entry:
        """A supervisor gives the current step to ``to`` (``Runtime.assign``)."""
        return self._hold(instance_id, lambda i, r, m: r.assign(i, to, actor, at=m), at)

    def _hold(
        self,
        instance_id: str,
        change: Callable[[Instance, Runtime, datetime.datetime], Entry],
        at: datetime.datetime | None,
    ) -> Entry:
        for attempt in range(self._retries):
            instance, runtime = self._read(instance_id)
            read = instance.version
            entry = change(instance, runtime, at or self._now_after(instance))
            try:
                self._write(instance, read, [], [])
            except StaleVersion:
                _pause(attempt)
                continue
            return entry
        raise EventConflict(
            f"instance `{instance_id}`: the claim lost the race to other writers {self._retries} times; "
            "nothing was written, send it again"
        )

    def _same_event(
        self,
        instance: Instance,
        key: str,
        recorded: tuple[int, Entry],
        trigger: str,
        actor: Actor,
        payload: Mapping[str, Any] | None,
    ) -> Entry:
        """The entry ``key`` recorded, if this is the very event it recorded, sent again by the same
        actor, who may still send it: checked on the instance as it was before that event, as a new
        event would be (roles, signatures). ``KeyReused`` or ``PermissionDenied`` otherwise."""
        index, entry = recorded
        if entry.actor != actor.id:
            raise KeyReused(f"instance `{instance.id}`: " + _someone_elses(key, "send an event"))
        try:
            sent = json.loads(json.dumps(dict(payload or {})))
        except (TypeError, ValueError):
            sent = None
        if entry.trigger != trigger or entry.payload != sent:
            raise KeyReused(
                f"instance `{instance.id}`: key `{key}` already recorded `{entry.trigger}` with payload "
                f"{json.dumps(entry.payload, ensure_ascii=False)}; a different event needs a new key"
            )
        before = self.replay(instance, index)  # on the revision the event was sent to, if migrated since
        runtime = self.runtime(before.process_id, before.content_hash)
        runtime.fire(before, trigger, actor, payload, at=entry.at, key=key, spawn=_the_child_recorded(entry))
        return entry


def _the_child_recorded(entry: Entry) -> Spawn:
    """For checking an event sent again: the child its first sending started (none is started again)."""

    def spawn(request: ChildStart) -> str:
        if entry.child is None:
            raise SubProcessRefused(f"the event recorded did not start `{request.process}`")
        return entry.child.instance

    return spawn


def _someone_elses(key: str, what: str) -> str:
    # Says nothing of what the key recorded: that is the other actor's.
    return f"key `{key}` was used by another actor to {what}; send your own key"


def _pause(attempt: int) -> None:
    """A short random wait before a retry, so writers that collided do not collide again in step."""
    time.sleep(random.uniform(0, 0.002 * 2**attempt))
