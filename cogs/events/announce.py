"""Planning reminders and "starting now" announcements as delivery rows.

The planner only writes rows; `bot.delivery` sends them exactly once. It plans what falls due
within the next couple of minutes, and after downtime what is still worth sending:

* a reminder is sent late (and says so) while its occurrence has not started, but only the most
  recent one: each reminder expires when the next, closer one falls due, so a long downtime
  yields one message per occurrence, not a burst; a reminder that fell due before the event
  was created is not sent at all;
* "starting now" is sent up to START_GRACE late; one missed within LOOKBACK is still planned, so
  that the dispatcher skips it as expired, logs it and keeps a `skipped` row to show;
* pending rows of an occurrence that moved, was skipped or cancelled are superseded.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import delivery
from bot.core import markup
from bot.core.audience import Audience
from bot.core.durations import span
from bot.core.reply import Reply
from bot.core.runtime import Runtime
from bot.delivery import Key, Outgoing, Render
from cogs.events import service
from cogs.events.models import Event
from cogs.events.recurrence import Occurrence
from cogs.events.render import occurs

log = logging.getLogger(__name__)

PLAN_AHEAD = timedelta(minutes=2)
START_GRACE = timedelta(minutes=10)
LOOKBACK = timedelta(days=1)
POLL = 60.0
# Events planned per transaction; between two, commands and a stop get their turn.
CHUNK = 200


@dataclass(frozen=True)
class Planned:
    key: Key
    due: datetime
    expires: datetime
    render: Render


def scope(event_id: int) -> Key:
    """Every message about one event."""
    return Key("event", event_id)


def pinged(event: Event) -> list[str]:
    return [event.mention_role] if event.mention_role else []


def starts_in(
    lead: str, event: Event, occurrence: Occurrence, left: timedelta, audience: Audience
) -> list[str]:
    """The lines a reminder opens with, after *lead*: what starts, when, and where to join."""
    lines = [
        f"{lead}**{markup.escape(event.title)}** starts in {span(left)} — "
        f"{occurs(event, occurrence.start, None, audience.style)}"
    ]
    if event.link:
        lines.append(f"Join: {markup.link(event.link)}")
    return lines


def reminder(event: Event, occurrence: Occurrence, left: timedelta) -> Render:
    """*left* is the time until the start as the message goes out (less than the offset when
    it goes out late)."""

    def render(audience: Audience) -> Reply:
        lines = starts_in("⏰ ", event, occurrence, left, audience)
        rsvp = audience.command("event rsvp", id=event.id, answer="going")
        lines.append(f"Coming? {markup.code(rsvp)}")
        return Reply("\n".join(lines), mention_roles=pinged(event))

    return render


def starting(event: Event) -> Render:
    def render(audience: Audience) -> Reply:
        join = f" Join: {markup.link(event.link)}" if event.link else ""
        return Reply(
            f"▶️ **{markup.escape(event.title)}** is starting now.{join}",
            mention_roles=pinged(event),
        )

    return render


def cancelled(event: Event) -> Render:
    def render(audience: Audience) -> Reply:
        return Reply(
            f"❌ **{markup.escape(event.title)}** (#{event.id}) is cancelled: "
            "no further occurrences."
        )

    return render


def plan_event(
    event: Event, changes: service.Changes, now: datetime
) -> tuple[list[Planned], datetime | None]:
    """The rows to write now for one event, and when this event next needs planning."""
    offsets = sorted(service.reminder_offsets(event), reverse=True)
    horizon = now + PLAN_AHEAD
    lead = max(offsets, default=timedelta(0))
    planned: list[Planned] = []
    later: list[datetime] = []
    for occurrence in service.expand(event, changes, after=now - LOOKBACK, before=horizon + lead):
        start = occurrence.start
        stamp = scope(event.id or 0).child(f"{start:%Y%m%dT%H%MZ}")
        # Each reminder is useful until the next one, the last until the start.
        closer = [start - offset for offset in offsets[1:]] + ([start] if offsets else [])
        for offset, expires in zip(offsets, closer, strict=True):
            due = start - offset
            if due > horizon:
                later.append(due)
            elif now < expires and due >= event.created_at:
                planned.append(
                    Planned(
                        stamp.child(f"r{int(offset.total_seconds() // 60)}"),
                        due,
                        expires,
                        reminder(event, occurrence, start - max(due, now)),
                    )
                )
        if start > horizon:
            later.append(start)
        elif start >= event.created_at:
            planned.append(
                Planned(stamp.child("start"), start, start + START_GRACE, starting(event))
            )
    if not later:
        nxt = service.expand(event, changes, after=horizon + lead, limit=1)
        if nxt:
            later.append(nxt[0].start - lead)
    return planned, min(later, default=None)


async def pending_event_ids(session: AsyncSession) -> set[int]:
    """Events with messages still to send, whose plan may have changed since."""
    return {int(subject) for subject in await delivery.pending_subjects(session, "event")}


class Announcer:
    """Plans messages for every event due soon; woken early when an organizer changes events."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def plan(self) -> datetime | None:
        """Write the due rows of the events that need it; returns when planning is next needed.

        Every event keeps a bookmark: the sequence planned last and when it next needs planning.
        A pass reads only the events changed since (every change bumps the sequence) or whose
        moment has come, so an idle pass is a query that finds nothing. An event seen for the
        first time is only expanded when its cached next start says it may be due; otherwise
        its bookmark is that start less its longest reminder.

        A pass goes through the events CHUNK at a time, one transaction each, and lets the
        event loop run between them: thousands of events due at once (an import, an upgrade)
        neither hold up commands nor a stop, which may end the pass between two chunks; the
        bookmarks say where the next pass picks up.
        """
        runtime = self.runtime
        now = runtime.now()
        after = 0
        while (last := await self._plan_chunk(now, after)) is not None:
            after = last
            await asyncio.sleep(0)
        async with runtime.sessions() as session:
            query = select(func.min(Event.plan_at)).where(col(Event.cancelled_at).is_(None))
            nxt: datetime | None = (await session.exec(query)).one()
        return nxt

    async def _plan_chunk(self, now: datetime, after: int) -> int | None:
        """Plan the next CHUNK events that need it, by id after *after*; the last id planned,
        or None when there were no more."""
        runtime = self.runtime
        horizon = now + PLAN_AHEAD
        async with runtime.transaction() as session:
            query = (
                select(Event)
                .where(
                    col(Event.id) > after,
                    col(Event.cancelled_at).is_(None),
                    or_(
                        col(Event.planned_sequence).is_(None),
                        col(Event.planned_sequence) != col(Event.sequence),
                        col(Event.plan_at) <= horizon,
                    ),
                )
                .order_by(col(Event.id))
                .limit(CHUNK)
            )
            events = list((await session.exec(query)).all())
            if not events:
                return None
            changed = {e.id for e in events if e.planned_sequence != e.sequence}
            pending = await pending_event_ids(session) & changed if changed else set()
            marks: dict[int, datetime | None] = {}
            due: list[Event] = []
            for event in events:
                lead = max(service.reminder_offsets(event), default=timedelta(0))
                start = event.next_start
                unplanned = event.id in changed and event.id not in pending
                if unplanned and start is not None and start > now and start - lead > horizon:
                    marks[event.id or 0] = start - lead
                else:
                    due.append(event)
            ids = [event.id or 0 for event in due]
            changes = await service.changes_for(session, ids)
            rooms = await service.rooms_for(session, ids)
            outgoing: list[Outgoing] = []
            for event in due:
                planned, marks[event.id or 0] = plan_event(
                    event, changes.get(event.id or 0, service.NO_CHANGES), now
                )
                targets = runtime.env.rooms.named(rooms.get(event.id or 0, []))
                outgoing += [
                    Outgoing(item.key, targets, item.render, item.due, item.expires)
                    for item in planned
                ]
                if event.id in pending:
                    await delivery.drop(session, scope(event.id or 0), {p.key for p in planned})
            await delivery.plan(session, runtime.env, outgoing)
            await bookmark(session, [(event, marks[event.id or 0]) for event in events])
        return events[-1].id

    async def step(self) -> float:
        nxt = await self.plan()
        if nxt is None:
            return POLL
        return min(POLL, max(0.5, (nxt - PLAN_AHEAD - self.runtime.now()).total_seconds()))


async def bookmark(session: AsyncSession, marks: list[tuple[Event, datetime | None]]) -> None:
    """Record what was planned, unless the event changed meanwhile: its sequence moved on, so
    the bookmark is not written and the next pass plans the event again."""
    if not marks:
        return
    statement = (
        update(Event)
        .where(col(Event.id) == bindparam("event_id"), col(Event.sequence) == bindparam("seen"))
        .values(planned_sequence=bindparam("seen"), plan_at=bindparam("plan_at"))
    )
    rows = [{"event_id": e.id, "seen": e.sequence, "plan_at": when} for e, when in marks]
    await (await session.connection()).execute(statement, rows)
