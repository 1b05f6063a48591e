"""What the welcome keeps about a person, for `me export` and `me forget`.

That someone was welcomed, where and when, stays as a count leading to nobody; a welcome still
waiting to be posted with their name is dropped.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import delivery
from bot.core.personal import Records
from bot.delivery import Key
from bot.identity import accounts_of
from cogs.welcome.models import Welcome


async def export(session: AsyncSession, person_id: int) -> Records:
    query = select(Welcome).where(Welcome.person_id == person_id).order_by(col(Welcome.id))
    return {
        "welcomes": [
            {"platform": w.platform, "room": w.room, "welcomed_at": w.welcomed_at}
            for w in (await session.exec(query)).all()
        ]
    }


async def forget(session: AsyncSession, person_id: int, now: datetime) -> None:
    for account in await accounts_of(session, person_id):
        await delivery.drop(session, Key("welcome", account.id))
        await delivery.redact(session, Key("welcome", account.id))
