"""Alembic environment: migrates on the connection storage.migrate.upgrade hands over, or, from
the alembic CLI, on a URL (``-x url=…``, ``DATABASE_URL`` or ``sqlalchemy.url``)."""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from storage.engine import create_engine, normalize_url
from storage.migrate import include_name
from storage.tables import METADATA

config = context.config


def _url() -> str:
    given = context.get_x_argument(as_dictionary=True).get("url")
    return given or os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url", "")


def _migrate(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Re-creating a table (batch mode) drops and renames tables that others reference,
        # which SQLite refuses while it enforces foreign keys. The pragma only takes effect
        # outside a transaction: this runs before the migration's first write opens one.
        # The migration's engine is disposed right after (storage.migrate), so no connection
        # with enforcement off ever serves the application.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        include_name=include_name,
        # SQLite cannot ALTER most things: later revisions rebuild tables in batch mode.
        render_as_batch=sqlite,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            _check_foreign_keys(connection)


def _check_foreign_keys(connection: Connection) -> None:
    """With enforcement off, a migration could leave a dangling reference: refuse to finish."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(
            f"the migration left {len(broken)} row(s) pointing at missing rows, first: "
            f"{tuple(broken[0])} (table, rowid, referred table, constraint)"
        )


async def _migrate_url(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate)
    finally:
        await engine.dispose()


given_connection = config.attributes.get("connection")
if given_connection is not None:
    _migrate(given_connection)
else:
    # Only the CLI configures logging; the application keeps its own.
    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    if context.is_offline_mode():
        context.configure(
            url=normalize_url(_url()),
            target_metadata=METADATA,
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},
        )
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_migrate_url(_url()))
