"""A delegate's decision is recorded for the person they decide for: ``on_behalf_of_id``.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01

When Carmen Diaz decides an ask of Dana Lee's as Dana's active delegate, the decision log, the
cards, the digest, the dashboard and the CSV export say "Carmen Diaz for Dana Lee". The ask keeps
it too, so its outcome card can say so. NULL when the decider decided for themself (every
decision made before this revision).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("asks", "decisions")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("on_behalf_of_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("on_behalf_of_id")
