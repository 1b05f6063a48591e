"""The iCalendar feed: every series as one VEVENT with its rule, skips as EXDATE, added
occurrences as RDATE, moves as RECURRENCE-ID overrides, so calendar apps update skipped and
moved occurrences by themselves. All-day events are written as dates.

Times are written as local wall time with TZID and a VTIMEZONE built from the zone's rules
(`vtimezone`), which is what keeps a 17:00 Paris meeting at 17:00 Paris in every subscriber's
calendar across DST, in 2040 too.

Building the feed of a large calendar takes seconds of CPU, so `Feed` serves it cached by the
events' version token in the store (`service.version`), with that token in its ETag; when it
must build, it reads the rows in short batches and renders in a worker thread, one build at a
time, so the event loop goes on answering meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import __version__
from bot.core.errors import UserError
from bot.core.pages import Page, PageRequest, Unchanged
from cogs.events import service
from cogs.events.models import KINDS, TIERS, Event
from cogs.events.recurrence import to_utc
from cogs.events.vtimezone import vtimezone

PRODID = "-//Convene//Convene calendar//EN"
GAP_HORIZON = timedelta(days=730)
NAME = "Convene events"
CONTENT_TYPE = "text/calendar; charset=utf-8"
FOOTER = b"END:VCALENDAR\r\n"
# Rows per read: each batch is one short session, so commands get the store in between.
BATCH = 500
# Feeds built at once, each in a worker thread; more requests wait their turn, off the loop.
BUILDERS = 1
# Built feeds kept (one per filter): a few, since a large calendar's feed is megabytes.
KEPT = 8
# Reads retried when the events change while being read, before serving an uncached feed.
ATTEMPTS = 3


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
    first: dict[str, date] = {}
    note_zones(first, events)
    return header(name, first) + vevents(events, now) + FOOTER


def note_zones(first: dict[str, date], events: list[tuple[Event, service.Changes]]) -> None:
    """Add to *first* each zone the events are written in, with its earliest date, which is
    where its VTIMEZONE must start."""
    for event, _ in events:
        if not event.all_day and event.timezone != "UTC":
            day = event.start_local.date()
            first[event.timezone] = min(first.get(event.timezone, day), day)


def header(name: str, first: Mapping[str, date]) -> bytes:
    """The calendar's opening lines and VTIMEZONEs; the events follow, then FOOTER."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for key, day in sorted(first.items()):
        calendar.add_component(vtimezone(ZoneInfo(key), day))
    ical: bytes = calendar.to_ical()
    return ical.removesuffix(FOOTER)


def vevents(events: list[tuple[Event, service.Changes]], now: datetime) -> bytes:
    """The events' VEVENTs as the calendar would write them, so they can be written a batch
    at a time: a whole large calendar as components at once is a million objects to build and
    for the garbage collector to scan."""
    return b"".join(
        component.to_ical()
        for event, changes in events
        for component in (_master(event, changes), *_overrides(event, changes, now))
    )


Filters = tuple[str | None, str | None]


def filters(query: Mapping[str, str]) -> Filters:
    """`tier` and `kind` from the query, checked."""
    chosen: list[str | None] = []
    for key, allowed in (("tier", TIERS), ("kind", KINDS)):
        value = query.get(key) or None
        if value is not None and value not in allowed:
            raise UserError(f"Unknown {key} {value!r}; use one of: {', '.join(allowed)}.")
        chosen.append(value)
    return chosen[0], chosen[1]


async def read_batch(
    session: AsyncSession, chosen: Filters, after: int
) -> list[tuple[Event, service.Changes]]:
    """Up to BATCH events with ids above *after*, in id order, with their changes."""
    statement = select(Event).where(col(Event.id) > after).order_by(col(Event.id)).limit(BATCH)
    tier, kind = chosen
    if tier is not None:
        statement = statement.where(Event.tier == tier)
    if kind is not None:
        statement = statement.where(Event.kind == kind)
    events = list((await session.exec(statement)).all())
    changes = await service.changes_for(session, [e.id for e in events if e.id is not None])
    return [(e, changes.get(e.id or 0, service.NO_CHANGES)) for e in events]


Key = tuple[str, str | None, str | None, int]


class Feed:
    """`GET /calendar.ics[?tier=…&kind=…]`: the feed for a filter, built once per version of
    the events in the store.

    A feed depends on the events, the filter and the year (daylight-saving pins cover last year
    to two years ahead), so that is its key, and its ETag is a digest of the key: a client
    holding the current one gets "not modified" without anything being built or read beyond
    the version token.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._built: OrderedDict[Key, Page] = OrderedDict()
        self._building: dict[Key, asyncio.Task[Page]] = {}
        self._builders = asyncio.Semaphore(BUILDERS)
        self.builds = 0

    async def __call__(self, request: PageRequest) -> Page | Unchanged:
        chosen = filters(request.query)
        async with self._sessions() as session:
            current = await service.version(session)
        key: Key = (current, *chosen, request.now.year)
        etag = _etag(key)
        if request.holds(etag):
            return Unchanged(etag)
        page = self._built.get(key)
        if page is not None:
            self._built.move_to_end(key)
            return page
        task = self._building.get(key)
        if task is None:
            task = asyncio.create_task(self._build(key, request.now))
            self._building[key] = task
            task.add_done_callback(lambda _: self._building.pop(key, None))
        # Shielded: a client that hangs up does not cancel a build others wait for.
        return await asyncio.shield(task)

    async def _build(self, key: Key, now: datetime) -> Page:
        async with self._builders:
            for _ in range(ATTEMPTS):
                body, after = await self._render(key[1:3], now)
                self.builds += 1
                if after == key[0]:
                    break
                # The events changed while being read: read again at the newer version.
                key = (after, *key[1:])
            else:
                # They keep changing: this one is served as read, neither kept nor tagged.
                return Page(body, CONTENT_TYPE)
        page = Page(body, CONTENT_TYPE, _etag(key))
        self._built = OrderedDict((k, p) for k, p in self._built.items() if k[0] == key[0])
        self._built[key] = page
        while len(self._built) > KEPT:
            self._built.popitem(last=False)
        return page

    async def _render(self, chosen: Filters, now: datetime) -> tuple[bytes, str]:
        """The feed for *chosen*, read a batch per session and rendered a batch at a time in a
        worker thread, and the version token read after the last batch.

        The token is replaced in the same transaction as any change, so when it reads the same
        after the rows as it did before them, the feed shows exactly that version."""
        chunks: list[bytes] = []
        first: dict[str, date] = {}
        after = 0
        while True:
            async with self._sessions() as session:
                batch = await read_batch(session, chosen, after)
                last = len(batch) < BATCH
                version = await service.version(session) if last else ""
            note_zones(first, batch)
            chunks.append(await asyncio.to_thread(vevents, batch, now))
            if last:
                break
            after = batch[-1][0].id or 0
        opening = await asyncio.to_thread(header, NAME, first)
        return opening + b"".join(chunks) + FOOTER, version


def _etag(key: Key) -> str:
    """The key's digest, with the bot's version: a new release may write the same data anew."""
    return hashlib.sha256(repr((__version__, key)).encode()).hexdigest()[:32]
