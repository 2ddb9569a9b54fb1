"""Migration 0009, foreign keys: the migrated schema refuses a row that points at nothing, on
SQLite and PostgreSQL; rows that already did are cleaned or stop the migration as its docstring
says; and it goes down and up again with the directory-version triggers intact."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.model import Organization, Person, Project
from storage.database import Database
from storage.engine import create_engine, normalize_url
from storage.migrate import alembic_config, upgrade
from tests.conftest import POSTGRES_URL, _admin


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of this test's own."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("LEADERBOT_TEST_POSTGRES_URL is unset")
    name = f"leaderbot_m0009_{os.getpid()}"
    await _admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    yield normalize_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    await _admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _sql(url: str, *statements: str) -> list[list[tuple[object, ...]]]:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            results = []
            for statement in statements:
                result = await connection.execute(text(statement))
                results.append([tuple(row) for row in result] if result.returns_rows else [])
            return results
    finally:
        await engine.dispose()


async def _downgrade(url: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(
                lambda sync: command.downgrade(alembic_config(sync), revision)
            )
    finally:
        await engine.dispose()


async def _version(url: str) -> str:
    ((row,),) = await _sql(url, "SELECT version_num FROM alembic_version")
    return str(row[0])


async def test_the_migrated_schema_refuses_a_row_that_points_at_nothing(fresh_url: str) -> None:
    await upgrade(fresh_url)
    db = Database(fresh_url)
    uow = db.uow
    try:
        async with uow() as work:
            organization = await work.organizations.add(Organization(name="Trust"))
            await work.people.add(Person(organization_id=organization.id, handle="a", name="A"))
            await work.commit()
        async with uow() as work:
            with pytest.raises(IntegrityError):
                await work.projects.add(
                    Project(organization_id=organization.id + 1, key="X", name="X")
                )
        async with uow() as work:
            assert await work.projects.count() == 0
    finally:
        await db.close()


DIRECTORY_WRITE = (
    "INSERT INTO organizations (name, admin_ids) VALUES ('Later', '[]')",
    "SELECT version FROM directory_versions WHERE name = 'organizations'",
)


async def test_down_and_up_again_keeps_the_keys_and_the_directory_counters(
    fresh_url: str,
) -> None:
    await upgrade(fresh_url)
    await _downgrade(fresh_url, "0008")
    assert await _version(fresh_url) == "0008"
    await _sql(
        fresh_url,
        "INSERT INTO projects (organization_id, key, name, aim, scope, "
        "measures, priority, status) VALUES (7, 'K', 'K', '', '', '', '', 'active')",
    )
    await _sql(fresh_url, "DELETE FROM projects")  # without the keys, an orphan was accepted
    await upgrade(fresh_url, "0011")  # the per-table counters 0009 re-created
    assert await _version(fresh_url) != "0008"
    with pytest.raises(IntegrityError):
        await _sql(
            fresh_url,
            "INSERT INTO projects (organization_id, key, name, aim, scope, "
            "measures, priority, status) VALUES (7, 'K', 'K', '', '', '', '', 'active')",
        )
    ((before,),) = (await _sql(fresh_url, DIRECTORY_WRITE[1]))[0]
    ((after,),) = (await _sql(fresh_url, *DIRECTORY_WRITE))[1]
    assert after == before + 1  # the re-created tables still count their writes


async def test_orphans_are_cleaned_where_nothing_is_lost(fresh_url: str) -> None:
    await upgrade(fresh_url, "0008")
    await _sql(
        fresh_url,
        "INSERT INTO organizations (id, name, admin_ids, escalation_contact_id) "
        "VALUES (1, 'Trust', '[]', 41)",
        "INSERT INTO audit_events (organization_id, actor_id, action, subject, detail, platform,"
        " at) VALUES (1, 42, 'x', 'y', '', '', '2026-12-01 10:00:00')",
        "INSERT INTO link_codes (kind, code_hash, organization_id, created_by_id, created_at,"
        " expires_at) VALUES ('org_invite', 'h', 9, 43, '2026-12-01 10:00:00',"
        " '2026-12-02 10:00:00')",
    )
    await upgrade(fresh_url)
    contact, actors, codes = await _sql(
        fresh_url,
        "SELECT escalation_contact_id FROM organizations",
        "SELECT actor_id FROM audit_events",
        "SELECT count(*) FROM link_codes",
    )
    assert (contact, actors, codes) == ([(None,)], [(None,)], [(0,)])


async def test_an_orphan_that_is_real_data_stops_the_migration_and_changes_nothing(
    fresh_url: str,
) -> None:
    await upgrade(fresh_url, "0008")
    await _sql(
        fresh_url,
        "INSERT INTO organizations (id, name, admin_ids) VALUES (1, 'Trust', '[]')",
        "INSERT INTO audit_events (organization_id, actor_id, action, subject, detail, platform,"
        " at) VALUES (1, 42, 'x', 'y', '', '', '2026-12-01 10:00:00')",
        "INSERT INTO people (organization_id, handle, name, email, timezone, work_start,"
        " work_end) VALUES (5, 'lost', 'Lost', '', 'UTC', '08:00:00', '18:00:00')",
    )
    with pytest.raises(RuntimeError, match=r"people\.organization_id: 1 row"):
        await upgrade(fresh_url)
    assert await _version(fresh_url) == "0008"
    (actors,) = await _sql(fresh_url, "SELECT actor_id FROM audit_events")
    assert actors == [(42,)]
