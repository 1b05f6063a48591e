"""all-day events and added occurrences (RDATE)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("all_day", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("event_change", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("added", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("event_change", schema=None) as batch_op:
        batch_op.drop_column("added")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("all_day")
