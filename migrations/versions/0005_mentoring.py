"""mentor requests

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mentor_availability",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_table(
        "mentor_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("topic", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("details", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("origin_platform", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("origin_room", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_claimed_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("done_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("last_activity_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claimed_by"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("mentor_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mentor_request_claimed_by"), ["claimed_by"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mentor_request_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mentor_request_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mentor_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mentor_request_status"))
        batch_op.drop_index(batch_op.f("ix_mentor_request_person_id"))
        batch_op.drop_index(batch_op.f("ix_mentor_request_claimed_by"))

    op.drop_table("mentor_request")
    op.drop_table("mentor_availability")
