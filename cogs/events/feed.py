"""The iCalendar feed: every series as one VEVENT with its rule, skips as EXDATE, moves as
RECURRENCE-ID overrides, so calendar apps update skipped and moved occurrences by themselves.

Times are written as local wall time with TZID and a generated VTIMEZONE, which is what keeps a
17:00 Paris meeting at 17:00 Paris in every subscriber's calendar across DST.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

import icalendar
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.errors import UserError
from bot.core.registry import Page
from cogs.events import service
from cogs.events.models import KINDS, TIERS, Event

PRODID = "-//Convene//Convene calendar//EN"


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


def _overrides(event: Event, changes: service.Changes) -> list[icalendar.Event]:
    zone = service.zone_of(event)
    overrides = []
    for original, new_start in sorted(changes.moves.items()):
        vevent = _common(event)
        vevent.add("recurrence-id", original.astimezone(zone))
        vevent.add("dtstart", new_start.astimezone(zone))
        overrides.append(vevent)
    return overrides


def render_feed(events: list[tuple[Event, service.Changes]], name: str, now: datetime) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for event, changes in events:
        calendar.add_component(_master(event, changes))
        for override in _overrides(event, changes):
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
