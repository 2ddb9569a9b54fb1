"""Directory versions: a counter per directory table, bumped by a trigger on every write.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Each server process keeps the directory tables (who is who, what routes where) in memory
(storage/directory.py). These counters tell it, in one small read, which tables another writer
changed. Triggers rather than application code bump them, so every writer counts: another
server process, the CLI, a future migration, an administrator's SQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "organizations",
    "workspaces",
    "people",
    "identities",
    "projects",
    "project_channels",
    "stakeholders",
    "raci_entries",
    "delegations",
)
"""storage.directory.DIRECTORY's tables, as they were when this revision was written."""

_BUMP = "UPDATE directory_versions SET version = version + 1 WHERE name = '{table}'"


def upgrade() -> None:
    versions = op.create_table(
        "directory_versions",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_directory_versions"),
    )
    op.bulk_insert(versions, [{"name": table, "version": 1} for table in TABLES])
    if op.get_context().dialect.name == "postgresql":
        # Once per statement, not per row: a bulk import bumps the counter once.
        op.execute(
            "CREATE FUNCTION bump_directory_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN UPDATE directory_versions SET version = version + 1 "
            "WHERE name = TG_TABLE_NAME; RETURN NULL; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_directory_version "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version()"
            )
        return
    for table in TABLES:  # SQLite: row triggers only
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_directory_version_{event.lower()} "
                f"AFTER {event} ON {table} BEGIN {_BUMP.format(table=table)}; END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_directory_version ON {table}")
        op.execute("DROP FUNCTION bump_directory_version()")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_directory_version_{event}")
    op.drop_table("directory_versions")
