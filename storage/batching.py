"""Group commit for SQLite: the writing units of work of a process share one transaction.

SQLite has a single writer per database file. With a pooled connection per unit of work,
concurrent writers queue on the file lock by polling (``busy_timeout``): p99 latencies of
seconds, and a writer still waiting after the timeout fails with "database is locked". So, per
engine, a :class:`WriteBatcher` owns the only connection of this process that writes:

* A unit of work reads on the batcher's reading connection (WAL lets it read beside the
  writer; it sees committed data only) until its first write; from then on it runs on the
  writer, so it reads its own writes. A unit that never writes never waits for the writer nor
  for a commit.
* Writing units take turns (one at a time on the writer, never interleaved), each inside a
  ``SAVEPOINT``. ``commit`` releases the savepoint and waits for the batch's real ``COMMIT``,
  so it still returns only once the writes are durable; leaving without commit (or after an
  error such as a broken unique constraint) rolls back to the savepoint: only that unit's
  writes go, the batch's others stay.
* Both connections are plain ``sqlite3`` connections used on the event loop's thread: a
  statement on these small indexed tables takes tens of microseconds, while a hop to an
  aiosqlite thread and back (and the GIL hand-offs between a dozen such threads) cost far more
  CPU than the statement itself. Only ``BEGIN IMMEDIATE`` (which may wait for another process)
  and ``COMMIT`` (which syncs the WAL) run in a worker thread. The price: a long query blocks
  the loop while it runs.
* The batch commits when its turn passes to nobody (no unit is waiting to write) or after
  :data:`MAX_UNITS` units, so an idle server commits at once and a busy one commits many units
  with one ``COMMIT`` (one WAL sync instead of one per unit).
* The batch opens with ``BEGIN IMMEDIATE``: it holds the file's write lock from its first
  statement, so no statement in it can fail on a lock another process took in between (other
  processes — the CLI — wait for the batch, as ``busy_timeout`` allows).

The price: a unit's reads before its first write and its writes are not one snapshot (what
PostgreSQL's default READ COMMITTED gives too). A unit that has written holds the writer until
it ends, so a second *writing* unit opened inside it (same task, or a task it started) would
wait forever: :meth:`WriteBatcher.begin` refuses that with a ``RuntimeError`` instead.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any, cast

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert

from storage.engine import sqlite_writer_engine
from storage.inserts import insert_returning, is_insert_returning

__all__ = ["MAX_UNITS", "BatchedTransaction", "WriteBatcher", "batcher_for"]

MAX_UNITS = 64
"""Units of work committed together at most (bounds how long the first one waits)."""

_SAVEPOINT = "unit"

_writing: ContextVar[object | None] = ContextVar("leaderbot_writing_unit", default=None)
"""The unit of work that took the writer in this task (or the task that started this one)."""

_batchers: weakref.WeakKeyDictionary[AsyncEngine, WriteBatcher] = weakref.WeakKeyDictionary()


def _driver(connection: Connection) -> Any:
    """The ``sqlite3`` connection under ``connection``, for the savepoint statements that open
    and close every unit of work: run there, they skip SQLAlchemy's execution machinery, which
    costs several times what SQLite does for them (and tracks nothing about savepoints issued
    as text anyway)."""
    return connection.connection.driver_connection


def batcher_for(engine: AsyncEngine) -> WriteBatcher:
    """The engine's one batcher (every unit-of-work factory on the engine shares it)."""
    batcher = _batchers.get(engine)
    if batcher is None:
        batcher = _batchers[engine] = WriteBatcher(sqlite_writer_engine(engine.url))
    return batcher


