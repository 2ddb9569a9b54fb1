"""The in-memory directory (storage.directory): a unit of work bound to an organization reads its
directory from that organization's copy, yet every committed write — by this process, another
process, or plain SQL — is seen by the next unit of work; a write in one organization reloads
nothing of another's; lookups made before any organization is known read the database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, event, text

from bot.model import Identity, Organization, Person, Platform, Project, Workspace
from bot.ports import UnitOfWorkFactory
from bot.tenancy import bound_factory
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


async def _org_with(database: Database, *handles: str, name: str = "Northfield") -> int:
    async with database.uow() as uow:
        org = await uow.organizations.add(Organization(name=name))
        for handle in handles:
            await uow.people.add(Person(organization_id=org.id, handle=handle, name=handle))
        await uow.commit()
    return org.id


def _in(database: Database, org: int) -> UnitOfWorkFactory:
    """Units of work bound to ``org``, as every request's is (bot.tenancy)."""
    return bound_factory(database.uow, org)


def _loads(statements: list[str]) -> list[str]:
    """The statements that were not the counters' read."""
    return [s for s in statements if "directory_versions" not in s]


async def test_directory_reads_cost_one_statement_per_unit_of_work(
    sql_database: Database, statements: list[str]
) -> None:
    org = await _org_with(sql_database, "ana", "dana")
    factory = _in(sql_database, org)
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
    assert _loads(statements) == []
    assert len(statements) == 1


async def test_a_commit_is_seen_by_the_next_unit_of_work_not_by_an_open_one(
    sql_database: Database,
) -> None:
    org = await _org_with(sql_database, "ana")
    factory = _in(sql_database, org)
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
    factory = _in(sql_database, org)
    async with factory() as uow:
        assert await uow.people.count() == 1
    other = Database(sql_database.url)  # a second server process, or the CLI
    try:
        async with _in(other, org)() as uow:
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
    org = await _org_with(sql_database, "ana")
    factory = _in(sql_database, org)
    async with factory() as uow:
        ana = await uow.people.first(handle="ana")
        assert ana is not None
        ana.name = "changed without save"
    async with factory() as uow:
        again = await uow.people.first(handle="ana")
        assert again is not None and again.name == "ana"


async def test_a_rolled_back_write_never_reaches_the_copy(sql_database: Database) -> None:
    org = await _org_with(sql_database, "ana")
    factory = _in(sql_database, org)
    async with factory() as uow:
        await uow.people.add(Person(organization_id=org, handle="ghost", name="Ghost"))
    async with factory() as uow:
        assert await uow.people.first(handle="ghost") is None


async def test_finding_by_a_list_of_ids_keeps_id_order_and_the_other_criteria(
    sql_database: Database,
) -> None:
    org = await _org_with(sql_database, "ana", "ben", "dana")
    factory = _in(sql_database, org)
    async with factory() as uow:
        people = {p.handle: p.id for p in await uow.people.find(organization_id=org)}
        ana, dana = people["ana"], people["dana"]
        assert [p.handle for p in await uow.people.find(id=[dana, ana, 999])] == ["ana", "dana"]
        assert [p.handle for p in await uow.people.find(id={dana, ana}, handle__ne="ana")] == [
            "dana"
        ]
        assert await uow.people.count(id=(ana,)) == 1
        assert await uow.people.find(id=[]) == []


async def test_people_found_by_their_ids_alone_come_from_their_own_organizations_copy(
    sql_database: Database, statements: list[str]
) -> None:
    """``names_of`` finds people by id only. Bound, the unit's organization filters them (and
    its copy answers); unbound (a cadence job), the copy of the organization the unit met
    answers when it has them all, and an id of another's person is read from the database."""
    org = await _org_with(sql_database, "ana", "dana")
    other = await _org_with(sql_database, "olga", name="Other")
    async with _in(sql_database, org)() as uow:
        ana, dana = await uow.people.find(order_by="handle")
    async with _in(sql_database, other)() as uow:
        (olga,) = await uow.people.find()
    statements.clear()
    async with _in(sql_database, org)() as uow:
        assert await uow.people.find(id=[dana.id, ana.id]) == [ana, dana]
        assert await uow.people.find(id=[ana.id, olga.id]) == [ana]  # never another's
    assert _loads(statements) == []
    statements.clear()
    async with sql_database.uow() as uow:  # unbound (a cadence job): from the one it met
        assert await uow.people.get(olga.id) == olga
        assert await uow.people.find(id=[olga.id]) == [olga]
        assert await uow.people.find(id=[olga.id, ana.id]) == [ana, olga]
    assert len(_loads(statements)) == 2  # the get that met Olga's organization; then Ana's


