"""The public page of sprint issues: what `sprint issues` shows in chat, without who holds
each (a page anyone can read names nobody), and how to take a free one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import get_args

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.audience import anywhere
from bot.core.env import Env
from bot.core.pages import PageRequest, View
from cogs.events.api import Event
from cogs.sprints import service
from cogs.sprints.commands import Tier
from cogs.sprints.models import SprintIssue

TIERS: tuple[str, ...] = get_args(Tier)


@dataclass(frozen=True)
class Row:
    number: int
    url: str
    project: str
    issue: int
    tier: str
    event: str | None
    # "free", "taken", or "opens" (a newcomers' issue kept until its sprint starts)
    state: str
    opens_iso: str | None
    opens_text: str | None


async def _row(session: AsyncSession, issue: SprintIssue, now: datetime) -> Row:
    event: Event | None = await service.event_of(session, issue)
    start = None
    if event is not None and event.cancelled_at is None:
        start = await service.sprint_start(session, event, issue.added_at)
    state = "taken" if issue.claimed_by is not None else "free"
    waits = state == "free" and issue.tier == service.GATED_TIER and start is not None
    if waits and start is not None and now < start:
        state = "opens"
    at = start.astimezone(UTC) if start is not None else None
    return Row(
        issue.id or 0,
        issue.url,
        issue.project,
        issue.number,
        issue.tier,
        event.title if event is not None else None,
        state,
        f"{at:%Y-%m-%dT%H:%M:%SZ}" if at else None,
        f"{at:%a} {at.day} {at:%b %Y %H:%M} UTC" if at else None,
    )


class IssuesPage:
    """`/sprints`: the listed issues, free ones first, optionally for one tier."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], env: Env) -> None:
        self._sessions = sessions
        self._env = env

    async def __call__(self, request: PageRequest) -> View:
        tier = request.query.get("tier") or None
        if tier not in (None, *TIERS):
            tier = None
        async with self._sessions() as session:
            found, more = await service.listed(session, tier)
            rows = [await _row(session, issue, request.now) for issue in found]
        context = {
            "rows": rows,
            "more": more,
            "tier": tier,
            "tiers": TIERS,
            "claim": self._claim,
        }
        return View("sprints/issues.html", context, title="Sprint issues")

    def _claim(self, number: int | None = None) -> tuple[str, str]:
        """A reader of the page may be on any platform: they get each form."""
        return anywhere(self._env.prefix, "sprint claim", number=... if number is None else number)
