"""rooms bound from chat, and the version every instance checks

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "room_binding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("purposes", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("added_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "platform"),
        sa.UniqueConstraint("platform", "target"),
    )
    with op.batch_alter_table("room_binding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_room_binding_name"), ["name"], unique=False)
    version = op.create_table(
        "room_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("room_version")
    with op.batch_alter_table("room_binding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_binding_name"))
    op.drop_table("room_binding")
