"""Every error procflow raises on purpose derives from ``ProcflowError``.

* ProcflowError
  * DefinitionError — a definition file cannot be used; carries every ``Problem`` found
    * PlanError — a migration plan cannot be used: its YAML, its shape, or what it names
  * ExpressionError — a condition or ``set`` expression is malformed or cannot be evaluated
    * ExpressionSyntaxError — refused when compiled (bad syntax, forbidden construct, unknown name)
    * ExpressionEvaluationError — refused while evaluating (wrong operand types, too large a value)
  * UnresolvableReference — a ``$ref`` (or JSON pointer) cannot be followed: not inside the document,
    or not a pointer (``ref``)
    * PointerToNowhere — the pointer names no node of the document (``found``: the path up to the gap)
    * ReferenceCycle — ``$ref``s lead back to themselves without reaching a schema (``chain``)
  * InstanceFormatError — a JSON document is not an instance record (or not one of this definition)
  * EventRefused — an event was refused and the instance is unchanged; ``code`` names the reason
    * UnknownTrigger — the trigger does not leave the current state; ``allowed`` lists those that do
    * PermissionDenied — the actor lacks the trigger's roles, or may not give a required signature
      * MissingSignature — a signature the transition needs is not given; ``missing`` names the roles
    * InvalidPayload — the payload does not fit the trigger's input schema; ``problems`` says where
    * GuardFailed — a condition of the transition is false
    * InvalidData — the data the event would set does not fit the process's data schema
    * InvalidTime — a naive time, one before the instance's last event, or one outside the times kept
    * InvalidActor — an actor id or role that is empty, too long, or not plain valid text
    * UnreachableDeadline — a time limit the event would open cannot end on the business calendar
    * MissingRecord — a required (or amended) record has not been made yet; ``missing`` names them
    * LimitReached — a transition has been taken as many times as its ``limit`` allows (``limit``)
    * SubProcessRefused — a step that starts another procedure cannot start it (no store, or the
      child's start is refused: ``refusal``), or a continuation does not fit the child's end
    * PartsOpen — the step's required parts are not all done; ``open`` names them
    * PartAlreadyDone — the part (or the part for that item) was already done in this stay
    * MoveRefused — an administrator's move by hand cannot be made (where to, or no reason)
    * StepClaimed — someone else holds the step; ``claimed_by`` names them
    * ClaimRefused — a claim, release or assignment that may not be made (``claimed_by``)
    * MigrationRefused — a case cannot be moved onto the plan's new revision (``procflow migrate``)
  * InvalidQuery — a worklist asked for with a cursor it did not give, or a role not held
  * ReplayMismatch — replaying a history does not reproduce the recorded instance
  * StoreError — a store cannot be opened, upgraded or used; names the store (password hidden)
    * StoreURLError — the store URL is not one of the accepted forms
    * DamagedRecord — a stored record cannot be read, or does not match itself (``instance_id``)
  * InvalidIdentifier — an instance id or idempotency key is not one procflow accepts
  * NotFound — no instance, or no definition, with that id in the store
  * ConflictError — another writer got there first; nothing was written
    * StaleVersion — the instance moved on since it was read (``expected``, ``found``)
    * DuplicateKey — the idempotency key is already recorded (``instance_id``, ``index``)
    * KeyReused — an idempotency key sent again with a different event
    * EventConflict — retried after other writers' events, the event is no longer allowed (``refusal``)
    * DuplicateInstance — an instance with that id already exists
  * RenderError — a diagram cannot be drawn: unknown output format, no Graphviz, Graphviz failed
    * LayoutTimeout — Graphviz's layout ran past its time bound and was stopped
  * NoDefinitions — the paths given hold no definition file to read
  * BookError — the audit book cannot be written: its options are wrong, or an unusable output folder
  * RevisionError — a ``git:REV:PATH`` cannot be read: no git, no repository, no such revision or file
  * InitRefused — ``procflow init`` would overwrite a file, or cannot write its folder; nothing is left behind
  * AddressBookError — the worker's address book (``engine.delivery``) cannot be read; names file and key
  * DeliveryFailed — one attempt to deliver an outbox row to one target failed (to be retried)
  * UsersFileError — the HTTP service's users file cannot be read or written, or names no such user
  * SessionKeyError — the pages' session key file cannot be read or made
  * OutputError — a command's standard output cannot be written (a full disk, a closed terminal)

Each ``Problem`` names where it is (``SourceLocation``), what is wrong and, where we can tell, what
to write instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from functools import cache

from engine.frozen import frozen
from engine.source import SourceLocation


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@frozen
class Problem:
    """One finding about a definition, printed as ``file:line:column: severity: message``."""

    location: SourceLocation
    message: str
    severity: Severity = Severity.ERROR
    code: str = "invalid"
    """A stable short name for the kind of problem (``yaml-syntax``, ``unknown-key``, ``unreachable``…)."""

    def __str__(self) -> str:
        """One line whatever the message quotes: a value's line breaks and control characters are
        shown as escapes, so no text from a file can print a line that looks like another problem."""
        return printable(f"{self.location}: {self.severity.value}: {self.message}")

    def as_json(self) -> dict[str, object]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
        }


@cache
def _unprintable() -> re.Pattern[str]:
    """Control characters, line and paragraph separators, and the marks that reorder text right to left:
    compiled when the first problem is printed (2.5M instructions, which a valid definition is spared)."""
    return re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` on one line with every control or bidirectional character written as an escape."""
    return _unprintable().sub(lambda found: _escape(found.group()), text)


