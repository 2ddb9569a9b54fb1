"""Migration 0004 on a database that has data: each organization's admin becomes its one-item
``admin_ids`` and the directory-version triggers still count organization writes (SQLite
re-creates the table to drop a column, which drops its triggers)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import create_engine, normalize_url
from storage.migrate import upgrade
from tests.conftest import POSTGRES_URL, _admin


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of this test's own."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("LEADERBOT_TEST_POSTGRES_URL is unset")
    name = f"leaderbot_m0004_{os.getpid()}"
    await _admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    yield normalize_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    await _admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_admins_become_a_list_and_organizations_stay_counted(fresh_url: str) -> None:
    await upgrade(fresh_url, "0003")
    engine = create_engine(fresh_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO organizations (id, name, admin_person_id) "
                    "VALUES (1, 'With admin', 7), (2, 'Without', NULL)"
                )
            )
        await engine.dispose()
        await upgrade(fresh_url, "0011")  # the per-table counters of 0002
        engine = create_engine(fresh_url)
        version = "SELECT version FROM directory_versions WHERE name = 'organizations'"
        async with engine.begin() as connection:
            rows = (
                await connection.execute(
                    text("SELECT id, admin_ids FROM organizations ORDER BY id")
                )
            ).all()
            before = (await connection.execute(text(version))).scalar_one()
            await connection.execute(text("UPDATE organizations SET name = 'Renamed' WHERE id = 2"))
            after = (await connection.execute(text(version))).scalar_one()
        admins = [(id, a if isinstance(a, list) else json.loads(a)) for id, a in rows]
        assert admins == [(1, [7]), (2, [])]
        assert after > before
    finally:
        await engine.dispose()
