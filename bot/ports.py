"""What the core needs from the outside world, as Protocols (DESIGN §6).

``storage/`` implements these with SQLAlchemy; ``tests/fakes.py`` implements them in memory. One
generic repository shape serves every entity because the queries the core makes are simple
(equality, ``IN`` lists for batch loads, ranges on dates); the few that are not get their own
method on the repository that needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self, TypeVar

from bot.messages import Message
from bot.model import (
    Ask,
    AuditEvent,
    Blocker,
    CadencePreference,
    ConversationEntry,
    Decision,
    Delegation,
    Feedback,
    Identity,
    LinkCode,
    Measure,
    Observation,
    Organization,
    OutboxMessage,
    Person,
    Platform,
    Project,
    ProjectChannel,
    RaciEntry,
    Review,
    Stakeholder,
    Thread,
    Update,
    Workspace,
)

T = TypeVar("T")


class Repository(Protocol[T]):
    """Loads and stores one kind of entity inside a unit of work.

    ``find`` criteria are field names with optional suffixes: ``field=v`` (equality; a list, tuple
    or set means ``IN``; ``None`` means ``IS NULL``), ``field__ne``, ``field__lt``, ``field__lte``,
    ``field__gt``, ``field__gte``. ``order_by`` is a field name, ``-field`` for descending.
    """

    async def add(self, item: T) -> T:
        """Insert; returns the item with its ``id`` set."""
        ...

    async def get(self, id: int) -> T | None: ...

    async def save(self, item: T) -> None:
        """Write every field of an item that already has an id."""
        ...

    async def delete(self, id: int) -> None: ...

    async def find(
        self, *, order_by: str | None = None, limit: int | None = None, **where: object
    ) -> list[T]: ...

    async def first(self, *, order_by: str | None = None, **where: object) -> T | None: ...

    async def count(self, **where: object) -> int: ...

    async def set_if(self, id: int, field: str, value: object, *, expected: object) -> bool:
        """Set one field of a stored item to ``value`` only while it holds ``expected``; True
        when this unit of work changed it. How processes agree on who does a one-time job:
        of two units racing, only one sees True."""
        ...

    async def save_if(self, item: T, *, expected: Mapping[str, object]) -> bool:
        """Write every field of ``item`` only while its stored row still holds ``expected``
        (``{"state": AskState.OPEN, "updated_at": seen}``; values as in ``find`` criteria);
        True when this unit of work changed it, False (nothing written) otherwise.

        A guarded transition: of concurrent units that read the same row and change it, the
        first writer wins and the others see False. The row stays taken until the winner's
        unit ends (a row lock on PostgreSQL, the single writer on SQLite); a unit that then
        finds the row changed writes nothing. Do it before the transition's other writes, or
        roll back on False, so a loser leaves no trace."""
        ...


class OutboxRepository(Repository[OutboxMessage], Protocol):
    async def enqueue(self, item: OutboxMessage) -> bool:
        """Insert unless a message with the same ``key`` exists; True when inserted.

        The unique key is what makes a retry, a second process or a restart unable to send twice.
        """
        ...

    async def enqueue_all(self, items: Sequence[OutboxMessage]) -> list[bool]:
        """:meth:`enqueue` of each item, in order, in one round trip where the database allows
        (on SQLite a unit holds the one writer from its first write, and each round trip
        holds it for a turn of the busy event loop); whether each was inserted."""
        ...

    async def save_all(self, items: Sequence[OutboxMessage]) -> None:
        """:meth:`save` of each stored item, in one round trip where the database allows."""
        ...

    async def claim_due(
        self,
        *,
        now: datetime,
        limit: int,
        platforms: Collection[Platform],
        lease_until: datetime,
    ) -> list[OutboxMessage]:
        """Lease and return, in one statement, the pending messages for ``platforms`` whose
        ``next_attempt_at`` has come, oldest first: their ``next_attempt_at`` becomes
        ``lease_until``, so no other pass — in this process or another — takes them until the
        lease runs out (and rows another open unit is claiming are skipped, not waited for, on
        PostgreSQL). Only the platforms a process can send to: the others' rows (the console's,
        a platform switched off here) are left alone for whoever can deliver them."""
        ...


class InboundRepository(Protocol):
    """The platform deliveries already processed, keyed by what the platform sends again when
    it retries or a client replays (Slack ``event_id`` / ``trigger_id``, Teams activity id)."""

    async def record(self, key: str, *, at: datetime) -> bool:
        """Record ``key`` in this unit of work; False when it is recorded already (committed,
        or by a concurrent unit of work that then commits). Recorded with the change the
        delivery causes, so "processed" and "changed" commit or roll back together."""
        ...

    async def prune(self, *, before: datetime) -> int:
        """Forget deliveries received before ``before`` (platforms retry within minutes)."""
        ...


class UnitOfWork(Protocol):
    """One transaction. ``async with uow: ...; await uow.commit()``; leaving without commit
    rolls back, which is how a rejected command changes nothing."""

    organizations: Repository[Organization]
    workspaces: Repository[Workspace]
    people: Repository[Person]
    identities: Repository[Identity]
    projects: Repository[Project]
    channels: Repository[ProjectChannel]
    stakeholders: Repository[Stakeholder]
    raci: Repository[RaciEntry]
    delegations: Repository[Delegation]
    asks: Repository[Ask]
    blockers: Repository[Blocker]
    updates: Repository[Update]
    measures: Repository[Measure]
    observations: Repository[Observation]
    reviews: Repository[Review]
    decisions: Repository[Decision]
    conversation: Repository[ConversationEntry]
    preferences: Repository[CadencePreference]
    feedback: Repository[Feedback]
    threads: Repository[Thread]
    audit: Repository[AuditEvent]
    codes: Repository[LinkCode]
    outbox: OutboxRepository
    inbound: InboundRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class Outcome(StrEnum):
    """How a request the core ran ended, as an operator counts it."""

    OK = "ok"
    REFUSED = "refused"
    """Bad input or not allowed: answered with the reason, nothing changed."""
    ERROR = "error"
    """A bug: rolled back, logged, answered with an apology."""
    REPEATED = "repeated"
    """A platform's retry or replay of a request already handled: not run again."""


