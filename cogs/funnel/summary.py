"""The funnel's figures kept in the store: computed off the page's path by a timer, at most
`REFRESH` old while the page is looked at, and read by the page as one row.

Computing them reads a year of welcomes, mentor requests, FAQ questions and sprint issues
(about a second with 100,000 mentor requests, in pieces that give the loop back:
`reading`); an organizer opening the page should not wait for that, nor each instance do it
for each viewer. So a view is noted in the row, and the timers refresh the figures only while
the page was viewed within `WATCHED`: nobody looking, nothing computed. A view of figures too
old or missing computes them then. Of the instances whose timers find the figures due at once,
one claims the row and computes; the others skip.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from bot.core.runtime import Runtime
from cogs.forge import api as forge
from cogs.funnel import figures, reading
from cogs.funnel.models import FunnelSummary
from cogs.mentoring import api as mentoring

log = logging.getLogger(__name__)

NAME = "funnel"
REFRESH = timedelta(minutes=10)
# The timers keep the figures up to date while the page was viewed this recently.
WATCHED = timedelta(hours=24)
# How long one instance's claim to compute holds: far longer than computing takes, and
# given up by storing the figures, so a crashed instance's claim lapses on its own.
CLAIM = timedelta(minutes=5)


def _seconds(length: timedelta | None) -> float | None:
    return None if length is None else length.total_seconds()


def _length(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)


def encode(funnel: reading.Funnel) -> str:
    return json.dumps(
        {
            "stages": list(funnel.stages),
            "cohorts": [
                {"month": c.month.isoformat(), "welcomed": c.welcomed, "reached": dict(c.reached)}
                for c in funnel.cohorts
            ],
            "months": [
                {
                    "month": m.month.isoformat(),
                    "mentor": [
                        m.mentor.asked,
                        m.mentor.answered,
                        _seconds(m.mentor.median),
                        _seconds(m.mentor.p90),
                    ],
                    "claims": [m.claims, _seconds(m.claim_median), _seconds(m.claim_p90)],
                    "questions": [m.questions, m.answered],
                    "completed": m.completed,
                }
                for m in funnel.months
            ],
        }
    )


def decode(text: str, computed_at: datetime) -> reading.Funnel:
    found: dict[str, Any] = json.loads(text)
    months = []
    for m in found["months"]:
        asked, answered, median, p90 = m["mentor"]
        claims, claim_median, claim_p90 = m["claims"]
        questions, answered_outright = m["questions"]
        months.append(
            reading.Month(
                date.fromisoformat(m["month"]),
                mentoring.FirstResponse(asked, answered, _length(median), _length(p90)),
                claims,
                _length(claim_median),
                _length(claim_p90),
                questions,
                answered_outright,
                m["completed"],
            )
        )
    cohorts = [
        figures.Cohort(date.fromisoformat(c["month"]), c["welcomed"], c["reached"])
        for c in found["cohorts"]
    ]
    return reading.Funnel(tuple(found["stages"]), cohorts, months, computed_at)


class Summary:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        # Views arriving while the figures are computed wait for that one computation.
        self._computing = asyncio.Lock()

    async def _row(self) -> FunnelSummary | None:
        async with self.runtime.sessions() as session:
            return await session.get(FunnelSummary, NAME)

    def _usable(self, row: FunnelSummary) -> reading.Funnel | None:
        """The figures kept, unless too old (the timers stopped) or computed with other
        stages (a forge configured or removed since)."""
        funnel = decode(row.figures, row.computed_at)
        stages: tuple[str, ...] = figures.STAGES
        if forge.configured(self.runtime.env):
            stages += figures.FORGE_STAGES
        fresh = self.runtime.now() - funnel.computed_at < 2 * REFRESH
        return funnel if fresh and funnel.stages == stages else None

    async def kept(self) -> reading.Funnel | None:
        row = await self._row()
        return None if row is None else self._usable(row)

    async def refresh(self, *, viewed: bool = False) -> reading.Funnel:
        """Compute the figures and keep them, giving up any claim; *viewed*: for a view,
        which is noted with them."""
        runtime = self.runtime
        now = runtime.now()
        funnel = await reading.read(runtime.sessions, now, forges=forge.configured(runtime.env))
        try:
            async with runtime.transaction() as session:
                row = await session.get(FunnelSummary, NAME)
                if row is None:
                    row = FunnelSummary(name=NAME, computed_at=now, figures="")
                row.computed_at, row.figures, row.claimed_until = now, encode(funnel), None
                if viewed:
                    row.viewed_at = now
                session.add(row)
        except IntegrityError:
            log.debug("another instance stored the funnel's figures first")
        return funnel

    async def _note_view(self) -> None:
        async with self.runtime.transaction() as session:
            await session.exec(
                update(FunnelSummary)
                .where(col(FunnelSummary.name) == NAME)
                .values(viewed_at=self.runtime.now())
            )

    async def latest(self) -> reading.Funnel:
        """The kept figures, or new ones when there are none yet (a new store) or they are
        stale; the view is noted, at most once per `REFRESH`, so the timers keep them fresh."""
        row = await self._row()
        if row is not None and (kept := self._usable(row)):
            if row.viewed_at is None or self.runtime.now() - row.viewed_at >= REFRESH:
                await self._note_view()
            return kept
        async with self._computing:
            return await self.kept() or await self.refresh(viewed=True)

    async def _claim(self, seen: datetime) -> bool:
        """Whether this instance is the one to compute: the figures are still those computed
        at *seen* (nobody stored newer since this instance read them) and no other instance's
        claim holds. One conditional UPDATE, so one instance wins."""
        now = self.runtime.now()
        async with self.runtime.transaction() as session:
            result = await session.exec(
                update(FunnelSummary)
                .where(
                    col(FunnelSummary.name) == NAME,
                    col(FunnelSummary.computed_at) == seen,
                    or_(
                        col(FunnelSummary.claimed_until).is_(None),
                        col(FunnelSummary.claimed_until) <= now,
                    ),
                )
                .values(claimed_until=now + CLAIM)
            )
        return result.rowcount == 1

    async def step(self) -> float:
        """Refresh the figures when due, if the page was viewed within `WATCHED` (or compute
        them on a store that has none yet); otherwise read the row again in `REFRESH`, as a
        view on any instance is noted there."""
        row = await self._row()
        now = self.runtime.now()
        if row is None:
            # A new store: figures ready for the first view, computed once, in pieces.
            async with self._computing:
                if await self._row() is None:
                    await self.refresh()
            return REFRESH.total_seconds()
        if row.viewed_at is None or now - row.viewed_at >= WATCHED:
            return REFRESH.total_seconds()
        kept = self._usable(row)
        if kept is not None:
            left = REFRESH - (now - kept.computed_at)
            if left > timedelta():
                return left.total_seconds()
        async with self._computing:
            if await self._claim(row.computed_at):
                await self.refresh()
        return REFRESH.total_seconds()
