"""What other cogs may use of welcome: who was welcomed, and when.

Everything else in this package may change without notice to them."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from cogs.welcome.models import Welcome


async def first_welcomed(
    session: AsyncSession, since: datetime, before: datetime
) -> dict[int, datetime]:
    """Each person first welcomed in [since, before), with that moment (a person welcomed on
    two platforms before their accounts were linked counts from the first). Only the people
    welcomed in that stretch are grouped, so a month's newcomers cost that month's rows."""
    first = func.min(Welcome.welcomed_at)
    then = select(Welcome.person_id).where(
        col(Welcome.welcomed_at) >= since, col(Welcome.welcomed_at) < before
    )
    query = (
        select(Welcome.person_id, first)
        .where(col(Welcome.person_id).in_(then))
        .group_by(col(Welcome.person_id))
        .having(first >= since, first < before)
    )
    return {person: at for person, at in (await session.exec(query)).all()}
