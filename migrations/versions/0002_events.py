"""events, rooms, changes, rsvps and personal zones

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("tier", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("start_local", sa.DateTime(), nullable=False),
        sa.Column("rrule", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("link", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("reminders", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("mention_role", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("next_start", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_created_by"), ["created_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_next_start"), ["next_start"], unique=False)

    op.create_table(
        "person_zone",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_table(
        "event_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("original_start", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("new_start", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "original_start"),
    )
    with op.batch_alter_table("event_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_change_event_id"), ["event_id"], unique=False)

    op.create_table(
        "event_room",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("room", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
        ),
        sa.PrimaryKeyConstraint("event_id", "room"),
    )
    op.create_table(
        "rsvp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("occurrence", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("remind", sa.Boolean(), nullable=False),
        sa.Column("updated_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "person_id", "occurrence"),
    )
    with op.batch_alter_table("rsvp", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rsvp_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rsvp_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rsvp", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rsvp_person_id"))
        batch_op.drop_index(batch_op.f("ix_rsvp_event_id"))

    op.drop_table("rsvp")
    op.drop_table("event_room")
    with op.batch_alter_table("event_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_change_event_id"))

    op.drop_table("event_change")
    op.drop_table("person_zone")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_next_start"))
        batch_op.drop_index(batch_op.f("ix_event_created_by"))

    op.drop_table("event")
