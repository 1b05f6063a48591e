"""chat events already handled, so a replayed one is answered once

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "handled_event",
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("handled_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "event_id"),
    )
    with op.batch_alter_table("handled_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handled_event_handled_at"), ["handled_at"])


def downgrade() -> None:
    with op.batch_alter_table("handled_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handled_event_handled_at"))
    op.drop_table("handled_event")
