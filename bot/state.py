"""What the bot itself must remember across restarts: platform cursors and failed sends."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import UTCDateTime


class BotState(SQLModel, table=True):
    __tablename__ = "bot_state"

    key: str = Field(primary_key=True, max_length=200)
    value: str
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class SendFailure(SQLModel, table=True):
    """A message the bot gave up on, kept so organizers can see what never arrived."""

    __tablename__ = "send_failure"

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    room_id: str = Field(max_length=255)
    reason: str = Field(max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


async def get_state(session: AsyncSession, key: str) -> str | None:
    row = await session.get(BotState, key)
    return row.value if row else None


async def set_state(session: AsyncSession, key: str, value: str, now: datetime) -> None:
    row = await session.get(BotState, key)
    if row is None:
        session.add(BotState(key=key, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now
        session.add(row)


async def record_send_failure(
    session: AsyncSession, platform: str, room_id: str, reason: str, now: datetime
) -> None:
    session.add(
        SendFailure(platform=platform, room_id=room_id, reason=reason[:500], created_at=now)
    )
