"""``bot.ports.UnitOfWork`` over SQLAlchemy: one transaction (DESIGN §6).

On PostgreSQL a unit of work is one ``AsyncSession``: the server handles concurrent writers. On
SQLite it is a :class:`storage.batching.BatchedTransaction`: the process's writing units take
turns on one writer connection and commit in groups (see :mod:`storage.batching`). On both,
the directory entities (people, projects, RACI…) are read from the process's copy of them
until the unit writes one (see :mod:`storage.directory`).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import Executable

from bot import model
from bot.ports import OutboxRepository, Repository, UnitOfWork, UnitOfWorkFactory
from storage.batching import BatchedTransaction, batcher_for
from storage.directory import DirectoryRepository, DirectoryView, Read, directory_for
from storage.repositories import SqlOutboxRepository, SqlRepository

T = TypeVar("T")


class _Transaction(Protocol):
    """What a unit of work runs on (``AsyncSession`` and ``BatchedTransaction`` both are)."""

    async def execute(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Result[Any]: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def close(self) -> None: ...


def _transaction(engine: AsyncEngine) -> tuple[_Transaction, Read]:
    """The unit of work's transaction, and how it reads committed data only (the directory's
    counters and tables)."""
    if engine.dialect.name == "sqlite":
        batcher = batcher_for(engine)

        async def committed(statement: Executable) -> Result[Any]:
            return batcher.read(statement)

        return BatchedTransaction(batcher), committed
    # expire_on_commit=False: repositories return plain dataclasses, and nothing should
    # reload lazily after a commit. READ COMMITTED: the session itself sees committed data
    # only, as long as it has not written the directory (and then it no longer reads it).
    session = AsyncSession(engine, expire_on_commit=False)
    return session, session.execute


class SqlUnitOfWork:
    """Repositories sharing one transaction. Leaving the block without :meth:`commit` rolls
    back; :meth:`commit` returns once the writes are durable."""

    def __init__(self, engine: AsyncEngine) -> None:
        session, committed = _transaction(engine)
        self._session: _Transaction = session
        view = DirectoryView(directory_for(engine), committed)

        def directory(entity: type[T]) -> Repository[T]:
            return DirectoryRepository(session, entity, view)

        self.organizations: Repository[model.Organization] = directory(model.Organization)
        self.workspaces: Repository[model.Workspace] = directory(model.Workspace)
        self.people: Repository[model.Person] = directory(model.Person)
        self.identities: Repository[model.Identity] = directory(model.Identity)
        self.projects: Repository[model.Project] = directory(model.Project)
        self.channels: Repository[model.ProjectChannel] = directory(model.ProjectChannel)
        self.stakeholders: Repository[model.Stakeholder] = directory(model.Stakeholder)
        self.raci: Repository[model.RaciEntry] = directory(model.RaciEntry)
        self.delegations: Repository[model.Delegation] = directory(model.Delegation)
        self.asks: Repository[model.Ask] = SqlRepository(session, model.Ask)
        self.blockers: Repository[model.Blocker] = SqlRepository(session, model.Blocker)
        self.updates: Repository[model.Update] = SqlRepository(session, model.Update)
        self.measures: Repository[model.Measure] = SqlRepository(session, model.Measure)
        self.observations: Repository[model.Observation] = SqlRepository(session, model.Observation)
        self.reviews: Repository[model.Review] = SqlRepository(session, model.Review)
        self.decisions: Repository[model.Decision] = SqlRepository(session, model.Decision)
        self.preferences: Repository[model.CadencePreference] = SqlRepository(
            session, model.CadencePreference
        )
        self.feedback: Repository[model.Feedback] = SqlRepository(session, model.Feedback)
        self.threads: Repository[model.Thread] = SqlRepository(session, model.Thread)
        self.audit: Repository[model.AuditEvent] = SqlRepository(session, model.AuditEvent)
        self.outbox: OutboxRepository = SqlOutboxRepository(session, dialect=engine.dialect.name)

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


def make_uow_factory(engine: AsyncEngine) -> UnitOfWorkFactory:
    """The factory the core is given: each call is a new, independent unit of work."""

    def factory() -> UnitOfWork:
        return SqlUnitOfWork(engine)

    return factory
