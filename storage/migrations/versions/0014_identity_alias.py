"""A Teams user's other id, stored on their identity: ``identities.alias``.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

Leaderbot knows a Teams user by their AAD object id; a mention carries only their Bot Framework
id (``29:…``). The adapter kept the pairs it had seen in memory, so after a restart (or on a
second server process) every mention of a known person cost a ``TeamsInfo.get_member`` call on
every message until that person wrote again (issue #14). The alias is stored on the identity,
with an index on (workspace, alias), so a mention finds the person in the database. Existing
rows start with "": each Teams identity gets its alias the next time its user writes, or is
mentioned and looked up once more.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN on both backends: SQLite keeps the table, so its directory triggers
    # stay (docs/schema.md).
    op.add_column(
        "identities",
        sa.Column("alias", sa.Text(), nullable=False, server_default=sa.text("''")),
    )
    op.create_index("ix_identities_workspace_id_alias", "identities", ["workspace_id", "alias"])


def downgrade() -> None:
    op.drop_index("ix_identities_workspace_id_alias", table_name="identities")
    # DROP COLUMN in place (SQLite ≥ 3.35 too): no table re-created, so no trigger lost.
    op.execute("ALTER TABLE identities DROP COLUMN alias")