class WriteBatcher:
    """The reading and the writing connection of one database; the writer is handed to one
    unit of work at a time."""

    def __init__(self, engine: Engine, *, max_units: int = MAX_UNITS) -> None:
        self._engine = engine
        self._max_units = max_units
        self._busy = False
        self._queue: deque[asyncio.Future[None]] = deque()
        self._holder: object | None = None
        self._connection: Connection | None = None
        self._reader: Connection | None = None
        self._committed: asyncio.Future[None] | None = None
        self._released = 0
        self._failure: BaseException | None = None
        self._commits: set[asyncio.Task[None]] = set()

    def read(self, statement: Executable, params: dict[str, Any] | None = None) -> Result[Any]:
        """Run a statement of a unit that has not written: on the reading connection, outside
        any transaction (so it sees what is committed, never the open batch). Synchronous, so
        no two units' statements interleave on it."""
        return self._reading().execute(statement, params)

    def read_driver(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        """Rows of plain SQL (``?`` parameters) run on the reading connection's ``sqlite3``
        connection: for the one read every unit of work makes (the directory's counters),
        where SQLAlchemy's execution costs three times SQLite's."""
        return list(_driver(self._reading()).execute(sql, params).fetchall())

    def _reading(self) -> Connection:
        if self._reader is None:
            self._reader = self._engine.connect()
        return self._reader

    async def begin(self, unit: object) -> Connection:
        """Wait for the writer's turn; the writer connection, inside a fresh savepoint.

        Raises:
            RuntimeError: ``unit`` is nested in a unit of work that holds the writer (waiting
                would never end).
        """
        if self._holder is not None and _writing.get() is self._holder:
            raise RuntimeError(
                "a unit of work that has written is still open here; a second writing unit of "
                "work inside it would wait for it forever (SQLite has one writer)"
            )
        await self._take_turn()
        try:
            connection = self._connection or await self._open()
            _driver(connection).execute(f"SAVEPOINT {_SAVEPOINT}")
        except BaseException as error:
            self._end_turn(error)
            raise
        self._holder = unit
        _writing.set(unit)
        return connection

    async def release(self) -> None:
        """Keep the unit's writes (``RELEASE``) and wait until the batch has committed them.

        Raises:
            Exception: whatever made the batch's ``COMMIT`` fail (nothing of it was kept).
        """
        connection, committed = self._connection, self._committed
        assert connection is not None and committed is not None
        try:
            _driver(connection).execute(f"RELEASE {_SAVEPOINT}")
        except BaseException as error:
            self._end_turn(error)
            raise
        self._released += 1
        self._end_turn(None)
        await asyncio.shield(committed)

    async def discard(self) -> None:
        """Undo the unit's writes (``ROLLBACK TO``); the batch's other units are unaffected."""
        connection = self._connection
        assert connection is not None
        try:
            _driver(connection).execute(f"ROLLBACK TO {_SAVEPOINT}")
            _driver(connection).execute(f"RELEASE {_SAVEPOINT}")
        except BaseException as error:
            self._end_turn(error)
            raise
        self._end_turn(None)

    async def _open(self) -> Connection:
        connection = self._engine.connect()
        begin = asyncio.ensure_future(
            asyncio.to_thread(connection.exec_driver_sql, "BEGIN IMMEDIATE")
        )
        try:
            await asyncio.shield(begin)
        except BaseException:
            # Not before the thread is done with it (a cancelled wait leaves it running).
            begin.add_done_callback(lambda _: connection.close())
            raise
        self._connection = connection
        self._committed = asyncio.get_running_loop().create_future()
        self._released = 0
        self._failure = None
        return connection

    async def _take_turn(self) -> None:
        if not self._busy:
            self._busy = True
            return
        waiter = asyncio.get_running_loop().create_future()
        self._queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._end_turn(None)  # handed the turn as it was cancelled: pass it on
            elif waiter in self._queue:
                self._queue.remove(waiter)
            raise

    def _end_turn(self, failure: BaseException | None) -> None:
        """Pass the turn on: to the next waiting unit (same batch) while the batch is healthy
        and not full; else end the batch first (a COMMIT syncs the WAL: a task does it)."""
        self._holder = None
        connection = self._connection
        if failure is not None and connection is not None:
            self._failure = failure
        if connection is None or (
            self._failure is None
            and self._released < self._max_units
            and not all(waiter.done() for waiter in self._queue)
        ):
            self._hand_on()
        elif self._failure is not None or not self._released:
            self._rollback(connection)
        else:
            task = asyncio.create_task(self._commit(connection))
            self._commits.add(task)
            task.add_done_callback(self._commits.discard)

    def _hand_on(self) -> None:
        while self._queue:
            waiter = self._queue.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._busy = False

    def _rollback(self, connection: Connection) -> None:
        """End a batch that keeps nothing (no unit released, or a savepoint broke)."""
        failure = self._failure or RuntimeError("the batch was rolled back")
        try:
            connection.rollback()
        finally:
            connection.close()
            self._settle(failure)

    async def _commit(self, connection: Connection) -> None:
        """COMMIT the batch in a worker thread, then tell every unit waiting on it."""
        commit = asyncio.ensure_future(asyncio.to_thread(connection.commit))
        failure: BaseException | None = None
        try:
            await asyncio.shield(commit)
        except asyncio.CancelledError:
            # The loop is going away: close the connection once the thread is done with it.
            commit.add_done_callback(lambda _: connection.close())
            raise
        except Exception as error:
            failure = error
            connection.rollback()
        finally:
            if commit.done():
                connection.close()
            self._settle(failure)

    def _settle(self, failure: BaseException | None) -> None:
        """Forget the ended batch, pass the turn on, and resolve the batch's commit."""
        committed = self._committed
        assert committed is not None
        self._connection = self._committed = self._failure = None
        self._hand_on()
        if failure is None:
            committed.set_result(None)
        else:
            committed.set_exception(failure)
            committed.exception()  # units that were cancelled meanwhile never look


class BatchedTransaction:
    """One unit of work's statements on SQLite: on the batcher's reading connection until its
    first write, then on the writer (see the module docstring)."""

    def __init__(self, batcher: WriteBatcher) -> None:
        self._batcher = batcher
        self._writer: Connection | None = None

    async def execute(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Result[Any]:
        if self._writer is None:
            if not getattr(statement, "is_dml", False):
                return self._batcher.read(statement, params)
            self._writer = await self._batcher.begin(self)
        if params is not None and is_insert_returning(statement):
            return insert_returning(self._writer, cast(Insert, statement), params)
        return self._writer.execute(statement, params)

    async def commit(self) -> None:
        """Returns once the writes are committed (at once when there were none)."""
        if self._writer is not None:
            self._writer = None
            await self._batcher.release()

    async def rollback(self) -> None:
        if self._writer is not None:
            self._writer = None
            await self._batcher.discard()

    async def close(self) -> None:
        await self.rollback()
