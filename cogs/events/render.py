"""How an instant reads on each platform.

Discord renders `<t:…>` in every reader's own zone. Matrix and the console cannot, so they show
the event's zone, UTC, and the reader's zone when they have set one with `tz set`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.context import CommandStyle
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


def span(length: timedelta) -> str:
    """A duration as people say it: "1 d", "15 min", "2 h 30 min"."""
    minutes = max(1, round(length.total_seconds() / 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    return " ".join(f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "min")) if n)


def headline(event: Event) -> str:
    return f"#{event.id} **{escape(event.title)}**"


def labels(event: Event) -> str:
    return f"{event.kind} · {event.tier}"
