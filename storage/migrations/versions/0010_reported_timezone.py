"""The zone a platform last reported for an identity: ``identities.reported_timezone``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

Teams sends the user's ``localTimezone`` with every activity. Taking it every time overwrote a
zone the person had chosen with ``me timezone`` on their next message. With the last reported
zone kept per identity, the person's timezone follows Teams only when Teams reports a different
zone (first contact, or the user's device moved).

Until now a Teams person's timezone followed every message, so a Teams identity's last reported
zone is taken to be its person's timezone; other identities start with none ("").

(Written with ``down_revision = "0008"`` per its task; chained after 0009 on this branch so the
branch has one head.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN on both backends: SQLite keeps the table, so its triggers stay.
    op.add_column(
        "identities",
        sa.Column("reported_timezone", sa.Text(), nullable=False, server_default=sa.text("''")),
    )
    op.execute(
        "UPDATE identities SET reported_timezone = "
        "(SELECT timezone FROM people WHERE people.id = identities.person_id) "
        "WHERE platform = 'teams'"
    )


def downgrade() -> None:
    with op.batch_alter_table("identities") as identities:
        identities.drop_column("reported_timezone")
    if op.get_context().dialect.name == "sqlite":  # the re-created table lost its triggers
        bump = "UPDATE directory_versions SET version = version + 1 WHERE name = 'identities'"
        for event in ("insert", "update", "delete"):
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS identities_directory_version_{event} "
                f"AFTER {event.upper()} ON identities BEGIN {bump}; END"
            )
