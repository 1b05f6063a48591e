"""`/funnel`, for organizers: where newcomers drop out, and how fast the community answers.

The figures of twelve months take a few dozen indexed counts; they are kept for a minute, since
nobody needs them to the second and an organizer reloading should not repeat the work."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.pages import PageRequest, View
from cogs.funnel import figures, reading

KEPT_FOR = timedelta(minutes=1)


class FunnelPage:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._kept: tuple[datetime, reading.Funnel] | None = None

    async def _funnel(self, now: datetime) -> reading.Funnel:
        if self._kept is not None and now - self._kept[0] < KEPT_FOR:
            return self._kept[1]
        async with self._sessions() as session:
            funnel = await reading.read(session, now)
        self._kept = (now, funnel)
        return funnel

    async def __call__(self, request: PageRequest) -> View:
        funnel = await self._funnel(request.now)
        label = "%b %Y"
        stages = figures.bar_chart(
            [
                (
                    f"{c.month:{label}}",
                    [(name, float(c.stage(name)), str(c.stage(name))) for name in figures.STAGES],
                )
                for c in funnel.cohorts
            ]
        )
        waits = figures.bar_chart(
            [
                (
                    f"{m.month:{label}}",
                    [
                        (
                            "median",
                            (m.mentor.median or timedelta()).total_seconds() / 3600,
                            figures.span(m.mentor.median),
                        ),
                        (
                            "p90",
                            (m.mentor.p90 or timedelta()).total_seconds() / 3600,
                            figures.span(m.mentor.p90),
                        ),
                    ],
                )
                for m in funnel.months
            ]
        )
        rates = figures.bar_chart(
            [
                (
                    f"{m.month:{label}}",
                    [
                        (
                            "answered",
                            100 * (m.answer_rate or 0.0),
                            "—" if m.answer_rate is None else f"{m.answer_rate:.0%}",
                        )
                    ],
                )
                for m in funnel.months
            ]
        )
        context = {
            "funnel": funnel,
            "stages": figures.STAGES,
            "stage_chart": stages,
            "wait_chart": waits,
            "rate_chart": rates,
            "span": figures.span,
        }
        return View("funnel/funnel.html", context, title="Newcomer funnel")
