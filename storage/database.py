"""One database, as one object: its engine, on SQLite its connections and group commit, and the
directory copy its units of work read from.

Why an object: the composition root builds one, hands its :meth:`Database.uow` to the core
and closes it at shutdown; nothing about a database lives in a module (a test can open two
side by side, as two server processes would be). On PostgreSQL a unit of work is one
:class:`storage.uow.Session`, an ``AsyncSession`` (the server handles concurrent writers,
asyncpg keeps the loop free). On SQLite it is a
:class:`storage.sqlite.batching.BatchedTransaction` on connections that each run in a thread
of their own (:mod:`storage.sqlite`), except reads, which run on the event loop only
within a budget of a couple of milliseconds: no query holds the loop for longer.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from sqlalchemy.engine import URL, Result
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable

from bot.ports import UnitOfWork
from storage.directory import (
    ORGANIZATIONS_HELD,
    VERSIONS_SQL,
    Directory,
    DirectoryView,
    counters_read_by,
)
from storage.engine import create_engine, normalize_url
from storage.repositories import Params
from storage.sqlite import SqliteConnections
from storage.uow import Session, SqlUnitOfWork

__all__ = ["Database"]


class Database:
    """The database at ``url`` (any spelling :func:`storage.engine.normalize_url` accepts).

    Nothing connects until a unit of work needs it; :meth:`close` (or leaving ``async with``)
    closes every connection."""

    def __init__(self, url: str | URL, *, organizations_held: int = ORGANIZATIONS_HELD) -> None:
        self.url = normalize_url(url)
        self.engine: AsyncEngine = create_engine(self.url)
        """For what is not a unit of work: PostgreSQL's sessions, migrations, slack_sdk's OAuth
        stores (on SQLite through aiosqlite, off the loop too)."""
        self.directory = Directory(organizations=organizations_held)
        self._sqlite = (
            SqliteConnections(self.url) if self.url.get_backend_name() == "sqlite" else None
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def reads_stopped(self) -> int:
        """SQLite reads stopped on the event loop at their budget and run again on a reader
        (:mod:`storage.sqlite.connections`); 0 elsewhere."""
        return self._sqlite.stopped if self._sqlite is not None else 0

    def uow(self) -> UnitOfWork:
        """A new, independent unit of work (this method is the core's ``UnitOfWorkFactory``)."""
        sqlite = self._sqlite
        if sqlite is not None:

            async def committed(statement: Executable, params: Params) -> Result[Any]:
                return await sqlite.read(statement, params)

            async def counters(organization_id: int) -> Mapping[str, int]:
                return await sqlite.read_plain(VERSIONS_SQL, (organization_id,))

            view = DirectoryView(self.directory, committed, counters)
            return SqlUnitOfWork(sqlite.transaction(), dialect="sqlite", view=view)
        # expire_on_commit=False: repositories return plain dataclasses, and nothing should
        # reload lazily after a commit. READ COMMITTED: the session itself sees committed data
        # only, as long as it has not written the directory (and then it no longer reads it).
        session = Session(self.engine, expire_on_commit=False)
        view = DirectoryView(self.directory, session.execute, counters_read_by(session.execute))
        return SqlUnitOfWork(session, dialect=self.dialect, view=view)

    async def close(self) -> None:
        """Close every connection: SQLite's threads end once the work handed to them has run."""
        if self._sqlite is not None:
            await self._sqlite.close()
        await self.engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
