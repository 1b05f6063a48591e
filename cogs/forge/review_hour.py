"""Review hours: at the start of each occurrence of a `review-hour` event, the rooms with purpose
`reviews` get the pull requests that have waited longest, once.

The message's key is the occurrence (`review-hour:12:20270105T1600Z`), so a restart, a second
instance or a pass run twice plans the same row, which the outbox keeps once. The queue is read
when the occurrence starts, not before. A start the bot missed is planned up to `LATE` after it;
later than that, a list of what waited then would mislead, so nothing is posted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot import delivery
from bot.core.audience import Audience
from bot.core.reply import Reply
from bot.core.runtime import Runtime
from bot.delivery import Key, Outgoing, Render
from cogs.events.api import EVENTS, Event, started, upcoming
from cogs.forge import pulls, render
from cogs.forge.repos import Repositories
from cogs.forge.settings import ForgeSettings

PURPOSE = "reviews"
KIND = "review-hour"
LATE = timedelta(minutes=30)
POLL = 3600.0
# A new or moved review hour changes when the planner must next wake.
WAKES = (EVENTS,)
# The planner runs this soon after a start it woke up for, so the start is behind it.
JUST_AFTER = timedelta(seconds=1)


def key(event_id: int, start: datetime) -> Key:
    return Key(KIND, event_id, f"{start.astimezone(UTC):%Y%m%dT%H%MZ}")


def post(event: Event, lines: list[str], total: int) -> Render:
    def shown(_audience: Audience) -> Reply:
        if not lines:
            return Reply(
                "No pull request is waiting for a review. Thank you, reviewers!",
                title=f"Review hour: {event.title}",
            )
        head = f"{total} pull request{'s wait' if total != 1 else ' waits'} for a review; the longest waits:"
        return Reply("\n".join([head, *lines]), title=f"Review hour: {event.title}")

    return shown


class ReviewHours:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.env.section(ForgeSettings)
        self.repositories = Repositories(self.settings)

    async def plan(self) -> None:
        runtime = self.runtime
        rooms = runtime.env.rooms.with_purpose(PURPOSE)
        if not rooms:
            return
        now = runtime.now()
        async with runtime.transaction() as session:
            for event, occurrence in await started(
                session, kind=KIND, after=now - LATE, before=now + JUST_AFTER
            ):
                moment = key(event.id or 0, occurrence.start)
                if await delivery.planned(session, [moment]):
                    continue
                found, total = await pulls.queue(
                    session,
                    approvals_needed=self.settings.approvals_needed,
                    limit=self.settings.review_hour_size,
                )
                lines = render.lines(found, total, self.repositories, occurrence.start)
                message = Outgoing(
                    moment,
                    rooms,
                    post(event, lines, total),
                    due_at=occurrence.start,
                    expires_at=occurrence.start + LATE,
                )
                await delivery.plan(session, runtime.env, [message])

    async def step(self) -> float:
        await self.plan()
        now = self.runtime.now()
        async with self.runtime.transaction() as session:
            coming = await upcoming(session, now, days=8, kind=KIND)
        if not coming:
            return POLL
        return min(
            POLL, max(0.0, (coming[0][1].start - now).total_seconds()) + JUST_AFTER.total_seconds()
        )
