"""Where a DM to an identity goes, stored beside its reference: ``identities.address``.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

The core found a Teams DM's address by parsing the stored conversation reference (its
``conversation.id``), the one place it still read a platform's format. The adapter that writes
the reference now says the address too, and the core stores both.

Existing rows get the address the core used to derive: a Slack identity's reference is its IM
channel id, a Teams identity's is its reference's ``conversation.id`` (parsed here, in Python, so
both backends read it the same way; a reference that is not such JSON gives "", as the core's
parse gave no address). Every other identity starts with "".
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _teams_address(reference: str) -> str:
    """The personal conversation's id in a stored Teams reference; "" when there is none."""
    try:
        parsed: Any = json.loads(reference)
    except ValueError:
        return ""
    conversation = parsed.get("conversation") if isinstance(parsed, dict) else None
    found = conversation.get("id") if isinstance(conversation, dict) else None
    return str(found) if found else ""


def upgrade() -> None:
    # A plain ADD COLUMN on both backends: SQLite keeps the table, so its directory triggers
    # stay (docs/schema.md). The fill below bumps the identities' counters, which is true.
    op.add_column(
        "identities",
        sa.Column("address", sa.Text(), nullable=False, server_default=sa.text("''")),
    )
    op.execute(
        "UPDATE identities SET address = conversation_ref "
        "WHERE platform = 'slack' AND conversation_ref IS NOT NULL"
    )
    connection = op.get_bind()
    teams = connection.execute(
        sa.text(
            "SELECT id, conversation_ref FROM identities "
            "WHERE platform = 'teams' AND conversation_ref IS NOT NULL"
        )
    ).all()
    filled = [
        {"id": row.id, "address": address}
        for row in teams
        if (address := _teams_address(row.conversation_ref))
    ]
    if filled:
        connection.execute(
            sa.text("UPDATE identities SET address = :address WHERE id = :id"), filled
        )


def downgrade() -> None:
    # DROP COLUMN in place (SQLite ≥ 3.35 too): no table re-created, so no trigger lost.
    op.execute("ALTER TABLE identities DROP COLUMN address")
