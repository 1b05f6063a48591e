"""What people asked of the FAQ, in figures: who asked, and how often the bot had an answer."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from cogs.faq.models import FaqQuestion

CHUNK = 5000


async def askers(session: AsyncSession, people: Iterable[int]) -> set[int]:
    """Those of *people* who asked the FAQ something."""
    wanted = list(people)
    found: set[int] = set()
    for begin in range(0, len(wanted), CHUNK):
        chunk = wanted[begin : begin + CHUNK]
        query = select(FaqQuestion.person_id).where(col(FaqQuestion.person_id).in_(chunk))
        found.update((await session.exec(query.distinct())).all())
    return found


async def answered(session: AsyncSession, start: datetime, end: datetime) -> tuple[int, int]:
    """Questions asked in [start, end), and how many of them the bot answered outright."""
    asked_in = (col(FaqQuestion.created_at) >= start, col(FaqQuestion.created_at) < end)
    count = select(func.count()).select_from(FaqQuestion).where(*asked_in)
    total = (await session.exec(count)).one()
    hits = (await session.exec(count.where(FaqQuestion.verdict == "answer"))).one()
    return total, hits
