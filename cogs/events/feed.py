"""The iCalendar feed: every series as one VEVENT with its rule, skips as EXDATE, moves as
RECURRENCE-ID overrides, so calendar apps update skipped and moved occurrences by themselves.

Times are written as local wall time with TZID and a generated VTIMEZONE, which is what keeps a
17:00 Paris meeting at 17:00 Paris in every subscriber's calendar across DST.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

import icalendar
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.errors import UserError
from bot.core.registry import Page
from cogs.events import service
from cogs.events.models import KINDS, TIERS, Event
from cogs.events.recurrence import to_utc

PRODID = "-//Convene//Convene calendar//EN"
GAP_HORIZON = timedelta(days=730)


def _master(event: Event, changes: service.Changes) -> icalendar.Event:
    zone = service.zone_of(event)
    vevent = _common(event)
    vevent.add("dtstart", event.start_local.replace(tzinfo=zone))
    if event.rrule:
        rule = icalendar.vRecur.from_ical(event.rrule)
        if event.cancelled_at is not None:
            rule.pop("COUNT", None)
            rule["UNTIL"] = [event.cancelled_at]
        vevent.add("rrule", rule)
    elif event.cancelled_at is not None:
        vevent.add("status", "CANCELLED")
    if changes.exdates:
        vevent.add("exdate", [instant.astimezone(zone) for instant in sorted(changes.exdates)])
    return vevent


def _common(event: Event) -> icalendar.Event:
    vevent = icalendar.Event()
    vevent.add("uid", event.uid)
    vevent.add("summary", event.title)
    vevent.add("dtstamp", event.updated_at)
    vevent.add("sequence", event.sequence)
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
    vevent.add("recurrence-id", recurrence_id)
    vevent.add("dtstart", start.astimezone(service.zone_of(event)))
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
    announces, for the next GAP_HORIZON (beyond it, calendars fall back to their own reading).
    """
    zone = service.zone_of(event)
    overrides = []
    for occurrence in service.expand(
        event, changes, after=now - GAP_HORIZON / 2, before=now + GAP_HORIZON
    ):
        if occurrence.moved:
            continue
        wall = datetime.combine(
            occurrence.start.astimezone(zone).date(), event.start_local.time(), zone
        )
        if wall.astimezone(UTC) != occurrence.start and (
            to_utc(wall.replace(tzinfo=None), zone) == occurrence.start
        ):
            overrides.append(_override(event, wall, occurrence.start))
    return overrides


def render_feed(events: list[tuple[Event, service.Changes]], name: str, now: datetime) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for event, changes in events:
        calendar.add_component(_master(event, changes))
        for override in _overrides(event, changes, now):
            calendar.add_component(override)
    first = min((e.start_local.date() for e, _ in events), default=now.date())
    calendar.add_missing_timezones(first_date=first, last_date=date(now.year + 6, 1, 1))
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
    empty = service.Changes(frozenset(), {})
    pairs = [(e, changes.get(e.id or 0, empty)) for e in events]
    return Page(render_feed(pairs, "Convene events", now), "text/calendar; charset=utf-8")
