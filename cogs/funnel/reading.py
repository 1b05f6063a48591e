"""What the funnel reads of the other cogs, through their `api.py` only, in one session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from cogs.faq import api as faq
from cogs.forge import api as forge
from cogs.funnel import figures
from cogs.mentoring import api as mentoring
from cogs.sprints import api as sprints
from cogs.welcome import api as welcome

MONTHS = 12


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


async def read(session: AsyncSession, now: datetime, *, forges: bool) -> Funnel:
    """The figures of the last `MONTHS` months; *forges*: whether a forge is configured, so
    that pull requests opened and merged are stages."""
    shown = figures.months(now, MONTHS)
    since = figures.start_of(shown[0])
    first = await welcome.first_welcomed(session, since)
    people = list(first)
    asked_mentor, mentored = await mentoring.requesters(session, people)
    reached = {
        "asked": asked_mentor | await faq.askers(session, people),
        "mentored": mentored,
        "claimed": await sprints.claimers(session, people),
    }
    stages: tuple[str, ...] = figures.STAGES
    if forges:
        opened, merged = await forge.authors(session)
        reached.update(opened=opened, merged=merged)
        stages += figures.FORGE_STAGES
    cohorts = figures.cohorts(first, reached, shown)
    waits = figures.by_month(
        (claimed_at, claimed_at - added)
        for added, claimed_at in await sprints.claims_since(session, since)
    )
    completed = figures.by_month(
        (at, timedelta()) for at in await sprints.completions_since(session, since)
    )
    rows = []
    for month in shown:
        start, end = figures.start_of(month), figures.start_of(figures.month_after(month))
        questions, hits = await faq.answered(session, start, end)
        claims = waits.get(month, [])
        rows.append(
            Month(
                month,
                await mentoring.first_response(session, start, end),
                len(claims),
                figures.percentile(claims, 50),
                figures.percentile(claims, 90),
                questions,
                hits,
                len(completed.get(month, [])),
            )
        )
    return Funnel(stages, cohorts, rows, now)
