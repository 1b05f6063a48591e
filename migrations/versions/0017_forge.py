"""forges: open pull requests, webhook deliveries handled, linked forge accounts, review nudges; sprint
issues' title, state and labels as the forge tells them

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "forge_pull",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo", S(length=300), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", S(length=300), nullable=False),
        sa.Column("url", S(length=500), nullable=False),
        sa.Column("state", S(length=8), nullable=False),
        sa.Column("draft", sa.Boolean(), nullable=False),
        sa.Column("author", S(length=100), nullable=False),
        sa.Column("association", S(length=32), nullable=False),
        sa.Column("head_sha", S(length=64), nullable=False),
        sa.Column("waiting_since", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("approvers", S(length=2000), nullable=False),
        sa.Column("approvals", sa.Integer(), nullable=False),
        sa.Column("changes_requested", sa.Boolean(), nullable=False),
        sa.Column("ci", S(length=16), nullable=False),
        sa.Column("requested", S(length=2000), nullable=False),
        sa.Column("labels", S(length=2000), nullable=False),
        sa.Column("updated_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("details_seen", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repo", "number"),
    )
    op.create_index("ix_forge_pull_queue", "forge_pull", ["state", "draft", "waiting_since"])
    op.create_index("ix_forge_pull_head", "forge_pull", ["repo", "head_sha"])
    op.create_table(
        "forge_delivery",
        sa.Column("kind", S(length=16), nullable=False),
        sa.Column("delivery_id", S(length=100), nullable=False),
        sa.Column("received_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "delivery_id"),
    )
    op.create_index(
        op.f("ix_forge_delivery_received_at"), "forge_delivery", ["received_at"], unique=False
    )
    op.create_table(
        "forge_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("forge", S(length=200), nullable=False),
        sa.Column("login", S(length=100), nullable=False),
        sa.Column("code", S(length=40), nullable=True),
        sa.Column("asked_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("proven_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("forge", "login", "person_id"),
    )
    op.create_index(op.f("ix_forge_account_person_id"), "forge_account", ["person_id"])
    op.create_table(
        "forge_nudge",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("platform", S(length=16), nullable=False),
        sa.Column("user_id", S(length=255), nullable=False),
        sa.Column("room", S(length=64), nullable=True),
        sa.Column("most", sa.Integer(), nullable=False),
        sa.Column("labels", S(length=500), nullable=False),
        sa.Column("last_day", S(length=10), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("person_id"),
    )
    with op.batch_alter_table("sprint_issue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title", S(length=300), nullable=True))
        batch_op.add_column(sa.Column("state", S(length=8), nullable=True))
        batch_op.add_column(sa.Column("labels", S(length=1000), nullable=True))


def downgrade() -> None:
    op.drop_table("forge_nudge")
    with op.batch_alter_table("sprint_issue", schema=None) as batch_op:
        batch_op.drop_column("labels")
        batch_op.drop_column("state")
        batch_op.drop_column("title")
    op.drop_index(op.f("ix_forge_account_person_id"), table_name="forge_account")
    op.drop_table("forge_account")
    op.drop_index(op.f("ix_forge_delivery_received_at"), table_name="forge_delivery")
    op.drop_table("forge_delivery")
    op.drop_index("ix_forge_pull_head", table_name="forge_pull")
    op.drop_index("ix_forge_pull_queue", table_name="forge_pull")
    op.drop_table("forge_pull")
