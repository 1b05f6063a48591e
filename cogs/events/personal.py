"""What the events keep about a person, for `me export` and `me forget`.

An RSVP to an occurrence that has passed is attendance, which organizers count; once its person
is forgotten it stays as a count that leads to nobody, without the reminder it asked for. An
answer for an occurrence to come is an intention of theirs, and goes, with their time zone.
Events an organizer created stay the community's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.bus import note
from bot.core.personal import Records, Words
from cogs.events.models import Event, PersonZone, Rsvp
from cogs.events.topics import RSVPS

# In `me forget`'s list of what goes, one and many of each kind.
WORDS = {
    "rsvps": Words("RSVP", "RSVPs"),
    "time_zone": Words("time zone", "time zones"),
    "events_created": Words(
        "event you created (it stays, without your name)",
        "events you created (they stay, without your name)",
    ),
}


async def export(session: AsyncSession, person_id: int) -> Records:
    answered = (
        select(Rsvp, Event.title)
        .join(Event, col(Event.id) == col(Rsvp.event_id))
        .where(Rsvp.person_id == person_id)
        .order_by(col(Rsvp.occurrence), col(Rsvp.id))
    )
    zone = await session.get(PersonZone, person_id)
    created = select(Event).where(Event.created_by == person_id).order_by(col(Event.id))
    return {
        "rsvps": [
            {
                "event": rsvp.event_id,
                "title": title,
                "occurrence": rsvp.occurrence,
                "status": rsvp.status,
                "reminder_minutes": rsvp.remind_minutes,
                "reminder_platform": rsvp.remind_platform,
                "answered_at": rsvp.updated_at,
            }
            for rsvp, title in (await session.exec(answered)).all()
        ],
        "time_zone": [] if zone is None else [{"zone": zone.timezone}],
        "events_created": [
            {"event": event.id, "title": event.title, "created_at": event.created_at}
            for event in (await session.exec(created)).all()
        ],
    }


async def forget(session: AsyncSession, person_id: int, now: datetime) -> None:
    mine = col(Rsvp.person_id) == person_id
    await session.exec(delete(Rsvp).where(mine, col(Rsvp.occurrence) > now))
    await session.exec(
        update(Rsvp).where(mine).values(remind_minutes=None, remind_platform=None, remind_room=None)
    )
    await session.exec(delete(PersonZone).where(col(PersonZone.person_id) == person_id))
    note(session, RSVPS)
