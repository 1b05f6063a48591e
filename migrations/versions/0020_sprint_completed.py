"""sprint issues completed: by whom (the holder then) and when

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sprint_issue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("completed_by", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("completed_at", bot.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_sprint_issue_completed_by"), ["completed_by"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sprint_issue_completed_at"), ["completed_at"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_sprint_issue_completed_by_person"), "person", ["completed_by"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("sprint_issue", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_sprint_issue_completed_by_person"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_sprint_issue_completed_at"))
        batch_op.drop_index(batch_op.f("ix_sprint_issue_completed_by"))
        batch_op.drop_column("completed_at")
        batch_op.drop_column("completed_by")
