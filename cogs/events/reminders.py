"""Personal reminders: a direct message before an occurrence to each person going who asked.

They are planned as delivery rows well ahead (up to HORIZON), keyed by person, occurrence start
and lead, so `bot.delivery` sends each once. Every pass re-plans all of them and supersedes
pending rows it no longer wants: an occurrence that moved gets a new key (the old row is
dropped), and one skipped, cancelled or answered "no" since has none. A reminder sent while the
bot was down is still sent late, and says so, until the occurrence starts, as for room reminders.

The message goes to the person's account on the platform they answered from, falling back on a
mention in the room they answered in when that platform refuses a direct message.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import delivery
from bot.core.audience import Audience
from bot.core.reply import Reply
from bot.core.runtime import Runtime
from bot.delivery import DIRECT_PLATFORMS, Direct, Key, Outgoing, Render
from bot.identity import Account
from cogs.events import service
from cogs.events.announce import starts_in
from cogs.events.models import Event, Rsvp
from cogs.events.recurrence import Occurrence

KIND = "rsvp"
HORIZON = timedelta(days=30)
# A moved occurrence is still found by its original start up to this far from now.
MOVE_REACH = timedelta(days=366)
POLL = 3600.0


def key(rsvp: Rsvp, start: datetime) -> Key:
    return Key(KIND, rsvp.event_id, rsvp.person_id, f"{start:%Y%m%dT%H%MZ}", rsvp.remind_minutes)


def personal(event: Event, occurrence: Occurrence, lead: timedelta) -> Render:
    def render(audience: Audience) -> Reply:
        return Reply("\n".join(starts_in("⏰ Your reminder: ", event, occurrence, lead, audience)))

    return render


class PersonalReminders:
    """Keeps the planned personal reminders in step with RSVPs and event changes."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def plan(self) -> None:
        runtime = self.runtime
        async with runtime.transaction() as session:
            wanted = await self._wanted(session, runtime.now())
            await delivery.plan(session, runtime.env, wanted)
            await delivery.drop_kind(session, KIND, {item.key for item in wanted})

    async def _wanted(self, session: AsyncSession, now: datetime) -> list[Outgoing]:
        query = select(Rsvp).where(
            Rsvp.status == "going",
            col(Rsvp.remind_minutes).is_not(None),
            col(Rsvp.occurrence) > now - MOVE_REACH,
            col(Rsvp.occurrence) < now + HORIZON + MOVE_REACH,
        )
        rsvps = list((await session.exec(query)).all())
        if not rsvps:
            return []
        event_ids = sorted({r.event_id for r in rsvps})
        events = {
            e.id: e
            for e in (await session.exec(select(Event).where(col(Event.id).in_(event_ids)))).all()
        }
        changes = await service.changes_for(session, event_ids)
        upcoming: dict[int, dict[datetime, Occurrence]] = {}
        for event_id, event in events.items():
            found = service.expand(
                event,
                changes.get(event_id or 0, service.NO_CHANGES),
                after=now,
                before=now + HORIZON,
            )
            upcoming[event_id or 0] = {o.original_start: o for o in found}
        people = sorted({r.person_id for r in rsvps})
        accounts = {
            (a.person_id, a.platform): a.platform_user_id
            for a in (
                await session.exec(select(Account).where(col(Account.person_id).in_(people)))
            ).all()
        }
        wanted = []
        for rsvp in rsvps:
            occurrence = upcoming.get(rsvp.event_id, {}).get(rsvp.occurrence)
            user = accounts.get((rsvp.person_id, rsvp.remind_platform or ""))
            if occurrence is None or user is None or rsvp.remind_platform not in DIRECT_PLATFORMS:
                continue
            lead = timedelta(minutes=rsvp.remind_minutes or 0)
            due = max(occurrence.start - lead, rsvp.updated_at)
            direct = Direct(
                f"dm:{rsvp.person_id}", rsvp.remind_platform, user, fallback=rsvp.remind_room
            )
            render = personal(events[rsvp.event_id], occurrence, occurrence.start - due)
            wanted.append(
                Outgoing(key(rsvp, occurrence.start), [direct], render, due, occurrence.start)
            )
        return wanted

    async def step(self) -> float:
        await self.plan()
        return POLL