async def test_a_write_in_one_organization_reloads_nothing_of_another(
    sql_database: Database, statements: list[str]
) -> None:
    north = await _org_with(sql_database, "ana", "dana")
    south = await _org_with(sql_database, "sam", name="Southfield")
    for org in (north, south):  # both copies loaded
        async with _in(sql_database, org)() as uow:
            assert await uow.people.find()
            assert await uow.organizations.get(org) is not None
    async with sql_database.uow() as uow:  # a new user's first contact in South
        await uow.people.add(Person(organization_id=south, handle="new", name="New"))
        await uow.commit()
    statements.clear()
    async with _in(sql_database, north)() as uow:
        assert [p.handle for p in await uow.people.find(order_by="handle")] == ["ana", "dana"]
        assert (await uow.organizations.get(north)) is not None
    assert _loads(statements) == []  # North: its counters read, nothing reloaded
    assert len(statements) == 1
    async with _in(sql_database, south)() as uow:
        assert [p.handle for p in await uow.people.find(order_by="handle")] == ["new", "sam"]
    assert len(_loads(statements)) == 1  # South: its people, and only its people


async def test_a_process_keeps_the_organizations_it_used_last_and_reloads_another(
    sql_database: Database, statements: list[str]
) -> None:
    """A server holds a bounded number of organizations' copies (a thousand organizations held
    ~700 MB): the least recently used is dropped, and read again, correctly, when next needed."""
    orgs = [await _org_with(sql_database, f"p{n}", name=f"Org {n}") for n in range(3)]
    server = Database(sql_database.url, organizations_held=2)
    try:

        async def handles(org: int) -> list[str]:
            async with _in(server, org)() as uow:
                return [p.handle for p in await uow.people.find()]

        assert [await handles(org) for org in orgs] == [["p0"], ["p1"], ["p2"]]
        assert server.directory.held() == orgs[1:]  # the first was dropped for the third
        statements.clear()
        assert await handles(orgs[2]) == ["p2"]
        assert _loads(statements) == []  # held: its counters read, nothing loaded
        assert await handles(orgs[0]) == ["p0"]
        assert len(_loads(statements)) == 1  # dropped earlier: its people loaded again
        assert server.directory.held() == [orgs[2], orgs[0]]
    finally:
        await server.close()


async def test_a_child_row_written_by_plain_sql_is_seen_in_its_organization_only(
    sql_database: Database,
) -> None:
    north = await _org_with(sql_database, "ana")
    south = await _org_with(sql_database, "sam", name="Southfield")
    async with sql_database.uow() as uow:
        project = await uow.projects.add(Project(organization_id=north, key="APP", name="App"))
        space = await uow.workspaces.add(
            Workspace(organization_id=north, platform=Platform.SLACK, external_id="T1")
        )
        await uow.commit()
    for org in (north, south):
        async with _in(sql_database, org)() as uow:
            assert await uow.channels.find(project_id=project.id) == []
    async with sql_database.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO project_channels (project_id, workspace_id, channel_id) "
                f"VALUES ({project.id}, {space.id}, 'C1')"
            )
        )
    async with _in(sql_database, north)() as uow:
        found = await uow.channels.find(project_id=project.id)
        assert [c.channel_id for c in found] == ["C1"]
    async with _in(sql_database, south)() as uow:  # another organization's project: nothing
        assert await uow.channels.find(project_id=project.id) == []


async def test_lookups_before_any_organization_is_known_read_the_database(
    sql_database: Database, statements: list[str]
) -> None:
    org = await _org_with(sql_database, "ana")
    async with sql_database.uow() as uow:
        space = await uow.workspaces.add(
            Workspace(organization_id=org, platform=Platform.SLACK, external_id="T1")
        )
        ana = await uow.people.first(organization_id=org, handle="ana")
        assert ana is not None
        await uow.identities.add(
            Identity(person_id=ana.id, platform=Platform.SLACK, workspace_id=space.id, user_id="U1")
        )
        await uow.commit()
    statements.clear()
    async with sql_database.uow() as uow:  # identify: workspace, then identity
        found = await uow.workspaces.first(platform=Platform.SLACK, external_id="T1")
        assert found is not None
        identity = await uow.identities.first(workspace_id=found.id, user_id="U1")
        assert identity is not None and identity.person_id == ana.id
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 2  # two indexed reads: no counters, no organization's copy loaded
    assert all("WHERE" in s.upper() for s in reads)
    assert not any("directory_versions" in s for s in reads)


async def test_an_unbound_unit_answers_from_the_organization_it_met(
    sql_database: Database, statements: list[str]
) -> None:
    org = await _org_with(sql_database, "ana", "dana")
    async with _in(sql_database, org)() as uow:  # the organization's copy is loaded
        ana, dana = await uow.people.find(order_by="handle")
    statements.clear()
    async with sql_database.uow() as uow:  # a cadence job, working through an ask
        assert await uow.people.get(ana.id) == ana  # from the database: it meets the org
        assert await uow.people.get(dana.id) == dana
        assert await uow.identities.find(person_id=dana.id) == []
    assert len(_loads(statements)) == 2  # the first read; then dana's org's identities
