"""Every outbox message has its own deadline: retried until then, given up only after.

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-01

A transient failure (5xx, timeout) used to count towards a fixed number of attempts, so an
outage of a few minutes lost every message in flight. Now the drain retries with capped backoff
until ``deadline`` (a digest until the next one is due, an ask card until the ask expires, a
rung until the next rung; bot.services.delivery) and only then marks the row failed. Rows that
exist already get a deadline a day after they were written; NULL (a row written
by hand) means the same.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as outbox:
        outbox.add_column(sa.Column("deadline", sa.DateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("UPDATE outbox SET deadline = created_at + INTERVAL '1 day'")
    else:
        op.execute("UPDATE outbox SET deadline = datetime(created_at, '+1 day')")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as outbox:
        outbox.drop_column("deadline")
