"""The connections of one SQLite database in this process: the one writer and a few readers,
each in its own thread (see :mod:`storage.sqlite.worker` and :mod:`storage.sqlite.batching`),
and one reading connection of the event loop's own.

Why the loop's own: a read on these small indexed tables takes tens of microseconds, less than
the hop to a reader thread and back (a queue put, two wake-ups, GIL hand-offs) costs, and every
unit of work makes one (the directory's counters). So a read first runs on the loop, under a
deadline SQLite enforces itself (a progress handler: :data:`INLINE_BUDGET_S` of the loop
thread's CPU, :data:`INLINE_WALL_S` of the clock's); a read that runs out of it is stopped,
runs again in full on a reader, and its statement goes to a reader at once from then on. A
write never runs on the loop: stopping one would roll the whole batch back."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, NullPool, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL, Result
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql import Executable

from storage.sqlite.batching import BatchedTransaction, WriteBatcher, buffered, driver
from storage.sqlite.pragmas import set_pragmas
from storage.sqlite.worker import Worker

__all__ = ["INLINE_BUDGET_S", "READERS", "SqliteConnections"]

R = TypeVar("R")

READERS = 4
"""Reading connections: a long read (an export, a report) holds one, and the requests behind it
read on the others."""

SPILL = 4
"""Reads queued on a reader before the next one is used: one thread serves a busy server's
reads (each thread more in play costs GIL hand-offs), the others only what a stalled one
cannot."""


INLINE_BUDGET_S = 0.002
"""How much of the loop thread's CPU a read may take: SQLite stops it there (a progress
handler) and it runs again on a reader. Most reads here take tens of microseconds, less than
the hop to a reader thread and back costs; the budget keeps a long one from stalling every
request. CPU time, not wall time: a short read that waits for the GIL while another thread
runs Python (a reader's, the writer's: up to the 5 ms switch interval) is not slow itself."""

INLINE_WALL_S = 0.1
"""The wall-clock bound beside it, for a read that waits without using CPU (pages read from
a cold disk). Generous: each look at the clock takes the GIL, and under load each such wait
can last a switch interval."""

_NEVER = (float("inf"), float("inf"))

SLOW_HELD = 256
"""Statements remembered as too long for the loop, at most (the oldest is forgotten first):
repositories build one per shape, but a statement built anew per call must not grow this."""

_PROGRESS_OPS = 10_000
"""SQLite VM instructions between two looks at the clock (~0.1 ms of its work): the short
reads of a request never look at all."""


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
        self._inline: Connection | None = None
        self._deadlines = _NEVER
        self._slow: dict[object, None] = {}
        """What ran out of the budget once: it goes to a reader at once from then on."""
        self.stopped = 0
        """Reads stopped on the loop at the budget and run again on a reader: SQLite saw each
        of them twice (``bench/digest_fanout.py`` counts statements)."""

    def transaction(self) -> BatchedTransaction:
        """A new unit of work's statements (see :class:`BatchedTransaction`)."""
        return BatchedTransaction(self._batcher, self.read)

    async def read(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Result[Any]:
        """A statement outside any transaction, on the loop or a reader (see the module
        docstring and :data:`SPILL`): it sees what is committed, never the open batch."""
        return await self._run(statement, partial(buffered, statement, params))

    async def read_plain(self, sql: str, params: Sequence[object] = ()) -> Mapping[Any, Any]:
        """Plain SQL of two columns (``?`` parameters), as a mapping, through ``sqlite3`` alone:
        for the one read every unit of work makes (the directory's counters), where
        SQLAlchemy's execution costs three times SQLite's."""
        return await self._run(sql, partial(_pairs, sql, params))

    async def _run(self, shape: object, work: Callable[[Connection], R]) -> R:
        """``work`` on the loop's own connection within :data:`INLINE_BUDGET_S`, else (or when
        ``shape`` ran out of it before) on a reader. Reads only: an interrupted read changes
        nothing and runs again in full."""
        if shape not in self._slow:
            connection = self._inline or self._open_inline()
            self._deadlines = (
                time.thread_time() + INLINE_BUDGET_S,
                time.perf_counter() + INLINE_WALL_S,
            )
            try:
                return work(connection)
            except (OperationalError, sqlite3.OperationalError) as error:
                # SQLAlchemy's (a statement) or sqlite3's own (plain SQL, read_plain).
                if "interrupted" not in str(getattr(error, "orig", error)):
                    raise
                self._slow[shape] = None
                if len(self._slow) > SLOW_HELD:
                    del self._slow[next(iter(self._slow))]
                self.stopped += 1
            finally:
                self._deadlines = _NEVER
        return await self._reader().run(work)

    def _open_inline(self) -> Connection:
        self._inline = self._engine.connect()
        driver(self._inline).set_progress_handler(self._out_of_time, _PROGRESS_OPS)
        return self._inline

    def _out_of_time(self) -> int:
        cpu, wall = self._deadlines
        return int(time.thread_time() > cpu or time.perf_counter() > wall)

    def _reader(self) -> Worker:
        for reader in self._readers:
            if reader.waiting < SPILL:
                return reader
        return min(self._readers, key=lambda reader: reader.waiting)

    async def close(self) -> None:
        """Close every connection (the work handed over before runs first)."""
        for worker in (self._writer, *self._readers):
            await worker.close()
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        self._engine.dispose()


def _pairs(sql: str, params: Sequence[object], connection: Connection) -> dict[Any, Any]:
    return dict(driver(connection).execute(sql, params).fetchall())
