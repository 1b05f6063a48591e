"""How an instant reads on each platform.

Discord renders `<t:…>` in every reader's own zone. Matrix and the console cannot, so they show
the event's zone, UTC, and the reader's zone when they have set one with `tz set`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.audience import CommandStyle
from bot.core.markup import escape
from cogs.events.models import Event


def local(instant: datetime, zone: ZoneInfo) -> str:
    moment = instant.astimezone(zone)
    return f"{moment:%a} {moment.day} {moment:%b %Y %H:%M} {moment.tzname()}"


def when(instant: datetime, zone: ZoneInfo, viewer: ZoneInfo | None, style: CommandStyle) -> str:
    if style == "slash":
        stamp = int(instant.timestamp())
        return f"<t:{stamp}:F> (<t:{stamp}:R>)"
    text = f"{local(instant, zone)} ({instant.astimezone(UTC):%H:%M} UTC)"
    if viewer is not None and viewer.key not in (zone.key, "UTC"):
        text += f", {instant.astimezone(viewer):%a %H:%M} your time"
    return text


def whole_days(event: Event) -> int:
    """The calendar days an all-day event covers."""
    return max(1, -(-event.duration_min // 1440))


def occurs(event: Event, start: datetime, viewer: ZoneInfo | None, style: CommandStyle) -> str:
    """When an occurrence of *event* takes place. An all-day event is a date where it is kept,
    not a midnight: "00:00 CET (23:00 UTC)" would put a holiday on the wrong day for half the
    world, and Discord's `<t:…>` would move it to the reader's day."""
    zone = ZoneInfo(event.timezone)
    if not event.all_day:
        return when(start, zone, viewer, style)
    first = start.astimezone(zone)
    days = whole_days(event)
    if days == 1:
        return f"{first:%a} {first.day} {first:%b %Y}, all day"
    last = first + timedelta(days=days - 1)
    return f"{first:%a} {first.day} {first:%b} to {last:%a} {last.day} {last:%b %Y}, all day"


def headline(event: Event) -> str:
    return f"#{event.id} **{escape(event.title)}**"


def labels(event: Event) -> str:
    return f"{event.kind} · {event.tier}"
