"""An ask's conversation: the decider's questions and the requester's answers, one row each.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

"Need info" used to append ``Q: … A: …`` to the ask's own text, so the decision log, digests and
exports carried the exchange inside the ask. Each turn is now a row of its own, with real
foreign keys to the ask and its author, and the organization for the tenancy boundary.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ask_conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("ask_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_ask_conversation_organization_id_organizations",
        ),
        sa.ForeignKeyConstraint(["ask_id"], ["asks.id"], name="fk_ask_conversation_ask_id_asks"),
        sa.ForeignKeyConstraint(
            ["author_id"], ["people.id"], name="fk_ask_conversation_author_id_people"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ask_conversation"),
    )
    op.create_index(
        "ix_ask_conversation_ask_id_created_at",
        "ask_conversation",
        ["ask_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_ask_conversation_ask_id_created_at", table_name="ask_conversation")
    op.drop_table("ask_conversation")
