"""Group commit for SQLite: the writing units of work of a process share one transaction.

SQLite has a single writer per database file. With a pooled connection per unit of work,
concurrent writers queue on the file lock by polling (``busy_timeout``): p99 latencies of
seconds, and a writer still waiting after the timeout fails with "database is locked". So a
:class:`WriteBatcher` owns the only connection of this process that writes:

* A unit of work reads on a reading connection (WAL lets it read beside the writer; it sees
  committed data only) until its first write; from then on it runs on the writer, so it reads
  its own writes. A unit that never writes never waits for the writer nor for a commit.
* Writing units take turns (one at a time on the writer, never interleaved), each inside a
  ``SAVEPOINT``. ``commit`` releases the savepoint and waits for the batch's real ``COMMIT``,
  so it still returns only once the writes are durable; leaving without commit (or after an
  error such as a broken unique constraint) rolls back to the savepoint: only that unit's
  writes go, the batch's others stay.
* Every statement runs in the writer's own thread (:class:`storage.sqlite.worker.Worker`), never
  on the event loop's. A hop there and back costs more CPU than a statement on these small
  indexed tables, so the statements that only frame a unit (``BEGIN IMMEDIATE``, ``SAVEPOINT``,
  ``RELEASE``, ``ROLLBACK TO``) take no hop of their own: they wait in :attr:`_framing` and go
  with the next statement, in order. A unit that inserts one row costs one hop, plus its share
  of the batch's ``COMMIT``; so does one that writes many rows with one statement
  (:meth:`BatchedTransaction.execute_each`).
* The batch commits when its turn passes to nobody (no unit is waiting to write) or after
  :data:`MAX_UNITS` units, so an idle server commits at once and a busy one commits many units
  with one ``COMMIT`` (one WAL sync instead of one per unit).
* The batch opens with ``BEGIN IMMEDIATE``: it holds the file's write lock from its first
  statement, so no statement in it can fail on a lock another process took in between (other
  processes — the CLI — wait for the batch, as ``busy_timeout`` allows; this process's wait for
  theirs happens in the writer's thread).

The price: a unit's reads before its first write and its writes are not one snapshot (what
PostgreSQL's default READ COMMITTED gives too). A unit that has written holds the writer until
it ends, so a second *writing* unit opened inside it (same task, or a task it started) would
wait forever: :meth:`WriteBatcher.begin` refuses that with a ``RuntimeError`` instead.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from functools import partial
from typing import Any, TypeVar, cast

from sqlalchemy import Connection
from sqlalchemy.engine import Result
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert

from storage.sqlite.inserts import insert_returning, is_insert_returning
from storage.sqlite.worker import Worker

__all__ = ["MAX_UNITS", "BatchedTransaction", "WriteBatcher", "buffered", "driver"]

R = TypeVar("R")

MAX_UNITS = 64
"""Units of work committed together at most (bounds how long the first one waits)."""

_SAVEPOINT = "unit"


def driver(connection: Connection) -> Any:
    """The ``sqlite3`` connection under ``connection``: for the statements that frame a batch
    or a unit, which SQLAlchemy's execution machinery would cost several times what SQLite
    does for them (and would track nothing about anyway)."""
    return connection.connection.driver_connection


def buffered(
    statement: Executable, params: dict[str, Any] | None, connection: Connection
) -> Result[Any]:
    """Run ``statement`` and fetch all its rows, in the connection's thread: the result the
    loop gets never goes back to SQLite."""
    result = connection.execute(statement, params)
    return result.freeze()() if result.returns_rows else result


def _one(
    statement: Executable, params: dict[str, Any] | None, connection: Connection
) -> Result[Any]:
    if params is not None and is_insert_returning(statement):
        return insert_returning(cast(Insert, statement), params, connection)
    return buffered(statement, params, connection)


def _each(
    statement: Executable, params: Sequence[dict[str, Any]], connection: Connection
) -> list[Result[Any]]:
    return [_one(statement, values, connection) for values in params]


def _framed(framing: list[str], work: Callable[[Connection], R], connection: Connection) -> R:
    """``work``, after the framing statements that waited for it (see the module docstring)."""
    sqlite = driver(connection)
    try:
        for sql in framing:
            sqlite.execute(sql)
    except BaseException as error:
        raise _FramingFailed() from error
    return work(connection)


class _FramingFailed(Exception):
    """A framing statement failed: the batch is broken (its ``__cause__`` says why)."""


class WriteBatcher:
    """The writing connection of one database, handed to one unit of work at a time."""

    def __init__(self, writer: Worker, *, max_units: int = MAX_UNITS) -> None:
        self._writer = writer
        self._max_units = max_units
        self._busy = False
        self._queue: deque[asyncio.Future[None]] = deque()
        self._holder: object | None = None
        self._writing: ContextVar[object | None] = ContextVar("leaderbot_writing", default=None)
        """The unit of work that took the writer in this task (or the task that started it)."""
        self._framing: list[str] = []
        self._open = False
        self._committed: asyncio.Future[None] | None = None
        self._released = 0
        self._failure: BaseException | None = None
        self._ends: set[asyncio.Task[None]] = set()

    async def begin(self, unit: object) -> None:
        """Wait for the writer's turn, and open the unit's savepoint (with its first statement).

        Raises:
            RuntimeError: ``unit`` is nested in a unit of work that holds the writer (waiting
                would never end).
        """
        if self._holder is not None and self._writing.get() is self._holder:
            raise RuntimeError(
                "a unit of work that has written is still open here; a second writing unit of "
                "work inside it would wait for it forever (SQLite has one writer)"
            )
        await self._take_turn()
        if not self._open:
            self._open = True
            self._framing.append("BEGIN IMMEDIATE")
            self._committed = asyncio.get_running_loop().create_future()
            self._released = 0
            self._failure = None
        self._framing.append(f"SAVEPOINT {_SAVEPOINT}")
        self._holder = unit
        self._writing.set(unit)

    async def execute(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Result[Any]:
        """A statement of the unit holding the writer, in the writer's thread."""
        return await self._run(partial(_one, statement, params))

    async def execute_each(
        self, statement: Executable, params: Sequence[dict[str, Any]]
    ) -> list[Result[Any]]:
        """``statement`` once per parameter set, in order, in one hop to the writer's thread:
        what a unit writes many rows of (the outbox rows of ten asks, a drain's leases) would
        otherwise hold the writer for a hop per row, each a turn of the busy loop."""
        return await self._run(partial(_each, statement, params))

    async def _run(self, work: Callable[[Connection], R]) -> R:
        framing, self._framing = self._framing, []
        try:
            return await self._writer.run(partial(_framed, framing, work))
        except _FramingFailed as failed:
            cause = failed.__cause__
            assert cause is not None
            self._failure = cause
            raise cause from None

    async def release(self) -> None:
        """Keep the unit's writes (``RELEASE``) and wait until the batch has committed them.

        Raises:
            Exception: whatever made the batch fail (nothing of it was kept).
        """
        committed = self._committed
        assert committed is not None
        self._framing.append(f"RELEASE {_SAVEPOINT}")
        self._released += 1
        self._end_turn()
        await asyncio.shield(committed)

    async def discard(self) -> None:
        """Undo the unit's writes (``ROLLBACK TO``); the batch's other units are unaffected."""
        self._framing += [f"ROLLBACK TO {_SAVEPOINT}", f"RELEASE {_SAVEPOINT}"]
        self._end_turn()

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
                self._end_turn()  # handed the turn as it was cancelled: pass it on
            elif waiter in self._queue:
                self._queue.remove(waiter)
            raise

    def _end_turn(self) -> None:
        """Pass the turn on: to the next waiting unit (same batch) while the batch is healthy
        and not full; else end the batch first (its COMMIT syncs the WAL, in the writer's
        thread)."""
        self._holder = None
        if not self._open or (
            self._failure is None and self._released < self._max_units and self._someone_waits()
        ):
            self._hand_on()
            return
        end = asyncio.create_task(self._end())
        self._ends.add(end)
        end.add_done_callback(self._ends.discard)

    def _someone_waits(self) -> bool:
        return not all(waiter.done() for waiter in self._queue)

    async def _end(self) -> None:
        """COMMIT the batch (ROLLBACK when it keeps nothing), then tell every unit waiting."""
        keep = self._failure is None and self._released > 0
        failure = self._failure or (None if keep else RuntimeError("the batch was rolled back"))
        framing, self._framing = self._framing, []
        try:
            if keep:
                try:
                    await self._writer.run(partial(_framed, framing, _commit))
                except _FramingFailed as failed:
                    failure = failed.__cause__
                    await self._writer.run(_rollback)
                except Exception as error:  # COMMIT failed: nothing of the batch is kept
                    failure = error
                    await self._writer.run(_rollback)
            else:
                await self._writer.run(_rollback)
        finally:
            self._settle(failure)

    def _hand_on(self) -> None:
        while self._queue:
            waiter = self._queue.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._busy = False

    def _settle(self, failure: BaseException | None) -> None:
        """Forget the ended batch, pass the turn on, and resolve the batch's commit."""
        committed = self._committed
        assert committed is not None
        self._committed = self._failure = None
        self._open = False
        self._hand_on()
        if failure is None:
            committed.set_result(None)
        else:
            committed.set_exception(failure)
            committed.exception()  # units that were cancelled meanwhile never look


