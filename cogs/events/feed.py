"""The iCalendar feed: every series as one VEVENT with its rule, skips as EXDATE, added
occurrences as RDATE, moves as RECURRENCE-ID overrides, so calendar apps update skipped and
moved occurrences by themselves. All-day events are written as dates.

Times are written as local wall time with TZID and a VTIMEZONE built from the zone's rules
(`vtimezone`), which is what keeps a 17:00 Paris meeting at 17:00 Paris in every subscriber's
calendar across DST, in 2040 too.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.errors import UserError
from bot.core.pages import Page
from cogs.events import service
from cogs.events.models import KINDS, TIERS, Event
from cogs.events.recurrence import to_utc
from cogs.events.vtimezone import vtimezone

PRODID = "-//Convene//Convene calendar//EN"
GAP_HORIZON = timedelta(days=730)


def _master(event: Event, changes: service.Changes) -> icalendar.Event:
    vevent = _common(event)
    vevent.add("dtstart", _moment(event, event.start_local.replace(tzinfo=service.zone_of(event))))
    if event.rrule:
        rule = icalendar.vRecur.from_ical(event.rrule)
        if event.cancelled_at is not None:
            rule.pop("COUNT", None)
            rule["UNTIL"] = [event.cancelled_at]
        if event.all_day and "UNTIL" in rule:
            rule["UNTIL"] = [_moment(event, until) for until in rule["UNTIL"]]
        vevent.add("rrule", rule)
    elif event.cancelled_at is not None:
        vevent.add("status", "CANCELLED")
    skipped = sorted(changes.exdates - changes.rdates)
    if skipped:
        vevent.add("exdate", [_moment(event, instant) for instant in skipped])
    added = sorted(changes.rdates - changes.exdates)
    if added:
        vevent.add("rdate", [_moment(event, instant) for instant in added])
    return vevent


def _moment(event: Event, instant: datetime) -> datetime | date:
    """An instant as the feed writes it for *event*: its local date when all-day."""
    local = instant.astimezone(service.zone_of(event))
    return local.date() if event.all_day else local


def _common(event: Event) -> icalendar.Event:
    vevent = icalendar.Event()
    vevent.add("uid", event.uid)
    vevent.add("summary", event.title)
    vevent.add("dtstamp", event.updated_at)
    vevent.add("sequence", event.sequence)
    if event.all_day and event.duration_min % 1440 == 0:
        vevent.add("duration", timedelta(days=event.duration_min // 1440))
    else:
        vevent.add("duration", timedelta(minutes=event.duration_min))
    vevent.add("categories", [event.kind, event.tier])
    description = "\n\n".join(filter(None, [event.description, event.link]))
    if description:
        vevent.add("description", description)
    if event.link:
        vevent.add("url", event.link)
        vevent.add("location", event.link)
    return vevent


def _override(event: Event, recurrence_id: datetime, start: datetime) -> icalendar.Event:
    vevent = _common(event)
    vevent.add("recurrence-id", _moment(event, recurrence_id))
    vevent.add(
        "dtstart",
        _moment(event, start) if event.all_day else start.astimezone(service.zone_of(event)),
    )
    return vevent


def _overrides(event: Event, changes: service.Changes, now: datetime) -> list[icalendar.Event]:
    zone = service.zone_of(event)
    moved = [
        _override(event, original.astimezone(zone), new_start)
        for original, new_start in sorted(changes.moves.items())
    ]
    return moved + _gap_overrides(event, changes, now)


def _gap_overrides(event: Event, changes: service.Changes, now: datetime) -> list[icalendar.Event]:
    """Pin occurrences whose wall time falls in a DST gap to the bot's instant.

    RFC 5545 readers put a nonexistent 02:30 at 03:30; the bot's policy is the gap's end, 03:00.
    An override keyed by the nonexistent wall time makes every calendar show what the bot
    announces, from last year to two years ahead (beyond, calendars use their own reading).
    """
    return [_override(event, wall, instant) for wall, instant in gap_pins(event, changes, now)]


def gap_pins(
    event: Event, changes: service.Changes, now: datetime
) -> list[tuple[datetime, datetime]]:
    """(nonexistent wall time, the bot's instant) of each occurrence in a DST gap, from last
    year to two years ahead."""
    zone = service.zone_of(event)
    wall_time = event.start_local.time()
    overrides: list[tuple[datetime, datetime]] = []
    if event.all_day:
        return overrides
    for day, gap_start, gap_end in _gaps(zone.key, now.year - 1, now.year + 2):
        if not gap_start <= wall_time < gap_end:
            continue
        wall = datetime.combine(day, wall_time, zone)
        instant = to_utc(wall.replace(tzinfo=None), zone)
        second = timedelta(seconds=1)
        night = service.expand(event, changes, after=instant - second, before=instant + second)
        if any(not o.moved and o.start == instant for o in night):
            overrides.append((wall, instant))
    return overrides


@functools.lru_cache(maxsize=512)
def _gaps(zone_key: str, first_year: int, last_year: int) -> tuple[tuple[date, time, time], ...]:
    """The nights a zone skips wall time: (date, first skipped time, first time after)."""
    zone = ZoneInfo(zone_key)
    found = []
    day = datetime(first_year, 1, 1, 12, tzinfo=UTC)
    while day.year <= last_year:
        following = day + timedelta(days=1)
        before, after = day.astimezone(zone).utcoffset(), following.astimezone(zone).utcoffset()
        if before is not None and after is not None and after > before:
            low, high = day, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == before:
                    low = middle
                else:
                    high = middle
            local = high.replace(microsecond=0).astimezone(zone)
            skipped_from = (local - (after - before)).replace(tzinfo=None)
            found.append((local.date(), skipped_from.time(), local.time()))
        day = following
    return tuple(found)


def render_feed(events: list[tuple[Event, service.Changes]], name: str, now: datetime) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    first: dict[str, date] = {}
    for event, _ in events:
        if not event.all_day and event.timezone != "UTC":
            day = event.start_local.date()
            first[event.timezone] = min(first.get(event.timezone, day), day)
    for key, day in sorted(first.items()):
        calendar.add_component(vtimezone(ZoneInfo(key), day))
    for event, changes in events:
        calendar.add_component(_master(event, changes))
        for override in _overrides(event, changes, now):
            calendar.add_component(override)
    ical: bytes = calendar.to_ical()
    return ical


async def calendar_page(query: Mapping[str, str], session: AsyncSession, now: datetime) -> Page:
    """`GET /calendar.ics[?tier=…&kind=…]`."""
    statement = select(Event).order_by(col(Event.id))
    for key, allowed, column in (("tier", TIERS, Event.tier), ("kind", KINDS, Event.kind)):
        if value := query.get(key):
            if value not in allowed:
                raise UserError(f"Unknown {key} {value!r}; use one of: {', '.join(allowed)}.")
            statement = statement.where(column == value)
    events = list((await session.exec(statement)).all())
    changes = await service.changes_for(session, [e.id for e in events if e.id is not None])
    pairs = [(e, changes.get(e.id or 0, service.NO_CHANGES)) for e in events]
    return Page(render_feed(pairs, "Convene events", now), "text/calendar; charset=utf-8")
