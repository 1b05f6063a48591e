"""What other cogs may use of welcome: who was welcomed, and when.

Everything else in this package may change without notice to them."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from cogs.welcome.models import Welcome


async def first_welcomed(session: AsyncSession, since: datetime) -> dict[int, datetime]:
    """Each person first welcomed at or after *since*, with that moment (a person welcomed on
    two platforms before their accounts were linked counts from the first)."""
    first = func.min(Welcome.welcomed_at)
    query = select(Welcome.person_id, first).group_by(col(Welcome.person_id)).having(first >= since)
    return {person: at for person, at in (await session.exec(query)).all()}
