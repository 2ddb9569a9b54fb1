"""Group commit on SQLite (storage.sqlite.batching): concurrent units of work share commits, yet
each keeps its own fate, and ``commit`` still means durable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.errors import Conflict
from bot.model import OutboxMessage, Platform
from bot.ports import UnitOfWorkFactory
from storage.database import Database
from storage.engine import create_engine
from storage.sqlite.worker import Worker
from tests.parents import add_parents

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def row(key: str) -> OutboxMessage:
    return OutboxMessage(
        organization_id=1,
        key=key,
        platform=Platform.SLACK,
        workspace_id=1,
        address="D1",
        payload="{}",
        next_attempt_at=NOW,
        created_at=NOW,
    )


@pytest.fixture
def database(tmp_path: Path, sqlite_template: Path) -> Path:
    path = tmp_path / "batching.db"
    path.write_bytes(sqlite_template.read_bytes())
    return path


@pytest.fixture
async def db(database: Path) -> AsyncIterator[Database]:
    async with Database(f"sqlite+aiosqlite:///{database}") as db:
        yield db


@pytest.fixture
async def uow(db: Database) -> UnitOfWorkFactory:
    factory = db.uow
    await add_parents(factory)  # organization 1 and workspace 1, which ``row`` points at
    return factory


async def keys_in(database: Path) -> set[str]:
    """What a fresh engine (another connection, as another process would) sees committed."""
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with engine.connect() as connection:
            result = await connection.exec_driver_sql("SELECT key FROM outbox")
            return {key for (key,) in result}
    finally:
        await engine.dispose()


async def write(uow: UnitOfWorkFactory, key: str) -> None:
    async with uow() as work:
        await work.outbox.count()  # a read first, as services do
        await work.outbox.add(row(key))
        await asyncio.sleep(0)  # let the other units queue behind this one
        await work.commit()


async def test_fifty_concurrent_writers_all_commit(uow: UnitOfWorkFactory, database: Path) -> None:
    keys = {f"k{i}" for i in range(50)}
    await asyncio.gather(*(write(uow, key) for key in keys))
    assert await keys_in(database) == keys


async def test_a_conflicting_unit_loses_only_its_own_writes(
    uow: UnitOfWorkFactory, database: Path
) -> None:
    await write(uow, "taken")

    async def conflicting() -> None:
        async with uow() as work:
            await work.outbox.add(row("mine"))
            await asyncio.sleep(0)
            await work.outbox.add(row("taken"))
            await work.commit()

    results = await asyncio.gather(
        write(uow, "a"), conflicting(), write(uow, "b"), return_exceptions=True
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], Conflict)
    assert await keys_in(database) == {"taken", "a", "b"}


async def test_a_failing_or_uncommitted_unit_leaves_the_batch_intact(
    uow: UnitOfWorkFactory, database: Path
) -> None:
    async def failing() -> None:
        async with uow() as work:
            await work.outbox.add(row("failed"))
            await asyncio.sleep(0)
            raise RuntimeError("a bug")

    async def abandoned() -> None:
        async with uow() as work:
            await work.outbox.add(row("abandoned"))

    results = await asyncio.gather(
        write(uow, "a"), failing(), abandoned(), write(uow, "b"), return_exceptions=True
    )
    assert isinstance(results[1], RuntimeError)
    assert await keys_in(database) == {"a", "b"}


async def test_commit_returns_once_the_writes_are_durable(
    uow: UnitOfWorkFactory, database: Path
) -> None:
    seen: dict[str, set[str]] = {}

    async def write_and_look(key: str) -> None:
        await write(uow, key)
        seen[key] = await keys_in(database)

    await asyncio.gather(*(write_and_look(f"k{i}") for i in range(10)))
    assert all(key in keys for key, keys in seen.items())


async def test_a_reader_neither_waits_for_nor_sees_an_open_writer(
    uow: UnitOfWorkFactory, database: Path
) -> None:
    await write(uow, "committed")
    written, finish = asyncio.Event(), asyncio.Event()

    async def slow_writer() -> None:
        async with uow() as work:
            await work.outbox.add(row("pending"))
            written.set()
            await finish.wait()
            await work.commit()

    writer = asyncio.create_task(slow_writer())
    await written.wait()
    async with asyncio.timeout(1), uow() as work:
        assert [m.key for m in await work.outbox.find()] == ["committed"]
        await work.commit()  # nothing written: returns at once
    finish.set()
    await writer
    assert await keys_in(database) == {"committed", "pending"}


async def test_a_unit_reads_its_own_writes(uow: UnitOfWorkFactory) -> None:
    async with uow() as work:
        await work.outbox.add(row("mine"))
        assert await work.outbox.first(key="mine") is not None
        await work.commit()


async def test_a_writer_nested_in_a_writer_fails_instead_of_waiting_forever(
    uow: UnitOfWorkFactory, database: Path
) -> None:
    async with uow() as outer:
        await outer.outbox.add(row("outer"))
        async with uow() as reader:  # reading inside is fine (it sees committed data only)
            assert await reader.outbox.first(key="outer") is None
        with pytest.raises(RuntimeError, match="wait for it forever"):
            async with uow() as inner:
                await inner.outbox.add(row("inner"))
        await outer.commit()
    assert await keys_in(database) == {"outer"}


async def test_units_that_read_while_others_write_then_write_late_do_not_fail(
    uow: UnitOfWorkFactory, database: Path
) -> None:
    """The outbox drain's shape: read (claim), wait on the network, then write — while other
    units commit meanwhile. On SQLite this once failed with "database is locked"."""

    async def drain_like(key: str) -> None:
        async with uow() as work:
            await work.outbox.find()
            async with uow() as lookup:  # a sender looking something up mid-send
                await lookup.outbox.count()
            await asyncio.sleep(0.01)
            await work.outbox.add(row(key))
            await work.commit()

    await asyncio.gather(
        *(drain_like(f"d{i}") for i in range(5)), *(write(uow, f"w{i}") for i in range(20))
    )
    assert len(await keys_in(database)) == 25


async def test_two_processes_writing_one_file_both_commit_everything(
    uow: UnitOfWorkFactory, database: Path
) -> None:
    """Each process has its own writer; their batches take the file's lock in turns (BEGIN
    IMMEDIATE waits as ``busy_timeout`` allows, in the writer's thread)."""
    async with Database(f"sqlite+aiosqlite:///{database}") as other:
        await asyncio.gather(*(write(uow if i % 2 else other.uow, f"k{i}") for i in range(40)))
    assert len(await keys_in(database)) == 40


async def test_many_rows_of_one_statement_take_one_hop_to_the_writer(
    uow: UnitOfWorkFactory, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit holds the one writer from its first write to its end, and each hop to the
    writer's thread and back waits a turn of the event loop: fifty rows written one hop each
    held it fifty turns (a drain's leases, ten asks' cards)."""
    hops: list[str] = []
    run = Worker.run

    async def counted(worker: Worker, work: Any) -> Any:
        hops.append(worker.name)
        return await run(worker, work)

    monkeypatch.setattr(Worker, "run", counted)
    rows = [row(f"k{i}") for i in range(50)]
    async with uow() as work:
        assert await work.outbox.enqueue_all(rows) == [True] * 50
        for item in rows:
            item.error = "leased"
        await work.outbox.save_all(rows)
        await work.commit()
    assert hops.count("sqlite-writer") == 3  # the inserts, the saves, the batch's COMMIT
    assert len(await keys_in(database)) == 50
    async with uow() as work:
        assert {m.error for m in await work.outbox.find()} == {"leased"}
