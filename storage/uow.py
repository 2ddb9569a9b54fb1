"""``bot.ports.UnitOfWork`` over one SQLAlchemy ``AsyncSession``: one transaction (DESIGN §6)."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot import model
from bot.ports import UnitOfWork, UnitOfWorkFactory
from storage.repositories import SqlOutboxRepository, SqlRepository


class SqlUnitOfWork:
    """Repositories sharing one session. Leaving the block without :meth:`commit` rolls back."""

    def __init__(self, engine: AsyncEngine) -> None:
        # expire_on_commit=False: repositories return plain dataclasses, and nothing should
        # reload lazily after a commit.
        self._session = session = AsyncSession(engine, expire_on_commit=False)
        self.organizations = SqlRepository(session, model.Organization)
        self.workspaces = SqlRepository(session, model.Workspace)
        self.people = SqlRepository(session, model.Person)
        self.identities = SqlRepository(session, model.Identity)
        self.projects = SqlRepository(session, model.Project)
        self.channels = SqlRepository(session, model.ProjectChannel)
        self.stakeholders = SqlRepository(session, model.Stakeholder)
        self.raci = SqlRepository(session, model.RaciEntry)
        self.delegations = SqlRepository(session, model.Delegation)
        self.asks = SqlRepository(session, model.Ask)
        self.blockers = SqlRepository(session, model.Blocker)
        self.updates = SqlRepository(session, model.Update)
        self.measures = SqlRepository(session, model.Measure)
        self.observations = SqlRepository(session, model.Observation)
        self.reviews = SqlRepository(session, model.Review)
        self.decisions = SqlRepository(session, model.Decision)
        self.preferences = SqlRepository(session, model.CadencePreference)
        self.feedback = SqlRepository(session, model.Feedback)
        self.threads = SqlRepository(session, model.Thread)
        self.audit = SqlRepository(session, model.AuditEvent)
        self.outbox = SqlOutboxRepository(session)

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
