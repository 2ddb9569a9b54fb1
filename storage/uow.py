"""``bot.ports.UnitOfWork`` over SQLAlchemy: one transaction (DESIGN §6).

What the transaction is depends on the backend (see :class:`storage.database.Database`, which
builds every unit of work): an ``AsyncSession`` on PostgreSQL, a
:class:`storage.sqlite.batching.BatchedTransaction` on SQLite. On both, the directory entities
(people, projects, RACI…) are read from the database's copy of their organization's rows until
the unit writes one (see :mod:`storage.directory`).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from bot import model
from bot.ports import (
    InboundRepository,
    OutboxRepository,
    Repository,
)
from storage.directory import DIRECTORY, DirectoryRepository, DirectoryView
from storage.repositories import SqlInboundRepository, SqlOutboxRepository, SqlRepository


class Transaction(Protocol):
    """What a unit of work runs on (:class:`Session` and ``BatchedTransaction`` both are)."""

    async def execute(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Result[Any]: ...

    async def execute_each(
        self, statement: Executable, params: Sequence[dict[str, Any]]
    ) -> list[Result[Any]]: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def close(self) -> None: ...


class Session(AsyncSession):
    """SQLAlchemy's ``AsyncSession`` with :meth:`execute_each`, so repositories ask every
    transaction the same way (a type check per call cost tens of microseconds)."""

    async def execute_each(
        self, statement: Executable, params: Sequence[dict[str, Any]]
    ) -> list[Result[Any]]:
        """One statement after another: each awaits the server anyway, and one ``executemany``
        would not say which row each result belongs to."""
        return [await self.execute(statement, values) for values in params]


_ENTITIES: dict[str, type[Any]] = {
    "organizations": model.Organization,
    "workspaces": model.Workspace,
    "people": model.Person,
    "identities": model.Identity,
    "projects": model.Project,
    "channels": model.ProjectChannel,
    "stakeholders": model.Stakeholder,
    "raci": model.RaciEntry,
    "delegations": model.Delegation,
    "asks": model.Ask,
    "blockers": model.Blocker,
    "updates": model.Update,
    "measures": model.Measure,
    "observations": model.Observation,
    "reviews": model.Review,
    "decisions": model.Decision,
    "conversation": model.ConversationEntry,
    "preferences": model.CadencePreference,
    "feedback": model.Feedback,
    "threads": model.Thread,
    "audit": model.AuditEvent,
    "codes": model.LinkCode,
}
"""Each repository attribute's entity (``outbox`` is the one with more than the generic API)."""


class SqlUnitOfWork:
    """Repositories sharing one transaction. Leaving the block without :meth:`commit` rolls
    back; :meth:`commit` returns once the writes are durable."""

    organizations: Repository[model.Organization]
    workspaces: Repository[model.Workspace]
    people: Repository[model.Person]
    identities: Repository[model.Identity]
    projects: Repository[model.Project]
    channels: Repository[model.ProjectChannel]
    stakeholders: Repository[model.Stakeholder]
    raci: Repository[model.RaciEntry]
    delegations: Repository[model.Delegation]
    asks: Repository[model.Ask]
    blockers: Repository[model.Blocker]
    updates: Repository[model.Update]
    measures: Repository[model.Measure]
    observations: Repository[model.Observation]
    reviews: Repository[model.Review]
    decisions: Repository[model.Decision]
    conversation: Repository[model.ConversationEntry]
    preferences: Repository[model.CadencePreference]
    feedback: Repository[model.Feedback]
    threads: Repository[model.Thread]
    audit: Repository[model.AuditEvent]
    codes: Repository[model.LinkCode]
    outbox: OutboxRepository
    inbound: InboundRepository

    def __init__(self, session: Transaction, *, dialect: str, view: DirectoryView) -> None:
        self._session = session
        self._dialect = dialect
        self._view = view

    def __getattr__(self, name: str) -> Any:
        """Build a repository on its first use: a request touches a few of the twenty-two, and
        building all of them was a measurable part of acking a slash command."""
        repository: Any
        if name == "outbox":
            repository = SqlOutboxRepository(self._session, dialect=self._dialect)
        elif name == "inbound":
            repository = SqlInboundRepository(self._session, dialect=self._dialect)
        elif (entity := _ENTITIES.get(name)) is not None:
            if entity in DIRECTORY:
                repository = DirectoryRepository(self._session, entity, self._view)
            else:
                repository = SqlRepository(self._session, entity)
        else:
            raise AttributeError(name)
        setattr(self, name, repository)
        return repository

    def bind_organization(self, organization_id: int) -> None:
        """Told by ``bot.tenancy.bound``: every read from now on is within this organization,
        so the directory answers from its copy and reads its counters only."""
        self._view.bind(organization_id)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._session.rollback()
        finally:
            await self._session.close()

    async def commit(self) -> None:
        await self._session.commit()

    async def rollback(self) -> None:
        await self._session.rollback()
