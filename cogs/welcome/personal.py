"""What the welcome keeps about a person, for `me export` and `me forget`.

That someone was welcomed, where and when, stays as a count leading to nobody. A welcome still
waiting to be posted with their name is dropped, or, welcoming several people at once, posted
without it; what the outbox remembers of welcomes already posted is blanked.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import delivery
from bot.core.env import Env
from bot.core.personal import Records, Words
from bot.delivery import Key
from bot.identity import Account, accounts_of, remembered
from cogs.welcome import service
from cogs.welcome.models import Welcome

# In `me forget`'s list of what goes, one and many of each kind.
WORDS = {
    "welcomes": Words(
        "welcome (that you were welcomed stays as a count)",
        "welcomes (that you were welcomed stays as a count)",
    ),
}


async def export(session: AsyncSession, person_id: int) -> Records:
    query = select(Welcome).where(Welcome.person_id == person_id).order_by(col(Welcome.id))
    return {
        "welcomes": [
            {"platform": w.platform, "room": w.room, "welcomed_at": w.welcomed_at}
            for w in (await session.exec(query)).all()
        ]
    }


async def forget(session: AsyncSession, env: Env, person_id: int, now: datetime) -> None:
    for account in await accounts_of(session, person_id):
        await delivery.drop(session, Key("welcome", account.id))
        await delivery.redact(session, Key("welcome", account.id))
    mine = select(Welcome).where(
        Welcome.person_id == person_id, delivery.within(col(Welcome.key), service.GROUPS)
    )
    for welcome in (await session.exec(mine)).all():
        group = Key.parse(welcome.key)
        others = (
            select(Account.display_name)
            .join(Welcome, col(Welcome.person_id) == col(Account.person_id))
            .where(
                Welcome.key == welcome.key,
                Account.platform == welcome.platform,
                Welcome.person_id != person_id,
                remembered(),
            )
            .order_by(col(Welcome.id))
        )
        names = list((await session.exec(others)).all())
        if names:
            upcoming = await service.next_newcomers_event(session, now)
            await delivery.amend(session, env, group, service.message(env, names, upcoming))
        else:
            await delivery.drop(session, group)
        await delivery.redact(session, group)
