"""A Teams user's other id, stored on their identity: ``identities.alias``.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

Leaderbot knows a Teams user by their AAD object id; a mention carries only their Bot Framework
id (``29:…``). The adapter kept the pairs it had seen in memory, so after a restart (or on a
second server process) every mention of a known person cost a ``TeamsInfo.get_member`` call on
every message until that person wrote again (issue #14). The alias is stored on the identity,
with an index on (workspace, alias), so a mention finds the person in the database.

Existing Teams identities get the alias their stored personal conversation reference names: its
``user.id``, the Bot Framework id the user wrote from, when it differs from ``user_id`` (parsed
here, in Python, so both backends read it the same way; a reference that is not such JSON gives
none). An alias two identities of one workspace would share is given to neither, so a mention
never finds the wrong person: it is looked up once, as before. Every other identity starts with
"" and gets its alias when its user next writes, or from the one look-up its first mention costs.
"""

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sender(reference: str) -> str:
    """The Bot Framework id of the user in a stored Teams reference; "" when there is none."""
    try:
        parsed: Any = json.loads(reference)
    except ValueError:
        return ""
    user = parsed.get("user") if isinstance(parsed, dict) else None
    found = user.get("id") if isinstance(user, dict) else None
    return found if isinstance(found, str) else ""


def upgrade() -> None:
    # A plain ADD COLUMN on both backends: SQLite keeps the table, so its directory triggers
    # stay (docs/schema.md). The fill below bumps the identities' counters, which is true.
    op.add_column(
        "identities",
        sa.Column("alias", sa.Text(), nullable=False, server_default=sa.text("''")),
    )
    connection = op.get_bind()
    teams = connection.execute(
        sa.text(
            "SELECT id, workspace_id, user_id, conversation_ref FROM identities "
            "WHERE platform = 'teams' AND conversation_ref IS NOT NULL"
        )
    ).all()
    found = [
        (row.id, row.workspace_id, alias)
        for row in teams
        if (alias := _sender(row.conversation_ref)) and alias != row.user_id
    ]
    shared = Counter((workspace, alias) for _, workspace, alias in found)
    filled = [
        {"id": id_, "alias": alias}
        for id_, workspace, alias in found
        if shared[(workspace, alias)] == 1
    ]
    if filled:
        connection.execute(sa.text("UPDATE identities SET alias = :alias WHERE id = :id"), filled)
    op.create_index("ix_identities_workspace_id_alias", "identities", ["workspace_id", "alias"])


def downgrade() -> None:
    op.drop_index("ix_identities_workspace_id_alias", table_name="identities")
    # DROP COLUMN in place (SQLite ≥ 3.35 too): no table re-created, so no trigger lost.
    op.execute("ALTER TABLE identities DROP COLUMN alias")
