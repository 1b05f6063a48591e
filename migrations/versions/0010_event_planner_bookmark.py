"""event planner bookmark

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("planned_sequence", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("plan_at", bot.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_event_plan_at"), ["plan_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_plan_at"))
        batch_op.drop_column("plan_at")
        batch_op.drop_column("planned_sequence")
