"""Direct messages with a room to fall back on, edits of earlier posts, personal reminders.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("replaces", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "fallback_target", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("rerouted_from", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )

    with op.batch_alter_table("rsvp", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remind_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("remind_platform", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(
            sa.Column("remind_room", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
        batch_op.drop_column("remind")


def downgrade() -> None:
    with op.batch_alter_table("rsvp", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("remind", sa.BOOLEAN(), nullable=False, server_default=sa.false())
        )
        batch_op.drop_column("remind_room")
        batch_op.drop_column("remind_platform")
        batch_op.drop_column("remind_minutes")

    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_column("rerouted_from")
        batch_op.drop_column("fallback_target")
        batch_op.drop_column("replaces")
