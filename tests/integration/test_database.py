"""``storage.database.Database`` on SQLite: no statement holds the event loop for long (a read
runs on it only within its budget, a write never), so a long query leaves every other request
served; and ``close`` ends every thread it started."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.model import OutboxMessage, Platform
from storage.database import Database
from storage.engine import create_engine
from storage.sqlite import SqliteConnections
from storage.sqlite import connections as connections_module
from storage.sqlite.connections import INLINE_BUDGET_S
from tests.parents import add_parents

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SLOW = "SELECT count(*) FROM filler a, filler b, filler c"
"""Pure SQLite work, about half a second with 250 rows of filler (no Python runs in it)."""


@pytest.fixture
async def url(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[str]:
    """A migrated database with a table to make slow queries of, and an outbox whose inserts
    are slow."""
    path = tmp_path / "slow.db"
    path.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE filler (x INTEGER)")
            await connection.exec_driver_sql(
                "INSERT INTO filler WITH RECURSIVE n(x) AS "
                "(SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 250) SELECT x FROM n"
            )
            await connection.exec_driver_sql(
                f"CREATE TRIGGER slow_outbox AFTER INSERT ON outbox BEGIN {SLOW}; END"
            )
    finally:
        await engine.dispose()
    yield url


class Ticker:
    """A timer that should fire every 5 ms: the longest gap between two firings tells how long
    the loop was held."""

    def __init__(self) -> None:
        self.longest = 0.0

    async def run(self, until: asyncio.Task[object]) -> None:
        last = time.perf_counter()
        while not until.done():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last)
            last = now


async def timed(work: asyncio.Task[object], ticker: Ticker) -> float:
    began = time.perf_counter()
    await asyncio.gather(work, ticker.run(work))
    return time.perf_counter() - began


async def test_a_long_read_leaves_the_loop_free(url: str) -> None:
    connections = SqliteConnections(Database(url).url)
    try:
        ticker = Ticker()
        query = asyncio.create_task(connections.read(text(SLOW)))
        took = await timed(query, ticker)
        assert (await query).scalar_one() == 250**3
    finally:
        await connections.close()
    assert took > 0.1  # long enough that running it on the loop would have shown
    assert ticker.longest < took / 4


async def test_a_long_write_leaves_the_loop_and_the_readers_free(url: str) -> None:
    async with Database(url) as database:
        await add_parents(database.uow)

        async def slow_write() -> None:
            async with database.uow() as uow:
                await uow.outbox.add(
                    OutboxMessage(
                        organization_id=1,
                        key="slow",
                        platform=Platform.SLACK,
                        workspace_id=1,
                        address="D1",
                        payload="{}",
                        next_attempt_at=NOW,
                        created_at=NOW,
                    )
                )
                await uow.commit()

        async def read_meanwhile() -> float:
            await asyncio.sleep(0.05)  # the write has begun
            began = time.perf_counter()
            async with database.uow() as uow:
                assert await uow.outbox.count() == 0  # committed data only
            return time.perf_counter() - began

        ticker = Ticker()
        write = asyncio.create_task(slow_write())
        read = asyncio.create_task(read_meanwhile())
        took = await timed(write, ticker)
        async with database.uow() as uow:
            assert [m.key for m in await uow.outbox.find()] == ["slow"]
    assert took > 0.1
    assert ticker.longest < took / 4
    assert await read < took / 4


async def test_a_read_that_outruns_its_budget_on_the_loop_goes_to_a_reader_from_then_on(
    url: str,
) -> None:
    connections = SqliteConnections(Database(url).url)
    loop_time = []
    slow = text(SLOW)  # one statement, as a repository builds each shape once
    try:
        for _ in range(2):
            began = time.thread_time()  # the loop's thread: CPU it spent, not the reader's
            assert (await connections.read(slow)).scalar_one() == 250**3
            loop_time.append(time.thread_time() - began)
    finally:
        await connections.close()
    # The first run spent its budget on the loop before it went to a reader (where the other
    # test shows the loop stays free); the second went straight there.
    assert loop_time[0] >= INLINE_BUDGET_S
    assert loop_time[1] < INLINE_BUDGET_S / 2


async def test_only_the_statements_stopped_last_are_remembered(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement built anew per call must not grow what is remembered as slow."""
    monkeypatch.setattr(connections_module, "SLOW_HELD", 2)
    connections = SqliteConnections(Database(url).url)
    # A few milliseconds of SQLite's work each: over the budget, soon done on a reader.
    slow = [
        text(f"SELECT count(*) + {n} FROM filler a, filler b, filler c WHERE c.x <= 10")
        for n in range(3)
    ]
    try:
        for statement in slow:
            await connections.read(statement)
        assert connections.stopped == 3
        await connections.read(slow[2])  # remembered: straight to a reader
        assert connections.stopped == 3
        await connections.read(slow[0])  # forgotten: tried on the loop again
        assert connections.stopped == 4
    finally:
        await connections.close()


async def test_a_plain_read_over_budget_is_answered_too(url: str) -> None:
    """The directory's counters are read through sqlite3 alone (``read_plain``): stopped at
    the budget, it is answered from a reader like any other read, never as an error."""
    connections = SqliteConnections(Database(url).url)
    try:
        pairs = await connections.read_plain(f"SELECT ({SLOW}), 1")
    finally:
        await connections.close()
    assert pairs == {250**3: 1}


async def test_a_short_read_held_up_by_another_threads_python_stays_on_the_loop(url: str) -> None:
    """The budget is the loop thread's own CPU time: waiting for the GIL while another thread
    runs Python (the writer's, a reader's) is not the read's doing, and must not send a short
    read to a reader for good."""
    stop = threading.Event()

    def hog() -> None:
        while not stop.is_set():
            sum(range(1000))  # pure Python: holds the GIL for its switch interval at a time

    connections = SqliteConnections(Database(url).url)
    # A tenth of a millisecond of SQLite's work: long enough to meet the progress handler.
    short = text("SELECT count(*) FROM filler a, filler b WHERE b.x <= 20")
    hogs = [threading.Thread(target=hog, name="hog") for _ in range(2)]
    for thread in hogs:
        thread.start()
    try:
        for _ in range(50):
            assert (await connections.read(short)).scalar_one() == 250 * 20
        assert not [t for t in threading.enumerate() if t.name.startswith("sqlite-reader")]
    finally:
        stop.set()
        for thread in hogs:
            thread.join()
        await connections.close()


async def test_a_short_read_runs_on_the_loop_without_a_thread(url: str) -> None:
    async with Database(url) as database:
        async with database.uow() as uow:
            assert await uow.people.count() == 0
            assert await uow.outbox.find() == []
        assert not [t for t in threading.enumerate() if t.name.startswith("sqlite-")]


async def test_connections_get_the_pragmas_and_close_ends_their_threads(url: str) -> None:
    before = {thread.name for thread in threading.enumerate()}
    database = Database(url)
    await add_parents(database.uow)  # a write: the writer's thread
    connections = SqliteConnections(database.url)
    pragmas = [
        (await connections.read(text(f"PRAGMA {name}"))).scalar_one()
        for name in ("journal_mode", "busy_timeout", "foreign_keys")
    ]
    assert pragmas == ["wal", 5000, 1]
    await connections.read(text(SLOW))  # out of its budget: on a reader
    assert {t.name for t in threading.enumerate()} - before == {"sqlite-writer", "sqlite-reader-0"}
    await connections.close()
    await database.close()
    assert {t.name for t in threading.enumerate()} - before == set()
