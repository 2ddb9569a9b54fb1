"""Directory versions per organization: a counter per (directory table, organization).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

Migration 0002 gave each directory table one counter, so any write anywhere (a new user's first
contact in any of a thousand organizations) made every process reload that whole table, every
organization's rows. Each process now keeps a copy per organization (storage/directory.py), and
a trigger bumps the counter of the organization the written row belongs to: its own
``organization_id`` (the organization's ``id``), or its parent's for a table that has none
(identities through their person, project channels, stakeholders and RACI entries through their
project). An update that moves a row to another organization bumps both. A counter row is
created by the first write that needs it; a missing one reads as 0 (nothing written since this
migration, and the copy loaded at 0 holds what there is).

Triggers rather than application code, as in 0002, so every writer counts. PostgreSQL runs them
once per statement with the changed rows as transition tables (a bulk import bumps each
organization once); SQLite once per row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNERS: dict[str, tuple[str, str | None]] = {
    "organizations": ("id", None),
    "workspaces": ("organization_id", None),
    "people": ("organization_id", None),
    "identities": ("person_id", "people"),
    "projects": ("organization_id", None),
    "project_channels": ("project_id", "projects"),
    "stakeholders": ("project_id", "projects"),
    "raci_entries": ("project_id", "projects"),
    "delegations": ("organization_id", None),
}
"""Each directory table's owner: (column, the table it points at, or None when the column is the
organization itself), as storage.directory.SCOPES was when this revision was written."""

_EVENTS = ("insert", "update", "delete")

_UPSERT = (
    "INSERT INTO directory_versions (name, organization_id, version) {owners} "
    "ON CONFLICT (organization_id, name) DO UPDATE SET version = directory_versions.version + 1"
)

_POSTGRES_BUMP = (
    "CREATE FUNCTION bump_directory_versions() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "DECLARE changed text; owners text; BEGIN "
    "IF TG_OP = 'TRUNCATE' THEN "
    "UPDATE directory_versions SET version = version + 1 WHERE name = TG_TABLE_NAME; "
    "RETURN NULL; END IF; "
    "changed := CASE TG_OP WHEN 'INSERT' THEN 'SELECT * FROM new_rows' "
    "WHEN 'DELETE' THEN 'SELECT * FROM old_rows' "
    "ELSE 'SELECT * FROM new_rows UNION ALL SELECT * FROM old_rows' END; "
    "IF TG_ARGV[1] = '' THEN "
    "owners := format('SELECT DISTINCT %L, c.%I, 1 FROM (%s) AS c WHERE c.%I IS NOT NULL', "
    "TG_TABLE_NAME, TG_ARGV[0], changed, TG_ARGV[0]); "
    "ELSE "
    "owners := format('SELECT DISTINCT %L, p.organization_id, 1 FROM (%s) AS c "
    "JOIN %I AS p ON p.id = c.%I', TG_TABLE_NAME, changed, TG_ARGV[1], TG_ARGV[0]); "
    "END IF; "
    "EXECUTE format('" + _UPSERT.format(owners="%s") + "', owners); "
    "RETURN NULL; END $$"
)
"""One function for every table: the trigger's arguments name the owner column and the parent
table ('' when the column is the organization)."""


def _sqlite_owners(table: str, event: str) -> str:
    column, parent = OWNERS[table]
    rows = {"insert": ("NEW",), "update": ("NEW", "OLD"), "delete": ("OLD",)}[event]
    if parent is None:
        union = " UNION ".join(f"SELECT {row}.{column} AS o" for row in rows)
        return f"SELECT '{table}', o, 1 FROM ({union}) WHERE o IS NOT NULL"
    ids = ", ".join(f"{row}.{column}" for row in rows)
    return f"SELECT '{table}', organization_id, 1 FROM {parent} WHERE id IN ({ids})"


def _create_per_organization() -> None:
    op.create_table(
        "directory_versions",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        # Organization first: every unit of work reads one organization's counters.
        sa.PrimaryKeyConstraint("organization_id", "name", name="pk_directory_versions"),
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute(_POSTGRES_BUMP)
        for table, (column, parent) in OWNERS.items():
            arguments = f"'{column}', '{parent or ''}'"
            for event, transition in (
                ("insert", "NEW TABLE AS new_rows"),
                ("update", "NEW TABLE AS new_rows OLD TABLE AS old_rows"),
                ("delete", "OLD TABLE AS old_rows"),
            ):
                op.execute(
                    f"CREATE TRIGGER {table}_directory_{event} AFTER {event.upper()} ON {table} "
                    f"REFERENCING {transition} FOR EACH STATEMENT "
                    f"EXECUTE FUNCTION bump_directory_versions({arguments})"
                )
            op.execute(
                f"CREATE TRIGGER {table}_directory_truncate AFTER TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_versions({arguments})"
            )
        return
    for table in OWNERS:
        for event in _EVENTS:
            upsert = _UPSERT.format(owners=_sqlite_owners(table, event))
            op.execute(
                f"CREATE TRIGGER {table}_directory_{event} AFTER {event.upper()} ON {table} "
                f"BEGIN {upsert}; END"
            )


def _drop_per_organization() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in OWNERS:
            for event in (*_EVENTS, "truncate"):
                op.execute(f"DROP TRIGGER {table}_directory_{event} ON {table}")
        op.execute("DROP FUNCTION bump_directory_versions()")
    else:
        for table in OWNERS:
            for event in _EVENTS:
                op.execute(f"DROP TRIGGER {table}_directory_{event}")
    op.drop_table("directory_versions")


def _create_per_table() -> None:
    """Migration 0002's counters and triggers, as 0009 left them."""
    versions = op.create_table(
        "directory_versions",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_directory_versions"),
    )
    op.bulk_insert(versions, [{"name": table, "version": 1} for table in OWNERS])
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION bump_directory_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN UPDATE directory_versions SET version = version + 1 "
            "WHERE name = TG_TABLE_NAME; RETURN NULL; END $$"
        )
        for table in OWNERS:
            op.execute(
                f"CREATE TRIGGER {table}_directory_version "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version()"
            )
        return
    for table in OWNERS:
        bump = f"UPDATE directory_versions SET version = version + 1 WHERE name = '{table}'"
        for event in _EVENTS:
            op.execute(
                f"CREATE TRIGGER {table}_directory_version_{event} "
                f"AFTER {event.upper()} ON {table} BEGIN {bump}; END"
            )


def _drop_per_table() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in OWNERS:
            op.execute(f"DROP TRIGGER {table}_directory_version ON {table}")
        op.execute("DROP FUNCTION bump_directory_version()")
    else:
        for table in OWNERS:
            for event in _EVENTS:
                op.execute(f"DROP TRIGGER {table}_directory_version_{event}")
    op.drop_table("directory_versions")


def upgrade() -> None:
    _drop_per_table()
    _create_per_organization()


def downgrade() -> None:
    _drop_per_organization()
    _create_per_table()
