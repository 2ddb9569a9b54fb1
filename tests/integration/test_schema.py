"""The schema is declared once (``storage/tables.py``, derived from ``bot.model``) and the Alembic
migrations build exactly it, on SQLite and PostgreSQL.

Two checks on an empty database migrated to head: Alembic's own comparison with the tables
(columns, types, nullability, server defaults, indexes, uniques, foreign keys and their
``ON DELETE``), and the whole reflected schema against a second empty database made from the
tables by ``create_all``, which also sees what Alembic does not compare: partial-index
predicates (``uq_raci_entries_one_accountable`` holds the one-Accountable rule by its
``WHERE``) and CHECK constraints.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import ReflectedIndex

from storage.engine import create_engine, normalize_url
from storage.migrate import include_name, upgrade
from storage.tables import METADATA
from tests.conftest import POSTGRES_URL, _admin

Schema = dict[str, dict[str, Any]]

EmptyDatabase = Callable[[str], AbstractAsyncContextManager[str]]
"""Makes an empty database, by name, and drops it after: ``async with empty("a") as url``."""


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> EmptyDatabase:
    """Empty databases of this test's own, on the test's backend."""
    if request.param == "postgresql" and not POSTGRES_URL:
        pytest.skip("LEADERBOT_TEST_POSTGRES_URL is unset")

    @asynccontextmanager
    async def empty(name: str) -> AsyncIterator[str]:
        if request.param == "sqlite":
            yield f"sqlite+aiosqlite:///{tmp_path / name}.db"
            return
        database = f"leaderbot_schema_{name}_{os.getpid()}"
        await _admin(
            POSTGRES_URL, f'DROP DATABASE IF EXISTS "{database}"', f'CREATE DATABASE "{database}"'
        )
        try:
            yield (
                normalize_url(POSTGRES_URL)
                .set(database=database)
                .render_as_string(hide_password=False)
            )
        finally:
            await _admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    return empty


def _alembic_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={"include_name": include_name, "compare_type": True, "compare_server_default": True},
    )
    return list(compare_metadata(context, METADATA))


def _reflected(connection: Connection) -> Schema:
    """Every table of ours as the database describes it, in a comparable form."""
    inspector = inspect(connection)

    def where(index: ReflectedIndex) -> dict[str, str]:
        return {key: str(value) for key, value in index.get("dialect_options", {}).items()}

    return {
        table: {
            "columns": sorted(
                (c["name"], str(c["type"]), c["nullable"], str(c["default"]))
                for c in inspector.get_columns(table)
            ),
            "primary key": inspector.get_pk_constraint(table),
            "foreign keys": sorted(
                (f["name"], f["constrained_columns"], f["referred_table"], f["options"])
                for f in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (i["name"], i["column_names"], bool(i["unique"]), where(i))
                for i in inspector.get_indexes(table)
            ),
            "uniques": sorted(
                (u["name"], u["column_names"]) for u in inspector.get_unique_constraints(table)
            ),
            "checks": sorted(
                (c["name"], c["sqltext"]) for c in inspector.get_check_constraints(table)
            ),
        }
        for table in sorted(inspector.get_table_names())
        if include_name(table, "table", {})
    }


async def _run(url: str, work: Callable[[Connection], Any]) -> Any:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


async def test_the_migrations_build_exactly_the_declared_schema(
    empty_database: EmptyDatabase,
) -> None:
    async with empty_database("migrated") as migrated, empty_database("declared") as declared:
        await upgrade(migrated)
        await _run(declared, METADATA.create_all)

        assert await _run(migrated, _alembic_differences) == []
        built = await _run(migrated, _reflected)
        assert set(built) == set(METADATA.tables)
        assert built == await _run(declared, _reflected)
