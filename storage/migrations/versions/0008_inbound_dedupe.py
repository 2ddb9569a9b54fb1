"""Inbound dedupe: the platform deliveries this server has processed.

Revision ID: 0008
Revises: 0003
Create Date: 2026-12-01

A Slack retry (``X-Slack-Retry-Num``) of an Events API delivery carries the first one's
``event_id``, a replayed slash command or click its ``trigger_id``, a Bot Framework redelivery
its activity id. The key is inserted in the unit of work of the change the delivery causes, so a
delivery that never got processed (a restart, a 5xx) is processed when it comes again, and one
that was is not. Old keys are pruned by the cadence tick (platforms retry within minutes).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_deliveries",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_inbound_deliveries"),
    )
    op.create_index(
        "ix_inbound_deliveries_received_at", "inbound_deliveries", ["received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_deliveries_received_at", table_name="inbound_deliveries")
    op.drop_table("inbound_deliveries")
