"""What an organizer's words become: the options of `event create`, `event edit`, `event skip`,
`event move`, `event cancel` and `event delete` as typed in chat or sent from the web's forms,
checked and turned into calls of `service`. One reading for both, so a page accepts and refuses
exactly what the command does, with the same messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import delivery
from bot.core import UserError, markup
from bot.core.audience import Audience
from bot.core.env import Env
from bot.core.roles import KnownRoles
from bot.core.rooms import Rooms
from cogs.events import announce, service
from cogs.events.models import Event
from cogs.events.recurrence import Occurrence, build_rrule
from cogs.events.render import headline
from cogs.events.timeparse import (
    looks_like_clock,
    parse_date,
    parse_duration_minutes,
    parse_local_datetime,
    parse_offsets,
    parse_zone,
)

# The fields `event edit` changes, in the order a form shows them.
EDITABLE = (
    "title",
    "start",
    "tz",
    "repeat",
    "duration",
    "kind",
    "tier",
    "link",
    "reminders",
    "description",
    "mention",
)
# The fields an edit may empty, by giving this word (a form's "clear" box sends it).
CLEARABLE = ("link", "description")
CLEAR = "none"


def unquoted_start(start: str | None, tz: str | None) -> None:
    """``start=2026-12-07 17:00`` without quotes puts 17:00 in the zone option; say so."""
    if start is not None and tz is not None and looks_like_clock(tz):
        raise UserError(
            f'Put the start in quotes: start="{start.strip()} {tz.strip()}". Without them, '
            f'"{tz.strip()}" is read as the time zone.',
            show_usage=True,
        )


def rooms(configured: Rooms, given: str | None) -> tuple[str, ...]:
    """The rooms named (comma-separated), or every room for announcements when none is."""
    known = {room.name: room for room in configured}
    if given is None:
        return tuple(r.name for r in configured.with_purpose("announcements"))
    names = tuple(dict.fromkeys(n.strip() for n in given.split(",") if n.strip()))
    unknown = [n for n in names if n not in known]
    if unknown:
        listed = ", ".join(known) or "none configured"
        raise UserError(
            f"Unknown room {markup.quoted(unknown[0])}; rooms are: {listed}.", show_usage=True
        )
    return names


def existing_role(roles: KnownRoles, mention: str | None) -> str | None:
    """The role as the platform spells it, refused when no platform has it: a name that is
    no role would ping nobody in every reminder, and nobody would notice. While a platform
    with roles has not connected yet, names cannot be checked and are taken as given."""
    name = service.check_role(mention)
    if name is None:
        return None
    found = roles.find(name)
    if found is not None or not roles.complete:
        return found or name
    known = ", ".join(markup.quoted(role) for role in roles.names())
    raise UserError(
        f"No role is named {markup.quoted(name)}. Roles: {known}; e.g. mention=mentors",
        show_usage=True,
    )


def new_event(
    *,
    title: str,
    start: str,
    tz: str | None,
    default_zone: str,
    repeat: str,
    until: str | None,
    count: int | None,
    duration: str,
    kind: str,
    tier: str,
    link: str | None,
    reminders: str,
    rooms: tuple[str, ...],
    description: str | None,
    mention: str | None,
) -> service.NewEvent:
    unquoted_start(start, tz)
    start_local = parse_local_datetime(start)
    zone = parse_zone(tz) if tz else ZoneInfo(default_zone)
    return service.NewEvent(
        title=title,
        start_local=start_local,
        zone=zone,
        rrule=build_rrule(
            repeat, start_local, zone, until=parse_date(until) if until else None, count=count
        ),
        duration_min=parse_duration_minutes(duration),
        kind=kind,
        tier=tier,
        link=link,
        description=description,
        reminders=tuple(parse_offsets(reminders)),
        rooms=rooms,
        mention_role=mention,
    )


def apply_edit(event: Event, given: Mapping[str, str]) -> None:
    """Check and set each given field; the repeat rule is rebuilt after a new start or zone,
    since it is anchored to them."""
    if not given:
        raise UserError("Say what to change, e.g. title=… or link=….", show_usage=True)
    unquoted_start(given.get("start"), given.get("tz"))
    if "start" in given:
        event.start_local = parse_local_datetime(given["start"])
    if "tz" in given:
        event.timezone = parse_zone(given["tz"]).key
    rule = given.get("repeat", event.rrule)
    if rule is not None and given.keys() & {"repeat", "start", "tz"}:
        event.rrule = build_rrule(rule, event.start_local, service.zone_of(event))
    if "duration" in given:
        event.duration_min = parse_duration_minutes(given["duration"])
    if "mention" in given:
        event.mention_role = service.check_role(given["mention"])
    if "reminders" in given:
        offsets = parse_offsets(given["reminders"])
        event.reminders = ",".join(str(int(o.total_seconds() // 60)) for o in offsets)
    for name in ("title", "kind", "tier", "link", "description"):
        if name in given:
            cleared = name in CLEARABLE and given[name].strip().lower() == CLEAR
            setattr(event, name, None if cleared else given[name])


async def edit(
    session: AsyncSession, event: Event, given: Mapping[str, str], now: datetime
) -> None:
    apply_edit(event, given)
    await service.edited(session, event, now)


async def skip(session: AsyncSession, event: Event, date: str, now: datetime) -> Occurrence:
    return await service.skip(session, event, parse_date(date), now)


async def move(
    session: AsyncSession, event: Event, date: str, start: str, now: datetime, audience: Audience
) -> tuple[Occurrence, datetime]:
    day, new_local = parse_date(date), parse_local_datetime(start)
    return await service.move(session, event, day, new_local, now, audience)


async def cancel(session: AsyncSession, env: Env, event: Event, now: datetime) -> str:
    """End the event from now on, and tell the rooms it was announced in; what happened, as
    the reply says it."""
    await service.cancel(session, event, now)
    scope = announce.scope(event.id or 0)
    told = await delivery.sent_rooms(session, scope)
    rooms = [room for room in env.rooms if room.name in told]
    notice = delivery.Outgoing(scope.child("cancelled"), rooms, announce.cancelled(event), now)
    await delivery.plan(session, env, [notice])
    await delivery.drop(session, scope, {notice.key})
    where = f" Announced in {', '.join(sorted(told))}." if told else ""
    return f"Cancelled {headline(event)}: no further occurrences.{where}"


async def delete(session: AsyncSession, event: Event, now: datetime) -> str:
    """Delete the event, its RSVPs and every message still planned for it."""
    title = headline(event)
    event_id = event.id or 0
    await service.delete_event(session, event, now)
    await delivery.drop(session, announce.scope(event_id))
    return f"Deleted {title}."
