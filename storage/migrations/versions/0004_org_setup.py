"""Organization set-up: admins as a list, and one-time link codes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

An organization may have several admins (``org admin add|remove``): ``admin_ids`` replaces
``admin_person_id`` and starts as the admin it had, if any. ``link_codes`` holds the one-time
codes of ``org invite`` (a partner's workspace joins) and ``me link`` (another identity joins
its person), as SHA-256 hashes, with their expiry and their single use.

SQLite alters a table by re-creating it, which drops its triggers: the organizations table's
directory-version triggers (migration 0002) are re-created after. PostgreSQL alters in place.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVENTS = ("insert", "update", "delete")
_BUMP = "UPDATE directory_versions SET version = version + 1 WHERE name = 'organizations'"


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _drop_sqlite_triggers() -> None:
    for event in _EVENTS:
        op.execute(f"DROP TRIGGER IF EXISTS organizations_directory_version_{event}")


def _create_sqlite_triggers() -> None:
    for event in _EVENTS:
        op.execute(
            f"CREATE TRIGGER organizations_directory_version_{event} "
            f"AFTER {event.upper()} ON organizations BEGIN {_BUMP}; END"
        )


def upgrade() -> None:
    if _sqlite():
        _drop_sqlite_triggers()
    with op.batch_alter_table("organizations") as organizations:
        organizations.add_column(
            sa.Column("admin_ids", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    listed = (
        "json_build_array(admin_person_id)" if not _sqlite() else "json_array(admin_person_id)"
    )
    op.execute(f"UPDATE organizations SET admin_ids = {listed} WHERE admin_person_id IS NOT NULL")
    with op.batch_alter_table("organizations") as organizations:
        organizations.alter_column("admin_ids", server_default=None)
        organizations.drop_column("admin_person_id")
    if _sqlite():
        _create_sqlite_triggers()
    op.create_table(
        "link_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("code_hash", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_link_codes"),
        sa.UniqueConstraint("code_hash", name="uq_link_codes_code_hash"),
    )


def downgrade() -> None:
    op.drop_table("link_codes")
    if _sqlite():
        _drop_sqlite_triggers()
    with op.batch_alter_table("organizations") as organizations:
        organizations.add_column(sa.Column("admin_person_id", sa.Integer(), nullable=True))
    first = (
        "(admin_ids ->> 0)::integer" if not _sqlite() else "json_extract(admin_ids, '$[0]')"
    )
    op.execute(f"UPDATE organizations SET admin_person_id = {first}")
    with op.batch_alter_table("organizations") as organizations:
        organizations.drop_column("admin_ids")
    if _sqlite():
        _create_sqlite_triggers()
