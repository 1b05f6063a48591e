"""`convene events export`: the schedule still to come, for another tool or another Convene.

The .ics export is the calendar feed of the events that still have an occurrence, which
`events import` reads back to the same events: export, import into an empty store and export
again give the same file. The YAML export is a yaml2ics schedule: each event's rule, skips and
added occurrences go in ``ics:`` lines (yaml2ics's ``repeat`` cannot say "every first Monday"
nor a series without end), and a moved occurrence is a skip plus an added one, since yaml2ics
has no overrides; yaml2ics reads it to the same occurrences. So is an occurrence in a DST gap,
which calendar apps would otherwise put later than the bot does (see `feed`). yaml2ics cannot write an all-day
event of several days, so one becomes midnight to midnight in the event's zone; and an event in
a zone without changes (UTC, Asia/Tokyo) carries its offset (``+00:00``) instead of a
``timezone:``, since yaml2ics describes such zones in a form its own reader refuses.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import icalendar
import yaml
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from cogs.events import service, zones
from cogs.events.feed import gap_pins, render_feed
from cogs.events.models import Event

NAME = "Convene events"


async def upcoming(session: AsyncSession, now: datetime) -> list[tuple[Event, service.Changes]]:
    """Every event with an occurrence after *now*, in the order they were made."""
    events = list((await session.exec(select(Event).order_by(col(Event.id)))).all())
    changes = await service.changes_for(session, [e.id for e in events if e.id is not None])
    pairs = [(event, changes.get(event.id or 0, service.NO_CHANGES)) for event in events]
    return [pair for pair in pairs if service.expand(*pair, after=now, limit=1)]


def to_ics(pairs: list[tuple[Event, service.Changes]], now: datetime) -> bytes:
    return render_feed(pairs, NAME, now)


def to_yaml(pairs: list[tuple[Event, service.Changes]], now: datetime) -> str:
    document = {
        "name": NAME,
        "events": [_event(event, changes, now) for event, changes in pairs],
    }
    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return text


def _event(event: Event, changes: service.Changes, now: datetime) -> dict[str, Any]:
    zone = service.zone_of(event)
    entry: dict[str, Any] = {"summary": event.title, "uid": event.uid}
    if event.all_day and event.duration_min == 1440:
        entry["begin"] = event.start_local.date()
    elif _steady(event):
        entry["begin"] = event.start_local.replace(tzinfo=zone).astimezone(
            timezone(event.start_local.replace(tzinfo=zone).utcoffset() or timedelta(0))
        )
        entry["duration"] = {"minutes": event.duration_min}
    else:
        entry["timezone"] = zone.key
        entry["begin"] = event.start_local
        entry["duration"] = {"minutes": event.duration_min}
    if event.link:
        entry["url"] = event.link
    if event.description:
        entry["description"] = event.description
    entry["categories"] = [event.kind, event.tier]
    lines = []
    if event.rrule:
        rule = icalendar.vRecur.from_ical(event.rrule)
        if event.cancelled_at is not None:
            rule.pop("COUNT", None)
            rule["UNTIL"] = [event.cancelled_at.astimezone(UTC)]
        lines.append(f"RRULE:{rule.to_ical().decode()}")
    skipped = {moment for moment in changes.exdates if moment not in changes.rdates}
    added = {
        moment
        for moment in changes.rdates
        if moment not in changes.exdates and moment not in changes.moves
    }
    for original, new in changes.moves.items():
        if _occurs(event, changes, original):
            added.add(new)
            if original not in changes.rdates:
                skipped.add(original)
    pins = gap_pins(event, changes, now)
    for name, moments in (("EXDATE", skipped), ("RDATE", added)):
        if moments:
            lines.append(_dates(name, sorted(moments), event))
    if pins:
        walls = ",".join(f"{wall:%Y%m%dT%H%M%S}" for wall, _ in pins)
        lines.append(f"EXDATE;TZID={zone.key}:{walls}")
        lines.append("RDATE:" + ",".join(f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}" for _, at in pins))
    if lines:
        entry["ics"] = "\n".join(lines) + "\n"
    return entry


def _steady(event: Event) -> bool:
    """A zone that keeps one offset (UTC, Asia/Tokyo, Etc/GMT+7) is written as that offset:
    yaml2ics's zone files describe such zones in a form its own reader refuses."""
    start = event.start_local.replace(tzinfo=UTC)
    return not zones.transitions(service.zone_of(event), start, start + timedelta(days=3660))


def _occurs(event: Event, changes: service.Changes, original: datetime) -> bool:
    plain = service.Changes(frozenset(), {}, changes.rdates)
    found = service.expand(event, plain, after=original - timedelta(seconds=1), limit=1)
    return bool(found) and found[0].original_start == original


def _dates(name: str, moments: list[datetime], event: Event) -> str:
    zone = service.zone_of(event)
    if event.all_day and event.duration_min == 1440:
        values = ",".join(f"{m.astimezone(zone):%Y%m%d}" for m in moments)
        return f"{name};VALUE=DATE:{values}"
    if _steady(event):
        return f"{name}:" + ",".join(f"{m.astimezone(UTC):%Y%m%dT%H%M%SZ}" for m in moments)
    values = ",".join(f"{m.astimezone(zone):%Y%m%dT%H%M%S}" for m in moments)
    return f"{name};TZID={zone.key}:{values}"
