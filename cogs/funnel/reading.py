"""What the funnel reads of the other cogs, through their `api.py` only, in short pieces.

A year of records is too much to read at once: on SQLite the statements run on the event
loop's thread (`bot.inline_sqlite`) and an open session holds the store, so one long read
(half a second with 100,000 mentor requests) would stall every command meanwhile. Each piece
here is a session of its own, a month's figure or a few hundred people's, and the loop is
given back after each; the figures are not one snapshot, which counts of a year do not need.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import TypeVar

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from cogs.faq import api as faq
from cogs.forge import api as forge
from cogs.funnel import figures
from cogs.mentoring import api as mentoring
from cogs.sprints import api as sprints
from cogs.welcome import api as welcome

MONTHS = 12
# People asked about in one piece: a few milliseconds of SQLite with 100,000 mentor requests.
PEOPLE = 500

T = TypeVar("T")


@dataclass(frozen=True)
class Month:
    month: date
    mentor: mentoring.FirstResponse
    claims: int
    claim_median: timedelta | None
    claim_p90: timedelta | None
    questions: int
    answered: int
    completed: int

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.questions if self.questions else None


@dataclass(frozen=True)
class Funnel:
    # The stages shown, in order: the forge's only once one is configured.
    stages: tuple[str, ...]
    cohorts: list[figures.Cohort]
    months: list[Month]
    computed_at: datetime


async def piece(
    sessions: async_sessionmaker[AsyncSession], read: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """*read* in a session of its own, then the loop given back, so that what waits for the
    loop or the store (a command, a page) runs before the next piece."""
    async with sessions() as session:
        found = await read(session)
    await asyncio.sleep(0)
    return found


async def read(
    sessions: async_sessionmaker[AsyncSession], now: datetime, *, forges: bool
) -> Funnel:
    """The figures of the last `MONTHS` months; *forges*: whether a forge is configured, so
    that pull requests opened and merged are stages."""
    shown = figures.months(now, MONTHS)
    since = figures.start_of(shown[0])
    stages: tuple[str, ...] = figures.STAGES
    authored: dict[str, set[int]] = {}
    if forges:
        opened, merged = await piece(sessions, forge.authors)
        authored.update(opened=opened, merged=merged)
        stages += figures.FORGE_STAGES
    waits = figures.by_month(
        (claimed_at, claimed_at - added)
        for added, claimed_at in await piece(sessions, partial(sprints.claims_since, since=since))
    )
    completed = figures.by_month(
        (at, timedelta())
        for at in await piece(sessions, partial(sprints.completions_since, since=since))
    )
    cohorts = []
    rows = []
    for month in shown:
        start, end = figures.start_of(month), figures.start_of(figures.month_after(month))
        first = await piece(sessions, partial(welcome.first_welcomed, since=start, before=end))
        people = list(first)
        reached: dict[str, set[int]] = {"asked": set(), "mentored": set(), "claimed": set()}
        for begin in range(0, len(people), PEOPLE):
            some = people[begin : begin + PEOPLE]
            asked_mentor, mentored = await piece(
                sessions, partial(mentoring.requesters, people=some)
            )
            reached["asked"] |= asked_mentor | await piece(
                sessions, partial(faq.askers, people=some)
            )
            reached["mentored"] |= mentored
            reached["claimed"] |= await piece(sessions, partial(sprints.claimers, people=some))
        cohorts += figures.cohorts(first, reached | authored, [month])
        questions, hits = await piece(sessions, partial(faq.answered, start=start, end=end))
        claims = waits.get(month, [])
        rows.append(
            Month(
                month,
                await piece(sessions, partial(mentoring.first_response, start=start, end=end)),
                len(claims),
                figures.percentile(claims, 50),
                figures.percentile(claims, 90),
                questions,
                hits,
                len(completed.get(month, [])),
            )
        )
    return Funnel(stages, cohorts, rows, now)
