"""welcomes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "welcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("room", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("welcomed_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "platform"),
    )
    with op.batch_alter_table("welcome", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_welcome_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_welcome_welcomed_at"), ["welcomed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("welcome", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_welcome_welcomed_at"))
        batch_op.drop_index(batch_op.f("ix_welcome_person_id"))

    op.drop_table("welcome")
