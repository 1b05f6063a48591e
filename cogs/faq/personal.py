"""What the FAQ keeps about a person, for `me export` and `me forget`, and how long it keeps the
words of questions at all.

A question's words are the person's; what the bot made of it (verdict, entry, score, when) and
the votes on answers are the FAQ's figures. Forgetting removes the words and leaves the figures,
which then lead to nobody.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.personal import Records, Words
from bot.core.runtime import Runtime
from cogs.faq.models import FaqExample, FaqQuestion, FaqVote
from cogs.faq.settings import FaqSettings

# What a question's text becomes once removed.
REMOVED = ""
# How long the retention timer sleeps when no question will ever be due.
IDLE = 24 * 3600.0


# In `me forget`'s list of what goes, one and many of each kind.
WORDS = {
    "questions": Words(
        "FAQ question (its words go; that it was asked stays)",
        "FAQ questions (their words go; that they were asked stays)",
    ),
    "votes": Words(
        "vote on an FAQ answer (it stays as a count)",
        "votes on FAQ answers (they stay as counts)",
    ),
    "examples_taught": Words(
        "FAQ wording you taught (it stays, without your name)",
        "FAQ wordings you taught (they stay, without your name)",
    ),
}


async def export(session: AsyncSession, person_id: int) -> Records:
    asked = select(FaqQuestion).where(FaqQuestion.person_id == person_id)
    voted = select(FaqVote).where(FaqVote.person_id == person_id)
    taught = select(FaqExample).where(FaqExample.added_by == person_id)
    return {
        "questions": [
            {
                "id": q.id,
                "asked_at": q.created_at,
                "platform": q.platform,
                "text": q.text or None,
                "verdict": q.verdict,
                "entry": q.entry_id,
            }
            for q in (await session.exec(asked.order_by(col(FaqQuestion.id)))).all()
        ],
        "votes": [
            {"question": v.question_id, "up": v.up, "at": v.updated_at}
            for v in (await session.exec(voted.order_by(col(FaqVote.id)))).all()
        ],
        "examples_taught": [
            {"entry": e.entry_id, "text": e.text, "at": e.created_at}
            for e in (await session.exec(taught.order_by(col(FaqExample.id)))).all()
        ],
    }


async def forget(session: AsyncSession, person_id: int, now: datetime) -> None:
    """Their questions lose their words; votes stay as counts; examples they taught stay as the
    FAQ's, without their name."""
    await session.exec(
        update(FaqQuestion).where(col(FaqQuestion.person_id) == person_id).values(text=REMOVED)
    )
    await session.exec(
        update(FaqExample).where(col(FaqExample.added_by) == person_id).values(added_by=None)
    )


async def remove_old_words(session: AsyncSession, now: datetime, keep: timedelta) -> float:
    """Remove the words of questions asked more than *keep* ago; seconds until the next is due."""
    cutoff = now - keep
    await session.exec(
        update(FaqQuestion)
        .where(col(FaqQuestion.created_at) <= cutoff, col(FaqQuestion.text) != REMOVED)
        .values(text=REMOVED)
    )
    oldest = select(func.min(FaqQuestion.created_at)).where(col(FaqQuestion.text) != REMOVED)
    next_due: datetime | None = (await session.exec(oldest)).one()
    if next_due is None:
        return IDLE
    return min(IDLE, max(0.0, (next_due + keep - now).total_seconds()))


class QuestionRetention:
    """The timer that removes the words of questions once `[faq] question_retention_days`
    have passed: it sleeps until the oldest words kept are due, so none outlive it."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.keep = timedelta(days=runtime.env.section(FaqSettings).question_retention_days)

    async def step(self) -> float:
        async with self.runtime.transaction() as session:
            return await remove_old_words(session, self.runtime.now(), self.keep)
