"""Two servers starting together on an empty PostgreSQL both come up (issue 11 §10).

Without the advisory lock both runs create the same tables at once and one fails with a
duplicate-table or unique-violation error (or
the two wait on each other); with it the second waits and finds nothing to do.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import inspect, text

from storage.engine import create_engine, normalize_url
from storage.migrate import upgrade
from storage.tables import METADATA
from tests.conftest import POSTGRES_URL, _admin

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="LEADERBOT_TEST_POSTGRES_URL is unset")


@pytest.fixture
async def fresh_postgres() -> AsyncIterator[str]:
    """An empty PostgreSQL database of this test's own (not the session's migrated one)."""
    name = f"leaderbot_migrate_{os.getpid()}"
    await _admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    yield normalize_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    await _admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_two_concurrent_upgrades_on_an_empty_database_both_succeed(
    fresh_postgres: str,
) -> None:
    async with asyncio.timeout(120):  # unlocked, the two runs can also wait on each other
        results = await asyncio.gather(
            upgrade(fresh_postgres), upgrade(fresh_postgres), return_exceptions=True
        )

    assert results == [None, None]
    engine = create_engine(fresh_postgres)
    try:
        async with engine.connect() as connection:
            tables = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
            heads = list(await connection.scalars(text("SELECT version_num FROM alembic_version")))
    finally:
        await engine.dispose()
    assert set(METADATA.tables) <= tables
    assert len(heads) == 1
