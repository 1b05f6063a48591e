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

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import RoomSettings
from bot.core import markup
from bot.core.context import style_of
from bot.core.registry import Registry
from bot.core.reply import Reply
from bot.delivery import Delivery, Outgoing, enqueue, supersede
from bot.wakeup import WakeLoop
from cogs.events import service
from cogs.events.models import Event
from cogs.events.recurrence import Occurrence
from cogs.events.render import span, when

log = logging.getLogger(__name__)

PLAN_AHEAD = timedelta(minutes=2)
START_GRACE = timedelta(minutes=10)
LOOKBACK = timedelta(days=1)
POLL = 60.0


@dataclass(frozen=True)
class Planned:
    key: str
    due: datetime
    expires: datetime
    render: Callable[[str], Reply]


def key_prefix(event_id: int) -> str:
    return f"event:{event_id}:"


def pinged(event: Event) -> list[str]:
    return [event.mention_role] if event.mention_role else []


def _rsvp_hint(event: Event, platform: str) -> str:
    if style_of(platform) == "slash":
        return f"/event rsvp id:{event.id} answer:going"
    return f"!event rsvp {event.id} going"


def starts_in(
    lead: str, event: Event, occurrence: Occurrence, left: timedelta, platform: str
) -> list[str]:
    """The lines a reminder opens with, after *lead*: what starts, when, and where to join."""
    lines = [
        f"{lead}**{markup.escape(event.title)}** starts in {span(left)} — "
        f"{when(occurrence.start, service.zone_of(event), None, style_of(platform))}"
    ]
    if event.link:
        lines.append(f"Join: {event.link}")
    return lines


def reminder(event: Event, occurrence: Occurrence, left: timedelta) -> Callable[[str], Reply]:
    """*left* is the time until the start as the message goes out (less than the offset when
    it goes out late)."""

    def render(platform: str) -> Reply:
        lines = starts_in("⏰ ", event, occurrence, left, platform)
        lines.append(f"Coming? {markup.code(_rsvp_hint(event, platform))}")
        return Reply("\n".join(lines), mention_roles=pinged(event))

    return render


def starting(event: Event) -> Callable[[str], Reply]:
    def render(platform: str) -> Reply:
        join = f" Join: {event.link}" if event.link else ""
        return Reply(
            f"▶️ **{markup.escape(event.title)}** is starting now.{join}",
            mention_roles=pinged(event),
        )

    return render


def cancelled(event: Event) -> Callable[[str], Reply]:
    def render(platform: str) -> Reply:
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
        stamp = f"{key_prefix(event.id or 0)}{start:%Y%m%dT%H%MZ}"
        closer = [start - offset for offset in offsets[1:]] + [start]
        for offset, expires in zip(offsets, closer, strict=True):
            due = start - offset
            if due > horizon:
                later.append(due)
            elif now < expires and due >= event.created_at:
                planned.append(
                    Planned(
                        f"{stamp}:r{int(offset.total_seconds() // 60)}",
                        due,
                        expires,
                        reminder(event, occurrence, start - max(due, now)),
                    )
                )
        if start > horizon:
            later.append(start)
        elif start >= event.created_at:
            planned.append(Planned(f"{stamp}:start", start, start + START_GRACE, starting(event)))
    if not later:
        nxt = service.expand(event, changes, after=horizon + lead, limit=1)
        if nxt:
            later.append(nxt[0].start - lead)
    return planned, min(later, default=None)


async def pending_event_ids(session: AsyncSession) -> set[int]:
    """Events with rows still to send, whose plan may have changed since."""
    query = select(Delivery.key).where(
        col(Delivery.status) == "pending", col(Delivery.key).startswith("event:")
    )
    return {int(key.split(":")[1]) for key in (await session.exec(query)).all()}


def event_rooms(names: list[str], rooms: list[RoomSettings]) -> list[RoomSettings]:
    by_name = {room.name: room for room in rooms}
    return [by_name[name] for name in names if name in by_name]


class Announcer:
    """Plans rows for every event due soon; woken early when an organizer changes events."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.loop = WakeLoop("event announcements", self.step)

    async def plan(self) -> datetime | None:
        """Write the due rows of the events that need it; returns when planning is next needed.

        Every event keeps a bookmark: the sequence planned last and when it next needs planning.
        A pass reads only the events changed since (every change bumps the sequence) or whose
        moment has come, so an idle pass is a query that finds nothing. An event seen for the
        first time is only expanded when its cached next start says it may be due; otherwise
        its bookmark is that start less its longest reminder.
        """
        now = self.registry.clock()
        horizon = now + PLAN_AHEAD
        async with self.registry.sessions() as session:
            query = select(Event).where(
                col(Event.cancelled_at).is_(None),
                or_(
                    col(Event.planned_sequence).is_(None),
                    col(Event.planned_sequence) != col(Event.sequence),
                    col(Event.plan_at) <= horizon,
                ),
            )
            events = list((await session.exec(query)).all())
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
                targets = event_rooms(rooms.get(event.id or 0, []), self.registry.settings.rooms)
                outgoing += [
                    Outgoing(item.key, targets, item.render, item.due, item.expires)
                    for item in planned
                ]
                if event.id in pending:
                    await supersede(session, key_prefix(event.id or 0), {p.key for p in planned})
            await enqueue(session, outgoing)
            await bookmark(session, [(event, marks[event.id or 0]) for event in events])
            nxt = (
                await session.exec(
                    select(func.min(Event.plan_at)).where(col(Event.cancelled_at).is_(None))
                )
            ).one()
            await session.commit()
        self.registry.changed("deliveries")
        return nxt

    async def step(self) -> float:
        nxt = await self.plan()
        if nxt is None:
            return POLL
        return min(POLL, max(0.5, (nxt - PLAN_AHEAD - self.registry.clock()).total_seconds()))


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
