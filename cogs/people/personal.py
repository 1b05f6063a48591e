"""A person's data, theirs to take or have erased: `me export`, `me forget` and the organizers'
`person export`, `person forget`.

Every cog declares what it keeps about a person (`Setup.personal_data`); this gathers it into
one file, or has each part forgotten, then the outbox's messages to them, then their accounts
and name last, so that each part can still find the person while it forgets.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import delivery, limits
from bot.core.context import Role
from bot.core.personal import PersonalData, Records, Words, counts, to_json
from bot.core.reply import Attachment
from bot.identity import Person, accounts_of, forget_identity
from cogs.people.models import LinkCode

WORDS = {
    "accounts": Words("linked account", "linked accounts"),
    "link_codes": Words("link code", "link codes"),
}


async def export(session: AsyncSession, person_id: int) -> Records:
    accounts = await accounts_of(session, person_id)
    codes = select(LinkCode).where(LinkCode.person_id == person_id).order_by(col(LinkCode.id))
    return {
        "accounts": [
            {
                "platform": a.platform,
                "user_id": a.platform_user_id,
                "name": a.display_name,
                "direct_message_room": a.dm_room_id,
                "role": Role(a.role).label,
                "since": a.created_at,
            }
            for a in accounts
        ],
        "link_codes": [
            {"made_on": c.platform, "made_at": c.created_at, "used_at": c.used_at}
            for c in (await session.exec(codes)).all()
        ],
    }


async def forget(session: AsyncSession, person_id: int, now: datetime) -> None:
    await session.exec(delete(LinkCode).where(col(LinkCode.person_id) == person_id))


async def data_file(
    session: AsyncSession, personal: PersonalData, person_id: int, now: datetime
) -> tuple[Attachment, int]:
    """Everything kept about the person as one JSON file, and how many records it holds."""
    person = await session.get(Person, person_id)
    assert person is not None, "the router resolved this person"
    found = await personal.export(session, person_id)
    document = {
        "exported_at": now,
        "person": {"id": person_id, "name": person.display_name, "since": person.created_at},
        **found,
    }
    name = f"convene-data-{person_id}-{now:%Y%m%d}.json"
    return Attachment(name, to_json(document) + "\n"), sum(n for _, _, n in counts(found))


async def what_goes(session: AsyncSession, personal: PersonalData, person_id: int) -> list[str]:
    """What forgetting the person would touch, as lines such as "3 RSVPs"."""
    return personal.describe(await personal.export(session, person_id))


async def forget_person(
    session: AsyncSession, personal: PersonalData, person_id: int, now: datetime
) -> None:
    await personal.forget(session, person_id, now)
    for account in await accounts_of(session, person_id):
        await delivery.forget_recipient(
            session, account.platform, account.platform_user_id, account.dm_room_id
        )
    await limits.forget(session, person_id)
    await forget_identity(session, person_id)
