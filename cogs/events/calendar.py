"""Occurrences over a stretch of days, and how they fall on a calendar's grid of UTC days.

The web's list, week and month views read the same occurrences as `event list` and the feed
(`service.expand`, with skips and moves), only over a window instead of "the next few". Days are
UTC days: the page states its times in UTC and lets the reader's browser restate them in their
own zone, so the grid a reader without scripts sees agrees with every time on it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from cogs.events import service
from cogs.events.models import Event
from cogs.events.recurrence import Occurrence

# Series read for one window: enough for any real community's month, bounded for a huge store.
MAX_SERIES = 500
# Occurrences shown in one window; the page says when there are more.
MAX_SHOWN = 400


@dataclass(frozen=True)
class Window:
    """What the views show: occurrences in [start, end), in order, and whether some were cut."""

    start: datetime
    end: datetime
    found: list[tuple[Event, Occurrence]]
    cut: bool


async def window(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    tier: str | None = None,
    kind: str | None = None,
) -> Window:
    """Occurrences starting in [start, end). A series' `next_start` is its next occurrence
    after the last time anything looked, so a series whose next start is at or after *end*
    has nothing earlier to show."""
    query = (
        select(Event)
        .where(
            col(Event.next_start).is_not(None),
            col(Event.next_start) < end,
            or_(col(Event.cancelled_at).is_(None), col(Event.cancelled_at) > start),
        )
        .order_by(col(Event.next_start), col(Event.id))
        .limit(MAX_SERIES + 1)
    )
    if tier is not None:
        query = query.where(Event.tier == tier)
    if kind is not None:
        query = query.where(Event.kind == kind)
    events = list((await session.exec(query)).all())
    cut = len(events) > MAX_SERIES
    events = events[:MAX_SERIES]
    changes = await service.changes_for(session, [e.id for e in events if e.id is not None])
    found: list[tuple[Event, Occurrence]] = []
    after = start - timedelta(microseconds=1)
    for event in events:
        expanded = service.expand(
            event,
            changes.get(event.id or 0, service.NO_CHANGES),
            after=after,
            before=end,
            limit=MAX_SHOWN,
        )
        found += [(event, occurrence) for occurrence in expanded]
    found.sort(key=lambda pair: (pair[1].start, pair[0].id or 0))
    cut = cut or len(found) > MAX_SHOWN
    return Window(start, end, found[:MAX_SHOWN], cut)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


def month_of(text: str | None, now: datetime) -> date:
    """The first day of the month *text* names ("2027-01"), or of this month."""
    if text:
        try:
            return datetime.strptime(text, "%Y-%m").date()
        except ValueError:
            pass
    return now.astimezone(UTC).date().replace(day=1)


def next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def week_of(text: str | None, now: datetime) -> date:
    """The Monday of the week holding the day *text* names ("2027-01-06"), or of today."""
    day = now.astimezone(UTC).date()
    if text:
        with contextlib.suppress(ValueError):
            day = datetime.strptime(text, "%Y-%m-%d").date()
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Day:
    day: date
    # False for the days of the neighbouring months that fill a month view's first and last week.
    inside: bool
    found: list[tuple[Event, Occurrence]]


def grid(first: date, last: date, found: list[tuple[Event, Occurrence]]) -> list[list[Day]]:
    """Weeks from Monday to Sunday covering *first* to *last* (inclusive), each day with the
    occurrences starting on it in UTC."""
    by_day: dict[date, list[tuple[Event, Occurrence]]] = {}
    for event, occurrence in found:
        by_day.setdefault(occurrence.start.astimezone(UTC).date(), []).append((event, occurrence))
    day = first - timedelta(days=first.weekday())
    weeks: list[list[Day]] = []
    while day <= last:
        week = [day + timedelta(days=offset) for offset in range(7)]
        weeks.append([Day(d, first <= d <= last, by_day.get(d, [])) for d in week])
        day += timedelta(days=7)
    return weeks
