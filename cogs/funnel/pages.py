"""`/funnel`, for organizers: where newcomers drop out, and how fast the community answers.

The figures come from the summary a timer keeps (`summary`), one row read per view."""

from __future__ import annotations

from datetime import timedelta

from bot.core.audience import anywhere
from bot.core.durations import span
from bot.core.env import Env
from bot.core.pages import PageRequest, View
from cogs.funnel import figures
from cogs.funnel.reading import Funnel
from cogs.funnel.summary import REFRESH, Summary


def wait(length: timedelta | None) -> str:
    """As `mentor stats` says the same figures in chat; a dash for a month without one."""
    return "—" if length is None else span(length, units=2)


class FunnelPage:
    def __init__(self, summary: Summary, env: Env) -> None:
        self._summary = summary
        self._env = env

    async def __call__(self, request: PageRequest) -> View:
        funnel = await self._summary.latest()
        context = {
            "funnel": funnel,
            "stages": funnel.stages,
            "done_chart": _done_chart(funnel),
            "refresh": span(REFRESH),
            "stage_chart": _stage_chart(funnel),
            "wait_chart": _wait_chart(funnel),
            "rate_chart": _rate_chart(funnel),
            "wait": wait,
            "done": anywhere(self._env.prefix, "sprint issue done", number=...),
        }
        return View("funnel/funnel.html", context, title="Newcomer funnel")


_MONTH = "%b %Y"


def _stage_chart(funnel: Funnel) -> figures.Chart:
    return figures.bar_chart(
        [
            (
                f"{c.month:{_MONTH}}",
                [(name, float(c.stage(name)), str(c.stage(name))) for name in funnel.stages],
            )
            for c in funnel.cohorts
        ]
    )


def _hours(length: timedelta | None) -> float:
    return (length or timedelta()).total_seconds() / 3600


def _wait_chart(funnel: Funnel) -> figures.Chart:
    return figures.bar_chart(
        [
            (
                f"{m.month:{_MONTH}}",
                [
                    ("median", _hours(m.mentor.median), wait(m.mentor.median)),
                    ("p90", _hours(m.mentor.p90), wait(m.mentor.p90)),
                ],
            )
            for m in funnel.months
        ]
    )


def _rate_chart(funnel: Funnel) -> figures.Chart:
    return figures.bar_chart(
        [
            (
                f"{m.month:{_MONTH}}",
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


def _done_chart(funnel: Funnel) -> figures.Chart:
    return figures.bar_chart(
        [
            (f"{m.month:{_MONTH}}", [("completed", float(m.completed), str(m.completed))])
            for m in funnel.months
        ]
    )
