"""outbox takes over platforms' unfinished sends; send failures become failed deliveries

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("send_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
        batch_op.add_column(sa.Column("max_attempts", sa.Integer(), nullable=True))
    op.execute(
        "INSERT INTO delivery (key, room, platform, target, body, due_at, status, attempts, error) "
        "SELECT 'answer:' || platform || ':' || 'failure-' || id, substr(room_id, 1, 64), platform, "
        "room_id, '{}', created_at, 'failed', 1, reason FROM send_failure"
    )
    with op.batch_alter_table("send_failure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_send_failure_created_at"))
    op.drop_table("send_failure")


def downgrade() -> None:
    op.create_table(
        "send_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("room_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("send_failure", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_send_failure_created_at"), ["created_at"], unique=False
        )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_column("max_attempts")
        batch_op.drop_column("send_key")
