"""The in-memory directory (storage.directory): reads come from memory, yet every committed
write — by this process, another process, or plain SQL — is seen by the next unit of work."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, event, text

from bot.model import Organization, Person
from storage.database import Database


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine of this process runs while the test does: as SQLite
    itself sees them (storage runs some on the driver connection, past SQLAlchemy), and as
    SQLAlchemy sends them to PostgreSQL."""
    seen: list[str] = []

    def record(connection: Connection, *args: object) -> None:
        if connection.dialect.name != "sqlite":
            seen.append(str(args[1]))

    def trace(dbapi_connection: object, _record: object) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.set_trace_callback(seen.append)

    event.listen(Engine, "before_cursor_execute", record)
    event.listen(Engine, "connect", trace)
    yield seen
    event.remove(Engine, "connect", trace)
    event.remove(Engine, "before_cursor_execute", record)


async def _org_with(database: Database, *handles: str) -> int:
    async with database.uow() as uow:
        org = await uow.organizations.add(Organization(name="Northfield"))
        for handle in handles:
            await uow.people.add(Person(organization_id=org.id, handle=handle, name=handle))
        await uow.commit()
    return org.id


async def test_directory_reads_cost_one_statement_per_unit_of_work(
    sql_database: Database, statements: list[str]
) -> None:
    org = await _org_with(sql_database, "ana", "dana")
    factory = sql_database.uow
    async with factory() as uow:
        await uow.people.first(handle="ana")  # the first look loads the copy
    statements.clear()
    async with factory() as uow:
        ana = await uow.people.first(organization_id=org, handle="ana")
        dana = await uow.people.first(handle="dana")
        everyone = await uow.people.find(organization_id=org, order_by="-handle")
        assert ana is not None and dana is not None
        assert await uow.people.get(ana.id) == ana
        assert [p.handle for p in everyone] == ["dana", "ana"]
        assert await uow.people.count(handle__ne="ana") == 1
    assert [s for s in statements if "directory_versions" not in s] == []
    assert len(statements) == 1


async def test_a_commit_is_seen_by_the_next_unit_of_work_not_by_an_open_one(
    sql_database: Database,
) -> None:
    org = await _org_with(sql_database, "ana")
    factory = sql_database.uow
    async with factory() as reader:
        assert await reader.people.count() == 1
        async with factory() as writer:
            await writer.people.add(Person(organization_id=org, handle="raj", name="Raj"))
            assert await writer.people.count() == 2  # a writer reads its own writes
            assert await reader.people.count() == 1
            await writer.commit()
        assert await reader.people.count() == 1  # one look per unit of work
    async with factory() as after:
        assert [p.handle for p in await after.people.find()] == ["ana", "raj"]


async def test_another_process_and_plain_sql_are_seen(sql_database: Database) -> None:
    org = await _org_with(sql_database, "ana")
    factory = sql_database.uow
    async with factory() as uow:
        assert await uow.people.count() == 1
    other = Database(sql_database.url)  # a second server process, or the CLI
    try:
        async with other.uow() as uow:
            ana = await uow.people.first(handle="ana")
            assert ana is not None
            ana.name = "Ana Gomez"
            await uow.people.save(ana)
            await uow.commit()
    finally:
        await other.close()
    async with factory() as uow:
        assert (await uow.people.get(ana.id)) == ana
    async with sql_database.engine.begin() as connection:  # an administrator's SQL
        await connection.execute(text("DELETE FROM people WHERE handle = 'ana'"))
        await connection.execute(
            text(
                "INSERT INTO people (organization_id, handle, name, email, timezone, "
                f"work_start, work_end) VALUES ({org}, 'eve', 'Eve', '', 'UTC', "
                "'08:00:00', '18:00:00')"
            )
        )
    async with factory() as uow:
        assert [p.handle for p in await uow.people.find()] == ["eve"]


async def test_rows_handed_out_are_copies(sql_database: Database) -> None:
    await _org_with(sql_database, "ana")
    factory = sql_database.uow
    async with factory() as uow:
        ana = await uow.people.first(handle="ana")
        assert ana is not None
        ana.name = "changed without save"
    async with factory() as uow:
        again = await uow.people.first(handle="ana")
        assert again is not None and again.name == "ana"


async def test_a_rolled_back_write_never_reaches_the_copy(sql_database: Database) -> None:
    org = await _org_with(sql_database, "ana")
    factory = sql_database.uow
    async with factory() as uow:
        await uow.people.add(Person(organization_id=org, handle="ghost", name="Ghost"))
    async with factory() as uow:
        assert await uow.people.first(handle="ghost") is None


async def test_finding_by_a_list_of_ids_keeps_id_order_and_the_other_criteria(
    sql_database: Database,
) -> None:
    org = await _org_with(sql_database, "ana", "ben", "dana")
    factory = sql_database.uow
    async with factory() as uow:
        people = {p.handle: p.id for p in await uow.people.find(organization_id=org)}
        ana, dana = people["ana"], people["dana"]
        assert [p.handle for p in await uow.people.find(id=[dana, ana, 999])] == ["ana", "dana"]
        assert [p.handle for p in await uow.people.find(id={dana, ana}, handle__ne="ana")] == [
            "dana"
        ]
        assert await uow.people.count(id=(ana,)) == 1
        assert await uow.people.find(id=[]) == []
