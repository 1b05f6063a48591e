"""What the sprints keep about a person, for `me export` and `me forget`.

Issues a person holds are given back, so others can take them; who listed or removed an issue,
and past claims of issues no longer listed (those they completed too), stay as the sprint's
history, leading to nobody once the person is forgotten.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.personal import Records, Words
from cogs.sprints.models import SprintIssue

# In `me forget`'s list of what goes, one and many of each kind.
WORDS = {
    "claims": Words(
        "sprint issue claim (if still listed, it is given back)",
        "sprint issue claims (those still listed are given back)",
    ),
    "issues_listed": Words(
        "sprint issue you listed (it stays, without your name)",
        "sprint issues you listed (they stay, without your name)",
    ),
}


async def export(session: AsyncSession, person_id: int) -> Records:
    query = (
        select(SprintIssue)
        .where(or_(SprintIssue.claimed_by == person_id, SprintIssue.added_by == person_id))
        .order_by(col(SprintIssue.id))
    )
    issues = (await session.exec(query)).all()
    return {
        "claims": [
            {
                "issue": i.id,
                "url": i.url,
                "claimed_at": i.claimed_at,
                "listed": i.removed_at is None,
                "completed_at": i.completed_at,
            }
            for i in issues
            if i.claimed_by == person_id
        ],
        "issues_listed": [
            {"issue": i.id, "url": i.url, "added_at": i.added_at}
            for i in issues
            if i.added_by == person_id
        ],
    }


async def forget(session: AsyncSession, person_id: int, now: datetime) -> None:
    await session.exec(
        update(SprintIssue)
        .where(col(SprintIssue.claimed_by) == person_id, col(SprintIssue.removed_at).is_(None))
        .values(claimed_by=None, claimed_at=None)
    )
