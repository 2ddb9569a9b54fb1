"""Shared fixtures: the storage backends every service and repository test runs on.

``uow_factory`` runs a test on the in-memory fake, on SQLite and, when
``LEADERBOT_TEST_POSTGRES_URL`` is set, on PostgreSQL; ``sql_uow_factory`` / ``sql_database``
only on the SQL backends. Each schema is migrated once per test session (the same Alembic path
production takes); every test then starts from empty tables: SQLite copies a migrated template
file, PostgreSQL empties the tables a test used in a throwaway database made for the session.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from bot.ports import UnitOfWorkFactory
from storage.database import Database
from storage.engine import normalize_url
from storage.migrate import upgrade
from storage.tables import METADATA
from tests.fakes import make_memory_uow_factory

# In CI, property tests draw the same examples every run (a red build is reproducible, never a
# coin toss) and do not time individual examples on a loaded 2-core machine.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

POSTGRES_URL = os.environ.get("LEADERBOT_TEST_POSTGRES_URL", "")
SQL_BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=pytest.mark.skipif(not POSTGRES_URL, reason="LEADERBOT_TEST_POSTGRES_URL is unset"),
    ),
]
USED_SEQUENCES = text(
    "SELECT sequencename FROM pg_sequences"
    " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
)


async def _empty_used_tables(connection: AsyncConnection) -> None:
    """Empties every table of ours whose id sequence has moved, and restarts the sequence.

    Sequences move on every insert, committed or not, so they tell which few tables a test
    touched. One DELETE per table in a single statement is ~10x faster than TRUNCATE, which
    costs ~8 ms a table even when it is empty.
    """
    used = set(await connection.scalars(USED_SEQUENCES))
    tables = [name for name in METADATA.tables if f"{name}_id_seq" in used]
    if tables:
        deletes = ", ".join(f"{name} AS (DELETE FROM {name})" for name in tables)
        restarts = ", ".join(f"setval('{name}_id_seq', 1, false)" for name in tables)
        await connection.execute(text(f"WITH {deletes} SELECT {restarts}"))


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Runs session setup on its own loop in a thread: pytest-asyncio's loops are per test."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


async def _admin(url: str, *statements: str) -> None:
    """CREATE/DROP DATABASE, which PostgreSQL refuses inside a transaction."""
    engine = create_async_engine(
        normalize_url(url), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (faster than migrating per test)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    _run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """URL of a migrated PostgreSQL database of this test session's own, dropped at the end."""
    if not POSTGRES_URL:
        pytest.skip("LEADERBOT_TEST_POSTGRES_URL is unset")
    server = normalize_url(POSTGRES_URL)
    name = f"leaderbot_test_{os.getpid()}"
    _run(_admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    _run(upgrade(url))
    yield url
    _run(_admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@asynccontextmanager
async def _empty_database(backend: str, request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    if backend == "sqlite":
        path = request.getfixturevalue("tmp_path") / "leaderbot.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite+aiosqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("postgres_database"))
        async with database.engine.begin() as connection:
            await _empty_used_tables(connection)
    async with database:
        yield database


@pytest.fixture(params=SQL_BACKENDS)
async def sql_database(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """A migrated, empty database (SQLite, and PostgreSQL when configured)."""
    async with _empty_database(request.param, request) as database:
        yield database


@pytest.fixture
def sql_uow_factory(sql_database: Database) -> UnitOfWorkFactory:
    return sql_database.uow


@pytest.fixture(params=["memory", *SQL_BACKENDS])
async def uow_factory(request: pytest.FixtureRequest) -> AsyncIterator[UnitOfWorkFactory]:
    """Units of work on empty storage: the in-memory fake, SQLite, PostgreSQL when configured."""
    if request.param == "memory":
        yield make_memory_uow_factory()
        return
    async with _empty_database(request.param, request) as database:
        yield database.uow