def _escape(character: str) -> str:
    code = ord(character)
    return _SHORT_ESCAPES.get(character) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


class ProcflowError(Exception):
    """Base of every error procflow raises on purpose."""


class DefinitionError(ProcflowError):
    """A definition has errors. ``problems`` holds all of them (and any warnings), sorted by place."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: tuple[Problem, ...] = tuple(sorted(problems, key=_problem_order))
        errors = [p for p in self.problems if p.severity is Severity.ERROR]
        shown = errors or list(self.problems)
        summary = "\n".join(str(p) for p in shown)
        super().__init__(summary)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)


class PlanError(DefinitionError):
    """A migration plan has errors: its YAML, its shape, or what it names in the two revisions."""


class ExpressionError(ProcflowError):
    """A condition or ``set`` expression problem.

    ``offset`` is the 0-based character position in the expression text where the problem starts,
    when known, so the caller can point a located error at the exact column.
    """

    def __init__(self, message: str, offset: int | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset


class ExpressionSyntaxError(ExpressionError):
    """The expression is refused when it is compiled."""


class ExpressionEvaluationError(ExpressionError):
    """The expression failed while being evaluated against data."""


def _problem_order(problem: Problem) -> tuple[object, ...]:
    return (problem.location, problem.severity is not Severity.ERROR, problem.message)


class UnresolvableReference(ProcflowError):
    """A ``$ref`` or JSON pointer that cannot be followed: it points outside the document (only
    ``#/...`` references inside it are followed), or is not an RFC 6901 pointer."""

    def __init__(self, message: str, *, ref: str):
        super().__init__(message)
        self.ref = ref


class PointerToNowhere(UnresolvableReference):
    """The pointer is well formed but names no node of the document."""

    def __init__(self, message: str, *, ref: str, found: tuple[str | int, ...]):
        super().__init__(message, ref=ref)
        self.found = found
        """The path that does exist, up to the token that names nothing."""


class ReferenceCycle(UnresolvableReference):
    """Following ``$ref``s comes back to one already followed before reaching a schema."""

    def __init__(self, message: str, *, ref: str, chain: tuple[str, ...]):
        super().__init__(message, ref=ref)
        self.chain = chain
        """The references followed, in order, ending with the one met again."""


class InstanceFormatError(ProcflowError):
    """A JSON document is not an instance record this version of procflow can read, or it belongs to
    another definition than the one it is used with."""


class EventRefused(ProcflowError):
    """An event was refused; the instance is exactly as it was before.

    ``code`` is a stable short name of the reason (``unknown-trigger``, ``permission``,
    ``invalid-payload``, ``guard-false``, ``invalid-data``, ``invalid-time``, ``invalid-actor``,
    ``unreachable-deadline``, ``missing-record``, ``limit-reached``, ``sub-process``, ``missing-signature``,
    ``parts-open``, ``part-done``, ``claimed``, ``claim``), for programs.
    """

    code = "refused"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
        self.instance_id: str | None = None
        self.state: str | None = None
        self.trigger: str | None = None


class UnknownTrigger(EventRefused):
    code = "unknown-trigger"

    def __init__(self, message: str, *, allowed: tuple[str, ...] = ()):
        super().__init__(message)
        self.allowed = allowed


class PermissionDenied(EventRefused):
    code = "permission"


class InvalidPayload(EventRefused):
    code = "invalid-payload"

    def __init__(self, message: str, *, problems: tuple[str, ...] = ()):
        super().__init__(message)
        self.problems = problems


class GuardFailed(EventRefused):
    code = "guard-false"


class InvalidData(EventRefused):
    code = "invalid-data"

    def __init__(self, message: str, *, problems: tuple[str, ...] = ()):
        super().__init__(message)
        self.problems = problems


class InvalidTime(EventRefused):
    code = "invalid-time"


class InvalidActor(EventRefused):
    """An actor id or role name breaks the rule for names (``engine.inputs.check_name``)."""

    code = "invalid-actor"


class UnreachableDeadline(EventRefused):
    """A working-time limit the event would open finds too little working time on the business
    calendar (holidays covering years, say) to end within the ten years procflow looks ahead."""

    code = "unreachable-deadline"


class MissingRecord(EventRefused):
    """A step or transition requires records (``requires``, ``amends``) the instance does not hold yet."""

    code = "missing-record"

    def __init__(self, message: str, *, missing: tuple[str, ...] = ()):
        super().__init__(message)
        self.missing = missing


class LimitReached(EventRefused):
    """A transition with ``limit: {times: N}`` and no ``then`` has already been taken N times."""

    code = "limit-reached"

    def __init__(self, message: str, *, times: int = 0, limit: str = ""):
        super().__init__(message)
        self.times = times
        self.limit = limit
        """The limited transition, as ``state.trigger``."""


class SubProcessRefused(EventRefused):
    """An event leads into a step that starts another procedure, and that procedure cannot be started
    (``Runtime`` alone, without a store; the child is not registered; the child's start is refused,
    ``refusal``); or a child's end names no continuation of the step waiting for it."""

    code = "sub-process"

    def __init__(self, message: str, *, refusal: ProcflowError | None = None):
        super().__init__(message)
        self.refusal = refusal


class MissingSignature(PermissionDenied):
    """A transition needs a signature nobody has given: the one firing it cannot give it (another role,
    or barred by ``not_actor_of`` / ``same_actor_as``) and nobody signed it first with ``sign:<trigger>``."""

    code = "missing-signature"

    def __init__(self, message: str, *, missing: tuple[str, ...] = ()):
        super().__init__(message)
        self.missing = missing


class PartsOpen(EventRefused):
    """The event would leave a step whose required parts are not all done."""

    code = "parts-open"

    def __init__(self, message: str, *, open: tuple[str, ...] = ()):
        super().__init__(message)
        self.open = open
        """Each part still open: its id, with ``[item]`` for a part done per item."""


class PartAlreadyDone(EventRefused):
    """The part (for that item) was already done during this stay in the step."""

    code = "part-done"


class MigrationRefused(EventRefused):
    """A case cannot be moved onto another revision of its definition: the plan maps it to a step the
    new revision lacks or that it cannot rest in, it is not on the revision the plan moves from, or the
    parts done in its step are not parts of the new one."""

    code = "migration-refused"


class MoveRefused(EventRefused):
    """An administrator's move that cannot be made: to a step that does not exist, a decision, the
    step the case is already in, or a step that starts another procedure; or with no reason given."""

    code = "move-refused"


class StepClaimed(EventRefused):
    """Someone else holds the step (``engine.work``): only they, or a supervisor, may move it on."""

    code = "claimed"

    def __init__(self, message: str, *, claimed_by: str):
        super().__init__(message)
        self.claimed_by = claimed_by


class ClaimRefused(EventRefused):
    """A claim, release or assignment that may not be made: the actor may not act on the step, the
    case has finished, the claim is someone else's, or only a supervisor may assign.

    ``reason`` says which, for programs: ``finished`` (nothing left to hold), ``unclaimed`` (nothing
    to release), ``held`` (someone holds it already: ``claimed_by``), ``not-allowed`` (the actor's
    roles do not let them do this) or ``cannot-act`` (the one it would be assigned to has nothing to do
    in the step)."""

    code = "claim"

    def __init__(self, message: str, *, reason: str, claimed_by: str | None = None):
        super().__init__(message)
        self.reason = reason
        self.claimed_by = claimed_by


class InvalidQuery(ProcflowError):
    """A worklist asked for with a cursor it did not give, or a role the actor does not hold."""


class ReplayMismatch(ProcflowError):
    """Replaying a history against its definition does not give the recorded state, data or deadlines."""


class RenderError(ProcflowError):
    """A diagram cannot be drawn: an unknown output format, no Graphviz on the machine, or Graphviz failed."""


class LayoutTimeout(RenderError):
    """Graphviz's layout ran past its time bound; the ``dot`` process was stopped."""

    def __init__(self, message: str, *, timeout: float):
        super().__init__(message)
        self.timeout = timeout


class NoDefinitions(ProcflowError):
    """The paths given hold no definition to read: one does not exist, or no folder has a ``.yaml`` file."""


class BookError(ProcflowError):
    """The book cannot be written: its options are wrong, or the output folder cannot be used."""


class RevisionError(ProcflowError):
    """A definition asked for as ``git:REV:PATH`` cannot be read: git is missing, the current folder is
    not in a repository, or the revision or the file at it does not exist."""


class StoreError(ProcflowError):
    """A store cannot be opened, upgraded or used: bad URL, unreachable server, failed statement."""


class StoreURLError(StoreError):
    """The store URL is not one of the accepted forms; the message lists them."""


class DamagedRecord(StoreError):
    """A stored record cannot be read, or contradicts the rest of what is stored: it was changed
    outside procflow or damaged on disk. ``instance_id`` names the instance (``None`` for a definition)."""

    def __init__(self, message: str, *, instance_id: str | None = None):
        super().__init__(message)
        self.instance_id = instance_id


class InvalidIdentifier(ProcflowError):
    """An instance id or idempotency key is empty, too long or holds a character procflow does not
    accept (``engine.stores.identifiers`` says which); nothing was read or written."""


class NotFound(ProcflowError):
    """No instance, or no definition, with that id in the store."""


class ConflictError(ProcflowError):
    """A write lost a race with another writer, or contradicts what is stored; nothing was written."""


class StaleVersion(ConflictError):
    """The instance is no longer at the version the write was based on."""

    def __init__(self, message: str, *, expected: int, found: int | None):
        super().__init__(message)
        self.expected = expected
        self.found = found


class DuplicateKey(ConflictError):
    """The idempotency key is already recorded for the instance; ``index`` is its history entry."""

    def __init__(self, message: str, *, instance_id: str, index: int):
        super().__init__(message)
        self.instance_id = instance_id
        self.index = index


class KeyReused(ConflictError):
    """An idempotency key came again with a different trigger or payload than the event it recorded."""


class EventConflict(ConflictError):
    """Other writers moved the instance on while the event was being applied, and it is no longer
    allowed; ``refusal`` says why."""

    def __init__(self, message: str, *, refusal: EventRefused | None = None):
        super().__init__(message)
        self.refusal = refusal


class DuplicateInstance(ConflictError):
    """An instance with that id already exists."""


class InitRefused(ProcflowError):
    """``procflow init`` wrote nothing: a file it would write is already there, or the folder cannot be written."""


class AddressBookError(ProcflowError):
    """The address book the worker delivers by cannot be read or used: the message names the file and
    the key (``webhooks[0].url``) and what to write instead."""


class DeliveryFailed(ProcflowError):
    """An attempt to deliver an outbox row to one target (a webhook, an address, the callback) failed;
    the worker retries it with backoff and dead-letters it after the policy's limit."""


class UsersFileError(ProcflowError):
    """The users file cannot be read or written, or a user named in a command is not in it."""


class SessionKeyError(ProcflowError):
    """The session key file cannot be read or made."""


class OutputError(ProcflowError):
    """Standard output cannot be written (a full disk, ``/dev/full``, a closed terminal)."""

    def __init__(self, error: OSError):
        super().__init__(f"cannot write the output: {error.strerror or error}")
