"""The mentor queue in figures over a stretch of time: how long requests waited for their first
mentor. The database counts and orders the waits; only the quantiles come back, so a long
history is never loaded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import seconds_between
from cogs.mentoring.models import MentorRequest

CHUNK = 5000


def rank_offset(count: int, percent: int) -> int:
    """The nearest-rank percentile's position (0-based) among *count* ordered values: the
    smallest value with at least *percent* % of them at or below it."""
    return max(0, min(count - 1, -(-percent * count // 100) - 1))


@dataclass(frozen=True)
class FirstResponse:
    asked: int
    answered: int
    median: timedelta | None
    p90: timedelta | None


async def first_response(session: AsyncSession, start: datetime, end: datetime) -> FirstResponse:
    """Requests asked in [start, end): how many, how many a mentor took, and the median and
    90th percentile of the wait from asking to the first mentor taking it."""
    asked_in: list[ColumnElement[bool]] = [
        col(MentorRequest.created_at) >= start,
        col(MentorRequest.created_at) < end,
    ]
    count = select(func.count()).select_from(MentorRequest)
    asked = (await session.exec(count.where(*asked_in))).one()
    answered_in = [*asked_in, col(MentorRequest.first_claimed_at).is_not(None)]
    answered = (await session.exec(count.where(*answered_in))).one()
    if not answered:
        return FirstResponse(asked, 0, None, None)
    wait = seconds_between(MentorRequest.created_at, MentorRequest.first_claimed_at)
    ordered = select(wait).where(*answered_in).order_by(wait)

    async def at(percent: int) -> timedelta:
        value = (await session.exec(ordered.offset(rank_offset(answered, percent)).limit(1))).one()
        return timedelta(seconds=round(value))

    return FirstResponse(asked, answered, await at(50), await at(90))


async def requesters(session: AsyncSession, people: Iterable[int]) -> tuple[set[int], set[int]]:
    """Those of *people* who asked for a mentor, and those of them a mentor took on."""
    wanted = list(people)
    asked: set[int] = set()
    mentored: set[int] = set()
    for begin in range(0, len(wanted), CHUNK):
        chunk = wanted[begin : begin + CHUNK]
        query = (
            select(MentorRequest.person_id, func.max(MentorRequest.first_claimed_at))
            .where(col(MentorRequest.person_id).in_(chunk))
            .group_by(col(MentorRequest.person_id))
        )
        for person, claimed in (await session.exec(query)).all():
            asked.add(person)
            if claimed is not None:
                mentored.add(person)
    return asked, mentored
