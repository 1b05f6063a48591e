"""forge etags: what each poll of a pull request listing last read, so a restart asks
conditionally

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "forge_etag",
        sa.Column("url", S(length=1000), nullable=False),
        sa.Column("etag", S(length=200), nullable=True),
        sa.Column("last_modified", S(length=100), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("more", S(length=1000), nullable=True),
        sa.Column("saved_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url"),
    )


def downgrade() -> None:
    op.drop_table("forge_etag")
