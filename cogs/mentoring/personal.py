"""What mentoring keeps about a person, for `me export` and `me forget`.

A request's words (topic, details, the mentor's closing note) are the requester's and go; its
times and who took it stay for the queue's figures, leading to nobody once the requester is
forgotten. A request still waiting or in progress is withdrawn, and the posts about it in the
mentor rooms are rewritten to say so without naming anyone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import delivery
from bot.core.audience import Audience
from bot.core.bus import note
from bot.core.env import Env
from bot.core.personal import Records, Words
from bot.core.reply import Reply
from bot.delivery import Key, Render
from cogs.mentoring import announce
from cogs.mentoring.models import MentorAvailability, MentorRequest
from cogs.mentoring.topics import MENTORING

# In `me forget`'s list of what goes, one and many of each kind.
WORDS = {
    "requests": Words(
        "mentor request (its words go; its times stay for the figures)",
        "mentor requests (their words go; their times stay for the figures)",
    ),
    "requests_taken": Words(
        "mentor request you took (your notes go)", "mentor requests you took (your notes go)"
    ),
    "availability": Words("mentor availability", "mentor availabilities"),
}


async def export(session: AsyncSession, person_id: int) -> Records:
    query = (
        select(MentorRequest)
        .where(or_(MentorRequest.person_id == person_id, MentorRequest.claimed_by == person_id))
        .order_by(col(MentorRequest.id))
    )
    requests = (await session.exec(query)).all()
    availability = await session.get(MentorAvailability, person_id)
    return {
        "requests": [
            {
                "id": r.id,
                "topic": r.topic or None,
                "details": r.details,
                "status": r.status,
                "asked_at": r.created_at,
                "claimed_at": r.first_claimed_at,
                "done_at": r.done_at,
                "note": r.done_note,
            }
            for r in requests
            if r.person_id == person_id
        ],
        "requests_taken": [
            {"id": r.id, "claimed_at": r.claimed_at, "done_at": r.done_at, "note": r.done_note}
            for r in requests
            if r.claimed_by == person_id
        ],
        "availability": [] if availability is None else [{"available": availability.available}],
    }


def _removed(request_id: int | None) -> Render:
    def render(audience: Audience) -> Reply:
        return Reply("🗑 Withdrawn, and removed at the requester's wish.", title=f"#{request_id}")

    return render


async def forget(session: AsyncSession, env: Env, person_id: int, now: datetime) -> None:
    theirs = col(MentorRequest.person_id) == person_id
    await session.exec(
        update(MentorRequest)
        .where(theirs, col(MentorRequest.status).in_(("open", "claimed")))
        .values(status="cancelled", last_activity_at=now)
    )
    requests = (await session.exec(select(MentorRequest).where(theirs))).all()
    for request in requests:
        posts = Key("mentor", request.id)
        await delivery.drop(session, posts)
        await delivery.redact(session, posts)
        await announce.edit_posts(session, env, request, "forgotten", _removed(request.id))
    await session.exec(
        update(MentorRequest).where(theirs).values(topic="", details=None, done_note=None)
    )
    await session.exec(
        update(MentorRequest)
        .where(col(MentorRequest.claimed_by) == person_id)
        .values(done_note=None)
    )
    await session.exec(
        delete(MentorAvailability).where(col(MentorAvailability.person_id) == person_id)
    )
    note(session, MENTORING)
