"""sprint issues

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sprint_issue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("listed_url", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("project", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("tier", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("added_by", sa.Integer(), nullable=False),
        sa.Column("added_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("claimed_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.Integer(), nullable=True),
        sa.Column("removed_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["removed_by"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("listed_url"),
    )
    with op.batch_alter_table("sprint_issue", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sprint_issue_added_by"), ["added_by"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sprint_issue_claimed_by"), ["claimed_by"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sprint_issue_event_id"), ["event_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sprint_issue_removed_by"), ["removed_by"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sprint_issue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sprint_issue_removed_by"))
        batch_op.drop_index(batch_op.f("ix_sprint_issue_event_id"))
        batch_op.drop_index(batch_op.f("ix_sprint_issue_claimed_by"))
        batch_op.drop_index(batch_op.f("ix_sprint_issue_added_by"))

    op.drop_table("sprint_issue")
