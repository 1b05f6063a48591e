"""The forge logins people linked to themselves: whose review requests are "yours"."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from cogs.forge.models import ForgeAccount


async def logins_of(session: AsyncSession, person_id: int) -> list[str]:
    query = select(ForgeAccount.login).where(col(ForgeAccount.person_id) == person_id)
    return list((await session.exec(query)).all())
