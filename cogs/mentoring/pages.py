"""The mentor queue on the web: what waits and what is claimed, oldest first, with the
details a mentor reads before taking one. Read-only; claiming stays in chat, where the
requester is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.durations import span
from bot.core.pages import PageHandler, PageRequest, View
from bot.core.runtime import Runtime
from bot.identity import display_names, platform_label
from cogs.mentoring.models import MentorRequest

# Rows shown per list; the heading says how many there are in all.
SHOWN = 200


@dataclass(frozen=True)
class Row:
    id: int
    topic: str
    details: str | None
    requester: str
    asked_at: datetime
    waited: str
    where: str
    mentor: str | None
    claimed_at: datetime | None
    held: str | None


async def _status(session: AsyncSession, status: str) -> tuple[list[MentorRequest], int]:
    since = MentorRequest.claimed_at if status == "claimed" else MentorRequest.created_at
    query = (
        select(MentorRequest)
        .where(MentorRequest.status == status)
        .order_by(col(since), col(MentorRequest.id))
        .limit(SHOWN)
    )
    counted = select(func.count()).where(MentorRequest.status == status)
    return list((await session.exec(query)).all()), (await session.exec(counted)).one()


def queue_page(runtime: Runtime) -> PageHandler:
    async def queue(request: PageRequest) -> View:
        async with runtime.sessions() as session:
            waiting, waiting_total = await _status(session, "open")
            claimed, claimed_total = await _status(session, "claimed")
            names = await display_names(
                session,
                [r.person_id for r in waiting + claimed] + [r.claimed_by for r in claimed],
            )
        now = request.now

        def row(r: MentorRequest) -> Row:
            assert r.id is not None
            return Row(
                id=r.id,
                topic=r.topic,
                details=r.details,
                requester=names.get(r.person_id, "someone"),
                asked_at=r.created_at,
                waited=span(now - r.created_at, units=2),
                where=platform_label(r.origin_platform),
                mentor=None if r.claimed_by is None else names.get(r.claimed_by, "someone"),
                claimed_at=r.claimed_at,
                held=None if r.claimed_at is None else span(now - r.claimed_at, units=2),
            )

        return View(
            "mentoring/queue.html",
            {
                "waiting": [row(r) for r in waiting],
                "waiting_total": waiting_total,
                "claimed": [row(r) for r in claimed],
                "claimed_total": claimed_total,
            },
            title="Mentor queue",
        )

    return queue
