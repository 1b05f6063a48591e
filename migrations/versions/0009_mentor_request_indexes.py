"""mentor request indexes: lists and figures read windows of a long history

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REPLACED = ("person_id", "status")
ADDED = {
    "ix_mentor_request_status_created": ["status", "created_at"],
    "ix_mentor_request_person_status": ["person_id", "status"],
    "ix_mentor_request_created": ["created_at", "first_claimed_at"],
    "ix_mentor_request_first_claimed": ["first_claimed_at", "created_at"],
    "ix_mentor_request_claimed": ["claimed_at", "claimed_by"],
    "ix_mentor_request_done": ["status", "done_at", "claimed_by", "created_at"],
}


def upgrade() -> None:
    with op.batch_alter_table("mentor_request", schema=None) as batch_op:
        for column in REPLACED:
            batch_op.drop_index(batch_op.f(f"ix_mentor_request_{column}"))
        for name, columns in ADDED.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mentor_request", schema=None) as batch_op:
        for name in ADDED:
            batch_op.drop_index(name)
        for column in REPLACED:
            batch_op.create_index(batch_op.f(f"ix_mentor_request_{column}"), [column], unique=False)
