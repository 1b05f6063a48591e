"""What other cogs may use of sprints: who took issues, how long issues waited, and when issues
were completed.

Everything else in this package may change without notice to them. An issue given back loses
its holder (`sprint unclaim`), so these see the claims that stand, not every claim ever made."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from cogs.sprints.models import SprintIssue

CHUNK = 5000


async def claimers(session: AsyncSession, people: Iterable[int]) -> set[int]:
    """Those of *people* who hold, or held when it was taken off the list, a sprint issue."""
    wanted = list(people)
    found: set[int] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        query = select(SprintIssue.claimed_by).where(col(SprintIssue.claimed_by).in_(chunk))
        found.update(person for person in (await session.exec(query)).all() if person is not None)
    return found


async def claims_since(session: AsyncSession, since: datetime) -> list[tuple[datetime, datetime]]:
    """(listed at, claimed at) of every standing claim made at or after *since*."""
    query = select(SprintIssue.added_at, SprintIssue.claimed_at).where(
        col(SprintIssue.claimed_at) >= since
    )
    return [(added, claimed) for added, claimed in (await session.exec(query)).all() if claimed]


async def completions_since(session: AsyncSession, since: datetime) -> list[datetime]:
    """When each sprint issue completed at or after *since* was completed, oldest first."""
    query = (
        select(SprintIssue.completed_at)
        .where(col(SprintIssue.completed_at) >= since)
        .order_by(col(SprintIssue.completed_at))
    )
    return [at for at in (await session.exec(query)).all() if at is not None]
