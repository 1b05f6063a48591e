"""How an instant reads on each platform.

Discord renders `<t:…>` in every reader's own zone. Matrix and the console cannot, so they show
the event's zone, UTC, and the reader's zone when they have set one with `tz set`.
"""

from __future__ import annotations

from datetime import UTC, datetime
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


def headline(event: Event) -> str:
    return f"#{event.id} **{escape(event.title)}**"


def labels(event: Event) -> str:
    return f"{event.kind} · {event.tier}"
