"""faq entries, examples, questions and votes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "faq_entry",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("question", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("tags", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "faq_example",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["faq_entry.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_id", "text"),
    )
    with op.batch_alter_table("faq_example", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_faq_example_added_by"), ["added_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_faq_example_entry_id"), ["entry_id"], unique=False)

    op.create_table(
        "faq_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("entry_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("faq_question", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_faq_question_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_faq_question_person_id"), ["person_id"], unique=False)

    op.create_table(
        "faq_vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("up", sa.Boolean(), nullable=False),
        sa.Column("updated_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["faq_question.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("question_id", "person_id"),
    )
    with op.batch_alter_table("faq_vote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_faq_vote_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_faq_vote_question_id"), ["question_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("faq_vote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faq_vote_question_id"))
        batch_op.drop_index(batch_op.f("ix_faq_vote_person_id"))

    op.drop_table("faq_vote")
    with op.batch_alter_table("faq_question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faq_question_person_id"))
        batch_op.drop_index(batch_op.f("ix_faq_question_created_at"))

    op.drop_table("faq_question")
    with op.batch_alter_table("faq_example", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faq_example_entry_id"))
        batch_op.drop_index(batch_op.f("ix_faq_example_added_by"))

    op.drop_table("faq_example")
    op.drop_table("faq_entry")
