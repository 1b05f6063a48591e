"""The store behind command limits: one row per (command, person), a window and its count.

One statement counts a run and reads the count back (`INSERT … ON CONFLICT DO UPDATE …
RETURNING`), so two instances on one PostgreSQL, or two commands at once, never both slip
under a limit: the database serialises the updates of one row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.limits import Limit
from bot.db import UTCDateTime


class RateLimit(SQLModel, table=True):
    __tablename__ = "rate_limit"

    bucket: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(primary_key=True, foreign_key="person.id")
    window_start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    count: int


async def take(
    session: AsyncSession, bucket: str, person_id: int, limit: Limit, now: datetime
) -> datetime | None:
    """Count one run; None when it is within *limit*, else when the window ends."""
    table = RateLimit.__table__  # type: ignore[attr-defined]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values(bucket=bucket, person_id=person_id, window_start=now, count=1)
    over = table.c.window_start <= now - limit.per
    counting = statement.on_conflict_do_update(
        index_elements=[table.c.bucket, table.c.person_id],
        set_={
            "count": case((over, 1), else_=table.c.count + 1),
            "window_start": case(
                (over, statement.excluded.window_start), else_=table.c.window_start
            ),
        },
    ).returning(table.c.count, table.c.window_start)
    count, start = (await session.exec(counting)).one()
    return None if count <= limit.times else start + limit.per


async def forget(session: AsyncSession, person_id: int) -> None:
    """A forgotten person's counts go with them."""
    await session.exec(delete(RateLimit).where(col(RateLimit.person_id) == person_id))
