"""Bringing a database to the latest schema: ``alembic upgrade head``, from code (DESIGN §6).

Migrations are the only way the schema is created or changed. The Alembic files ship inside
this package, so this works from any working directory and from an installed wheel.

On PostgreSQL the upgrade holds an advisory lock for its whole transaction: two servers starting
together on an empty database would otherwise both try to create the schema, and one would exit.
With the lock the second waits, then finds the schema current and has nothing to do.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.engine import create_engine
from storage.tables import METADATA

ALEMBIC_INI = Path(__file__).resolve().with_name("alembic.ini")

MIGRATION_LOCK = 0x1EADB07
"""The PostgreSQL advisory lock key every Leaderbot migration run takes (any fixed bigint)."""


def alembic_config(connection: Connection | None = None) -> Config:
    """The package's Alembic configuration; with ``connection``, env.py migrates on it."""
    config = Config(str(ALEMBIC_INI))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Leave other tables in the same database alone (slack_sdk's installation and OAuth
    state stores keep theirs there), so autogenerate never proposes dropping them."""
    return type_ != "table" or name in METADATA.tables


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (the latest by default)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Released at commit or rollback, so a crashed run never leaves it held.
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
    finally:
        await engine.dispose()
