"""Asks are announced after the ack: routing reason, platform and ``announced_at`` on asks.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Raising an ask writes the ask alone before Slack's ack; its audit event and messages (the
decider's card, the channel post, the Consulted invitations) are written by the next outbox
drain pass (bot.services.asks.announce_pending). The ask keeps what that needs: why it went to
its assignee and where it was raised. ``announced_at`` is NULL until then; the partial index
holds only those asks. Asks that exist already were announced when they were raised.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNANNOUNCED = sa.text("announced_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("asks") as asks:
        asks.add_column(sa.Column("reason", sa.Text(), nullable=False, server_default=""))
        asks.add_column(sa.Column("platform", sa.Text(), nullable=False, server_default=""))
        asks.add_column(sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE asks SET announced_at = created_at")
    op.create_index(
        "ix_asks_unannounced",
        "asks",
        ["id"],
        unique=False,
        sqlite_where=UNANNOUNCED,
        postgresql_where=UNANNOUNCED,
    )


def downgrade() -> None:
    op.drop_index("ix_asks_unannounced", table_name="asks")
    with op.batch_alter_table("asks") as asks:
        asks.drop_column("announced_at")
        asks.drop_column("platform")
        asks.drop_column("reason")
