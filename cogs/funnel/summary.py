"""The funnel's figures kept in the store: computed off the page's path by a timer, at most
`REFRESH` old, and read by the page as one row.

Computing them reads a year of welcomes, mentor requests, FAQ questions and sprint issues
(about half a second with 100,000 mentor requests, in pieces that give the loop back:
`reading`); an organizer opening the page should not wait
for that, nor each instance do it for each viewer. Every instance's timer refreshes a summary
older than `REFRESH`; two doing it at once write the same figures, and the later write wins.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.core.runtime import Runtime
from cogs.forge import api as forge
from cogs.funnel import figures, reading
from cogs.funnel.models import FunnelSummary
from cogs.mentoring import api as mentoring

log = logging.getLogger(__name__)

NAME = "funnel"
REFRESH = timedelta(minutes=10)


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

    async def kept(self) -> reading.Funnel | None:
        """The figures kept, unless too old (the timers stopped) or computed with other
        stages (a forge configured or removed since)."""
        async with self.runtime.sessions() as session:
            row = await session.get(FunnelSummary, NAME)
        if row is None:
            return None
        funnel = decode(row.figures, row.computed_at)
        stages: tuple[str, ...] = figures.STAGES
        if forge.configured(self.runtime.env):
            stages += figures.FORGE_STAGES
        fresh = self.runtime.now() - funnel.computed_at < 2 * REFRESH
        return funnel if fresh and funnel.stages == stages else None

    async def refresh(self) -> reading.Funnel:
        runtime = self.runtime
        now = runtime.now()
        funnel = await reading.read(runtime.sessions, now, forges=forge.configured(runtime.env))
        try:
            async with runtime.transaction() as session:
                row = await session.get(FunnelSummary, NAME)
                if row is None:
                    row = FunnelSummary(name=NAME, computed_at=now, figures="")
                row.computed_at, row.figures = now, encode(funnel)
                session.add(row)
        except IntegrityError:
            log.debug("another instance stored the funnel's figures first")
        return funnel

    async def latest(self) -> reading.Funnel:
        """The kept figures, or new ones when there are none yet (a new store) or they are
        stale."""
        if kept := await self.kept():
            return kept
        async with self._computing:
            return await self.kept() or await self.refresh()

    async def step(self) -> float:
        kept = await self.kept()
        if kept is not None:
            left = REFRESH - (self.runtime.now() - kept.computed_at)
            if left > timedelta():
                return left.total_seconds()
        async with self._computing:
            await self.refresh()
        return REFRESH.total_seconds()
