"""the newcomer funnel's summary: when its page was last viewed, and who is computing it

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("funnel_summary", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("viewed_at", bot.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("claimed_until", bot.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("funnel_summary", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("viewed_at")
