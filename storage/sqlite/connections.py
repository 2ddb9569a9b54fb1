"""The connections of one SQLite database in this process: a few readers and the one writer,
each in its own thread (see :mod:`storage.sqlite.worker` and :mod:`storage.sqlite.batching`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from sqlalchemy import Connection, NullPool, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL, Result
from sqlalchemy.sql import Executable

from storage.sqlite.batching import BatchedTransaction, WriteBatcher, buffered, driver
from storage.sqlite.pragmas import set_pragmas
from storage.sqlite.worker import Worker

__all__ = ["READERS", "SqliteConnections"]

READERS = 4
"""Reading connections: a long read (an export, a report) holds one, and the requests behind it
read on the others."""

SPILL = 4
"""Reads queued on a reader before the next one is used: one thread serves a busy server's
reads (each thread more in play costs GIL hand-offs), the others only what a stalled one
cannot."""


class SqliteConnections:
    """Opened lazily (a thread and its connection start on first use); :meth:`close` ends them."""

    def __init__(self, url: URL, *, readers: int = READERS) -> None:
        # pysqlite, not aiosqlite: every connection already has a thread of its own here.
        # NullPool: each worker holds its connection for its whole life.
        self._engine = create_sync_engine(url.set(drivername="sqlite+pysqlite"), poolclass=NullPool)
        event.listen(self._engine, "connect", set_pragmas)
        self._readers = [Worker(self._engine, name=f"sqlite-reader-{i}") for i in range(readers)]
        self._writer = Worker(self._engine, name="sqlite-writer")
        self._batcher = WriteBatcher(self._writer)

    def transaction(self) -> BatchedTransaction:
        """A new unit of work's statements (see :class:`BatchedTransaction`)."""
        return BatchedTransaction(self._batcher, self.read)

    async def read(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Result[Any]:
        """A statement outside any transaction, on a reader (see :data:`SPILL`): it sees what
        is committed, never the open batch."""
        return await self._reader().run(partial(buffered, statement, params))

    async def read_plain(self, sql: str, params: Sequence[object] = ()) -> Mapping[Any, Any]:
        """Plain SQL of two columns (``?`` parameters), as a mapping, through ``sqlite3`` alone:
        for the one read every unit of work makes (the directory's counters), where
        SQLAlchemy's execution costs three times SQLite's."""
        return await self._reader().run(partial(_pairs, sql, params))

    def _reader(self) -> Worker:
        for reader in self._readers:
            if reader.waiting < SPILL:
                return reader
        return min(self._readers, key=lambda reader: reader.waiting)

    async def close(self) -> None:
        """Close every connection (the work handed over before runs first)."""
        for worker in (self._writer, *self._readers):
            await worker.close()
        self._engine.dispose()


def _pairs(sql: str, params: Sequence[object], connection: Connection) -> dict[Any, Any]:
    return dict(driver(connection).execute(sql, params).fetchall())
