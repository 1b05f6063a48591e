"""Events: creating, changing and listing series, and RSVPs. Pure logic on a session; no chat I/O.

Occurrences come from `recurrence.occurrences`, always with this event's skips and moves, so the
list, the calendar feed and the reminders agree on every instant.

Every change to what the calendar feed shows (an event's fields, its skips, moves and added
dates, its deletion) also replaces the events' version token in `bot_state`, in the same
transaction, so that every instance's cached feed notices changes made by any instance.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from sqlmodel import col, delete, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import markup
from bot.core.audience import Audience
from bot.core.errors import UserError
from bot.state import get_state, set_state
from cogs.events import limits
from cogs.events.models import Event, EventChange, EventRoom, PersonZone, Rsvp
from cogs.events.recurrence import Occurrence, occurrences, to_utc

MAX_LIST = 25
LIST_SCAN = 200
VERSION_KEY = "events.version"


@dataclass(frozen=True)
class NewEvent:
    title: str
    start_local: datetime
    zone: ZoneInfo
    rrule: str | None
    duration_min: int
    kind: str
    tier: str
    link: str | None
    description: str | None
    reminders: tuple[timedelta, ...]
    rooms: tuple[str, ...]
    mention_role: str | None = None


@dataclass(frozen=True)
class Changes:
    exdates: frozenset[datetime]
    moves: Mapping[datetime, datetime]
    rdates: frozenset[datetime] = frozenset()


NO_CHANGES = Changes(frozenset(), MappingProxyType({}))


def zone_of(event: Event) -> ZoneInfo:
    return ZoneInfo(event.timezone)


def reminder_offsets(event: Event) -> tuple[timedelta, ...]:
    return tuple(timedelta(minutes=int(m)) for m in event.reminders.split(",") if m)


def check_link(link: str | None) -> str | None:
    if link is not None and not markup.is_url(link):
        raise UserError(
            "The link must be a web address starting with https:// and without spaces, quotes "
            "or brackets, e.g. link=https://meet.example.org/core"
        )
    return link


def check_words(title: str, description: str | None) -> None:
    limits.check_no_ping(title, "The title")
    limits.check_no_ping(description, "The description")


def check_role(role: str | None) -> str | None:
    """A role to ping in announcements: a name, never the whole server or room."""
    if role is None or role.strip().lower() in ("", "none"):
        return None
    name = role.strip().lstrip("@").strip()
    # The name is shown after an @, so "everyone @here" would read as two mass mentions.
    if (found := markup.ping("@" + name)) is not None:
        raise UserError(
            f"Announcements never ping {markup.quoted(found)}; name a role people opt into, "
            "e.g. mention=Sprinters"
        )
    if len(name) > 100 or not name.strip():
        raise UserError("Give a role's name (at most 100 characters), e.g. mention=Sprinters")
    return name


async def changes_of(session: AsyncSession, event_id: int) -> Changes:
    return (await changes_for(session, [event_id])).get(event_id, NO_CHANGES)


def expand(
    event: Event,
    changes: Changes,
    *,
    after: datetime,
    before: datetime | None = None,
    limit: int | None = None,
) -> list[Occurrence]:
    if event.cancelled_at is not None:
        before = event.cancelled_at if before is None else min(before, event.cancelled_at)
    return occurrences(
        event.start_local,
        zone_of(event),
        event.rrule,
        after=after,
        before=before,
        limit=limit,
        exdates=changes.exdates,
        moves=changes.moves,
        rdates=changes.rdates,
    )


async def bump_version(session: AsyncSession, now: datetime) -> None:
    """Mark the events as changed: a random token, so two instances never write the same one."""
    await set_state(session, VERSION_KEY, uuid.uuid4().hex, now)


async def version(session: AsyncSession) -> str:
    return await get_state(session, VERSION_KEY) or "initial"


async def refresh_next_start(session: AsyncSession, event: Event, now: datetime) -> None:
    upcoming = expand(event, await changes_of(session, event.id or 0), after=now, limit=1)
    event.next_start = upcoming[0].start if upcoming else None
    session.add(event)


async def create_event(
    session: AsyncSession, new: NewEvent, *, person_id: int, now: datetime
) -> tuple[Event, list[Occurrence]]:
    check_link(new.link)
    check_words(new.title, new.description)
    if new.rrule is None and to_utc(new.start_local, new.zone) <= now:
        raise UserError(
            f"{new.start_local:%Y-%m-%d %H:%M} is in the past. Give a future start, "
            f'e.g. start="{(now + timedelta(days=7)).astimezone(new.zone):%Y-%m-%d} 17:00"'
        )
    event = Event(
        uid=f"{uuid.uuid4().hex}@convene",
        title=new.title,
        kind=new.kind,
        tier=new.tier,
        timezone=new.zone.key,
        start_local=new.start_local,
        rrule=new.rrule,
        duration_min=new.duration_min,
        link=new.link,
        description=new.description,
        mention_role=check_role(new.mention_role),
        reminders=",".join(str(int(r.total_seconds() // 60)) for r in new.reminders),
        created_by=person_id,
        created_at=now,
        updated_at=now,
    )
    upcoming = expand(event, NO_CHANGES, after=now, limit=3)
    if not upcoming:
        raise UserError(
            "That series has no occurrence after now; check the start, until and count."
        )
    event.next_start = upcoming[0].start
    session.add(event)
    await session.flush()
    assert event.id is not None
    for room in new.rooms:
        session.add(EventRoom(event_id=event.id, room=room))
    await bump_version(session, now)
    return event, upcoming


async def get_event(session: AsyncSession, event_id: int, audience: Audience) -> Event:
    """The event, or a refusal naming `event list` as *audience* types it."""
    event = await session.get(Event, event_id)
    if event is None:
        listing = markup.code(audience.command("event list"))
        raise UserError(f"There is no event #{event_id}. See the upcoming ones with {listing}.")
    return event


async def rooms_of(session: AsyncSession, event_id: int) -> list[str]:
    return sorted((await rooms_for(session, [event_id])).get(event_id, []))


async def rooms_for(session: AsyncSession, event_ids: list[int]) -> dict[int, list[str]]:
    if not event_ids:
        return {}
    query = select(EventRoom).where(col(EventRoom.event_id).in_(event_ids))
    found: dict[int, list[str]] = {}
    for row in (await session.exec(query)).all():
        found.setdefault(row.event_id, []).append(row.room)
    return found


async def upcoming(
    session: AsyncSession,
    now: datetime,
    *,
    days: int,
    kind: str | None = None,
    tier: str | None = None,
) -> list[tuple[Event, Occurrence]]:
    """Occurrences starting within *days*, in order, at most MAX_LIST of them."""
    end = now + timedelta(days=days)
    query = (
        select(Event)
        .where(
            col(Event.next_start).is_not(None),
            col(Event.next_start) < end,
            col(Event.cancelled_at).is_(None),
        )
        .order_by(col(Event.next_start))
        .limit(LIST_SCAN)
    )
    if kind:
        query = query.where(Event.kind == kind)
    if tier:
        query = query.where(Event.tier == tier)
    events = list((await session.exec(query)).all())
    all_changes = await changes_for(session, [e.id for e in events if e.id is not None])
    found: list[tuple[Event, Occurrence]] = []
    for event in events:
        assert event.next_start is not None
        if len(found) == MAX_LIST and event.next_start > found[-1][1].start:
            break
        changes = all_changes.get(event.id or 0, NO_CHANGES)
        if event.next_start <= now:
            await refresh_next_start(session, event, now)
        found += [(event, o) for o in expand(event, changes, after=now, before=end, limit=MAX_LIST)]
        found.sort(key=lambda pair: (pair[1].start, pair[0].id or 0))
        del found[MAX_LIST:]
    return found


async def started(
    session: AsyncSession, *, kind: str, after: datetime, before: datetime
) -> list[tuple[Event, Occurrence]]:
    """Occurrences of events of *kind* starting strictly between *after* and *before*, in order:
    for features that act when an occurrence starts (a review hour's post)."""
    query = select(Event).where(
        col(Event.kind) == kind,
        or_(col(Event.cancelled_at).is_(None), col(Event.cancelled_at) > after),
    )
    events = list((await session.exec(query)).all())
    changes = await changes_for(session, [e.id for e in events if e.id is not None])
    found = [
        (event, occurrence)
        for event in events
        for occurrence in expand(
            event, changes.get(event.id or 0, NO_CHANGES), after=after, before=before
        )
    ]
    return sorted(found, key=lambda pair: (pair[1].start, pair[0].id or 0))


async def changes_for(session: AsyncSession, event_ids: list[int]) -> dict[int, Changes]:
    if not event_ids:
        return {}
    rows = (
        await session.exec(select(EventChange).where(col(EventChange.event_id).in_(event_ids)))
    ).all()
    skips: dict[int, set[datetime]] = {}
    moves: dict[int, dict[datetime, datetime]] = {}
    added: dict[int, set[datetime]] = {}
    for row in rows:
        if row.added:
            added.setdefault(row.event_id, set()).add(row.original_start)
        if row.new_start is None:
            skips.setdefault(row.event_id, set()).add(row.original_start)
        elif row.new_start != row.original_start:
            moves.setdefault(row.event_id, {})[row.original_start] = row.new_start
    return {
        event_id: Changes(
            frozenset(skips.get(event_id, ())),
            moves.get(event_id, {}),
            frozenset(added.get(event_id, ())),
        )
        for event_id in set(skips) | set(moves) | set(added)
    }


async def occurrence_on(
    session: AsyncSession, event: Event, day: date, now: datetime
) -> Occurrence:
    """The occurrence whose (original or moved) start falls on *day* in the event's zone."""
    zone = zone_of(event)
    start = datetime.combine(day, time(0), zone)
    found = expand(
        event,
        await changes_of(session, event.id or 0),
        after=start - timedelta(microseconds=1),
        before=start + timedelta(days=1),
    )
    if not found:
        nxt = expand(event, await changes_of(session, event.id or 0), after=now, limit=1)
        hint = f" The next one is on {nxt[0].start.astimezone(zone):%Y-%m-%d}." if nxt else ""
        raise UserError(f"Event #{event.id} has no occurrence on {day:%Y-%m-%d}.{hint}")
    return found[0]


async def skip(session: AsyncSession, event: Event, day: date, now: datetime) -> Occurrence:
    occurrence = await occurrence_on(session, event, day, now)
    await _record_change(session, event, occurrence.original_start, None, now)
    return occurrence


async def move(
    session: AsyncSession,
    event: Event,
    day: date,
    new_start_local: datetime,
    now: datetime,
    audience: Audience,
) -> tuple[Occurrence, datetime]:
    occurrence = await occurrence_on(session, event, day, now)
    zone = zone_of(event)
    new_start = to_utc(new_start_local, zone)
    if new_start <= now:
        raise UserError("The new start is in the past; give a future date and time.")
    target = new_start_local.date()
    others = [
        other
        for other in expand(
            event,
            await changes_of(session, event.id or 0),
            after=to_utc(datetime.combine(target, time(0)), zone) - timedelta(microseconds=1),
            before=to_utc(datetime.combine(target + timedelta(days=1), time(0)), zone),
        )
        if other.original_start != occurrence.original_start
    ]
    if others:
        at = others[0].start.astimezone(zone)
        skip = audience.command("event skip", id=event.id, date=f"{target:%Y-%m-%d}")
        raise UserError(
            f"Event #{event.id} already meets on {target:%Y-%m-%d} (at {at:%H:%M}); two "
            f"occurrences on one day could not be told apart. Skip that one first "
            f"({markup.code(skip)}) or pick another day."
        )
    await _record_change(session, event, occurrence.original_start, new_start, now)
    return occurrence, new_start


async def _record_change(
    session: AsyncSession,
    event: Event,
    original: datetime,
    new_start: datetime | None,
    now: datetime,
) -> None:
    change = await _change_row(session, event, original)
    change.new_start = new_start
    session.add(change)
    await session.flush()
    await _touch(session, event, now)


async def _change_row(session: AsyncSession, event: Event, original: datetime) -> EventChange:
    query = select(EventChange).where(
        EventChange.event_id == event.id, EventChange.original_start == original
    )
    found = (await session.exec(query)).first()
    return found or EventChange(event_id=event.id or 0, original_start=original)


async def record_change(
    session: AsyncSession, event: Event, original: datetime, new_start: datetime | None
) -> None:
    """Skip (no *new_start*) or move one occurrence as an imported file says, past ones too;
    recording the same change twice is harmless."""
    change = await _change_row(session, event, original)
    change.new_start = new_start
    session.add(change)
    await session.flush()


async def record_addition(session: AsyncSession, event: Event, instant: datetime) -> None:
    """Add an occurrence beside the rule (an RDATE); one already recorded keeps its skip or move."""
    change = await _change_row(session, event, instant)
    if change.id is None:
        change.added, change.new_start = True, instant
        session.add(change)
        await session.flush()


async def _touch(session: AsyncSession, event: Event, now: datetime) -> None:
    event.sequence += 1
    event.updated_at = now
    await refresh_next_start(session, event, now)
    await bump_version(session, now)


async def cancel(session: AsyncSession, event: Event, now: datetime) -> None:
    if event.cancelled_at is not None:
        raise UserError(f"Event #{event.id} is already cancelled.")
    event.cancelled_at = now
    await _touch(session, event, now)


async def delete_event(session: AsyncSession, event: Event, now: datetime) -> None:
    for table in (Rsvp, EventChange, EventRoom):
        await session.exec(delete(table).where(col(table.event_id) == event.id))
    await session.delete(event)
    await bump_version(session, now)


async def edited(session: AsyncSession, event: Event, now: datetime) -> None:
    """After fields changed: the series must still occur, and caches follow."""
    check_link(event.link)
    check_words(event.title, event.description)
    if not expand(event, await changes_of(session, event.id or 0), after=now, limit=1):
        raise UserError("After that change the series has no occurrence after now.")
    await _touch(session, event, now)


@dataclass(frozen=True)
class Reminder:
    """A personal reminder *lead* before the start, by direct message on *platform*; *room* is
    where to mention the person instead if they take no direct messages."""

    lead: timedelta
    platform: str
    room: str


async def rsvp(
    session: AsyncSession,
    event: Event,
    person_id: int,
    status: str,
    occurrence: Occurrence,
    now: datetime,
    *,
    reminder: Reminder | None = None,
    keep: bool = False,
) -> int | None:
    """Record the answer; returns the minutes of the personal reminder now set, if any.

    With *keep*, a person still going keeps the reminder they asked for before."""
    query = select(Rsvp).where(
        Rsvp.event_id == event.id,
        Rsvp.person_id == person_id,
        Rsvp.occurrence == occurrence.original_start,
    )
    row = (await session.exec(query)).first() or Rsvp(
        event_id=event.id or 0,
        person_id=person_id,
        occurrence=occurrence.original_start,
        status=status,
        updated_at=now,
    )
    row.status, row.updated_at = status, now
    if status != "going" or not keep or reminder is not None:
        row.remind_minutes = None if reminder is None else int(reminder.lead.total_seconds() // 60)
        row.remind_platform = None if reminder is None else reminder.platform
        row.remind_room = None if reminder is None else reminder.room[:255]
    session.add(row)
    return row.remind_minutes


async def rsvp_counts(session: AsyncSession, event: Event, occurrence: Occurrence) -> Counter[str]:
    query = select(Rsvp.status).where(
        Rsvp.event_id == event.id, Rsvp.occurrence == occurrence.original_start
    )
    return Counter((await session.exec(query)).all())


async def zone_for(session: AsyncSession, person_id: int) -> ZoneInfo | None:
    row = await session.get(PersonZone, person_id)
    return ZoneInfo(row.timezone) if row else None


async def set_zone(session: AsyncSession, person_id: int, zone: ZoneInfo) -> None:
    row = await session.get(PersonZone, person_id) or PersonZone(
        person_id=person_id, timezone=zone.key
    )
    row.timezone = zone.key
    session.add(row)