def _commit(connection: Connection) -> None:
    driver(connection).commit()


def _rollback(connection: Connection) -> None:
    driver(connection).rollback()


class BatchedTransaction:
    """One unit of work's statements on SQLite: on a reading connection until its first write,
    then on the writer (see the module docstring)."""

    def __init__(
        self,
        batcher: WriteBatcher,
        read: Callable[[Executable, dict[str, Any] | None], Awaitable[Result[Any]]],
    ) -> None:
        self._batcher = batcher
        self._read = read
        self._writing = False

    async def execute(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> Result[Any]:
        if not self._writing:
            if not getattr(statement, "is_dml", False):
                return await self._read(statement, params)
            await self._batcher.begin(self)
            self._writing = True
        return await self._batcher.execute(statement, params)

    async def execute_each(
        self, statement: Executable, params: Sequence[dict[str, Any]]
    ) -> list[Result[Any]]:
        """A write once per parameter set, on the writer in one hop (see
        :meth:`WriteBatcher.execute_each`)."""
        if not params:
            return []
        if not self._writing:
            await self._batcher.begin(self)
            self._writing = True
        return await self._batcher.execute_each(statement, params)

    async def commit(self) -> None:
        """Returns once the writes are committed (at once when there were none)."""
        if self._writing:
            self._writing = False
            await self._batcher.release()

    async def rollback(self) -> None:
        if self._writing:
            self._writing = False
            await self._batcher.discard()

    async def close(self) -> None:
        await self.rollback()