class RequestObserver(Protocol):
    """Told how each request ended, so an adapter can count them (``/metrics``) without the
    core knowing how they are counted."""

    def request_done(self, *, platform: Platform, kind: str, outcome: Outcome) -> None:
        """``kind``: the command (``ask``, ``kpi.add``), the button (``ask.approve``) or
        ``form``; from a bounded set, never the user's text."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """One outbox message, ready for a platform sender."""

    outbox: OutboxMessage
    message: Message
    thread_root: str | None = None
    """Platform id of the root of ``message.thread_key``'s thread in this channel, if any."""
    replaces_ref: str | None = None
    """Platform ref of the message ``message.replaces_key`` names (update it in place)."""
    linked_thread: Thread | None = None
    """Where the thread ``message.links_thread`` names was posted in this workspace, if it was
    (its channel and root), for the sender to link to."""
    uncertain: bool = False
    """An earlier attempt may have reached the platform without its answer reaching us (it
    timed out, got a 5xx, or the process died before recording it): a sender that can look
    for its message (Slack, by the outbox key in the message metadata) does so before posting
    again."""


class SendOutcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class SendResult:
    outcome: SendOutcome
    platform_ref: str | None = None
    """Slack ``ts`` / Teams activity id of what was posted (kept to update or thread under it)."""
    retry_after: float | None = None
    """Seconds the platform asked us to wait (429 ``Retry-After``)."""
    error: str = ""
    unreachable: bool = False
    """The address can never be reached again (bot removed, user left): mark the identity."""


class Sender(Protocol):
    """Sends rendered messages to one platform (implemented in adapters/, driven by cadence/)."""

    platform: Platform

    async def send(self, delivery: Delivery) -> SendResult: ...
