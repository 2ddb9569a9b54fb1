"""Foreign keys: every reference column names the row it points at, and the database enforces it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Until now an ``organization_id`` or a ``person_id`` was a bare integer: a bug could leave a row
pointing at an organization that no longer exists, or at another tenant's project, and nothing
would say so. With these constraints such a write fails at once, on SQLite as on PostgreSQL
(storage/engine.py turns ``PRAGMA foreign_keys`` on for every SQLite connection).

Rows that already point at nothing are handled before the constraints are added:
- a nullable reference that points at nothing (who used a link code, who decided for whom, an
  audit event's actor, an outbox message's person or project) is set to NULL: what it named is
  already gone, and the row itself (the audit trail, a message) is worth keeping;
- a link code whose organization or creator is gone is deleted: a spent or useless one-time
  code, never data anyone reads;
- any other row that points at nothing stops the migration with the table, column and number of
  rows, and changes nothing: such a row is real data (an ask, a person) whose owner is missing,
  and deciding what it belonged to is for a person, not a migration.

SQLite adds a constraint by re-creating the table (batch mode, with enforcement off for the
migration: storage/migrations/env.py), which drops its triggers: the directory-version triggers
of migration 0002 are re-created after. PostgreSQL adds the constraints in place.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFERENCES: dict[str, dict[str, str]] = {
    "organizations": {"escalation_contact_id": "people"},
    "link_codes": {
        "organization_id": "organizations",
        "created_by_id": "people",
        "used_by_id": "people",
    },
    "workspaces": {"organization_id": "organizations"},
    "people": {"organization_id": "organizations"},
    "identities": {"person_id": "people", "workspace_id": "workspaces"},
    "projects": {"organization_id": "organizations"},
    "project_channels": {"project_id": "projects", "workspace_id": "workspaces"},
    "stakeholders": {"project_id": "projects", "person_id": "people"},
    "raci_entries": {"project_id": "projects", "person_id": "people"},
    "delegations": {
        "organization_id": "organizations",
        "delegator_id": "people",
        "delegate_id": "people",
    },
    "asks": {
        "organization_id": "organizations",
        "project_id": "projects",
        "requester_id": "people",
        "assignee_id": "people",
        "decided_by_id": "people",
        "on_behalf_of_id": "people",
    },
    "blockers": {
        "organization_id": "organizations",
        "project_id": "projects",
        "reporter_id": "people",
    },
    "updates": {"project_id": "projects", "author_id": "people"},
    "measures": {"project_id": "projects"},
    "observations": {"measure_id": "measures"},
    "reviews": {
        "project_id": "projects",
        "measure_id": "measures",
        "observation_id": "observations",
        "sponsor_id": "people",
    },
    "decisions": {
        "organization_id": "organizations",
        "project_id": "projects",
        "decided_by_id": "people",
        "on_behalf_of_id": "people",
    },
    "cadence_preferences": {"person_id": "people"},
    "feedback": {"person_id": "people"},
    "threads": {"workspace_id": "workspaces"},
    "audit_events": {"organization_id": "organizations", "actor_id": "people"},
    "outbox": {
        "organization_id": "organizations",
        "workspace_id": "workspaces",
        "person_id": "people",
        "project_id": "projects",
    },
}
"""Table → reference column → the table whose ``id`` it holds (storage/tables.py declares the
same)."""

NULLABLE: frozenset[tuple[str, str]] = frozenset(
    {
        ("organizations", "escalation_contact_id"),
        ("link_codes", "used_by_id"),
        ("asks", "decided_by_id"),
        ("asks", "on_behalf_of_id"),
        ("decisions", "on_behalf_of_id"),
        ("audit_events", "actor_id"),
        ("outbox", "person_id"),
        ("outbox", "project_id"),
    }
)
"""The reference columns that may be NULL: one that points at nothing is set to NULL."""

ON_DELETE = {("organizations", "escalation_contact_id"): "SET NULL"}
"""An organization outlives its executive (the top rung is then empty, and its admins are told
when a blocker reaches it); every other reference refuses a delete that would leave it dangling."""

DIRECTORY_TABLES = (
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
"""The tables migration 0002 gave directory-version triggers."""

_EVENTS = ("insert", "update", "delete")


def _name(table: str, column: str, target: str) -> str:
    return f"fk_{table}_{column}_{target}"


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _dangling(table: str, column: str, target: str) -> str:
    return f"{column} IS NOT NULL AND {column} NOT IN (SELECT id FROM {target})"


def _clean_orphans() -> None:
    """What the module docstring promises: NULL, delete, or stop with a clear message."""
    codes = REFERENCES["link_codes"]
    spent = " OR ".join(
        f"({_dangling('link_codes', column, target)})"
        for column, target in codes.items()
        if ("link_codes", column) not in NULLABLE
    )
    op.execute(f"DELETE FROM link_codes WHERE {spent}")
    for table, columns in REFERENCES.items():
        for column, target in columns.items():
            if (table, column) in NULLABLE:
                op.execute(
                    f"UPDATE {table} SET {column} = NULL "
                    f"WHERE {_dangling(table, column, target)}"
                )
    bind = op.get_bind()
    found = []
    for table, columns in REFERENCES.items():
        for column, target in columns.items():
            count = bind.exec_driver_sql(
                f"SELECT count(*) FROM {table} WHERE {_dangling(table, column, target)}"
            ).scalar_one()
            if count:
                found.append(f"{table}.{column}: {count} row(s) name a missing {target} row")
    if found:
        raise RuntimeError(
            "Cannot add foreign keys (migration 0009): some rows point at rows that do not "
            "exist, and deleting them could lose real data. Nothing was changed. Fix or remove "
            "these rows, then run `leaderbot db upgrade` again:\n  " + "\n  ".join(found)
        )


def _create_sqlite_triggers(tables: Sequence[str]) -> None:
    for table in tables:
        bump = f"UPDATE directory_versions SET version = version + 1 WHERE name = '{table}'"
        for event in _EVENTS:
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_directory_version_{event} "
                f"AFTER {event.upper()} ON {table} BEGIN {bump}; END"
            )


def upgrade() -> None:
    _clean_orphans()
    if not _sqlite():
        # The organization ↔ executive cycle is fine here: both tables already exist.
        for table, columns in REFERENCES.items():
            for column, target in columns.items():
                op.create_foreign_key(
                    _name(table, column, target),
                    table,
                    target,
                    [column],
                    ["id"],
                    ondelete=ON_DELETE.get((table, column)),
                )
        return
    for table, columns in REFERENCES.items():
        with op.batch_alter_table(table, recreate="always") as batch:
            for column, target in columns.items():
                batch.create_foreign_key(
                    _name(table, column, target),
                    target,
                    [column],
                    ["id"],
                    ondelete=ON_DELETE.get((table, column)),
                )
    _create_sqlite_triggers(DIRECTORY_TABLES)


def downgrade() -> None:
    for table, columns in REFERENCES.items():
        if not _sqlite():
            for column, target in columns.items():
                op.drop_constraint(_name(table, column, target), table, type_="foreignkey")
            continue
        with op.batch_alter_table(table, recreate="always") as batch:
            for column, target in columns.items():
                batch.drop_constraint(_name(table, column, target), type_="foreignkey")
    if _sqlite():
        _create_sqlite_triggers(DIRECTORY_TABLES)
