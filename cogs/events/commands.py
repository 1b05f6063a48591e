from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from bot import delivery
from bot.core import Ctx, Opt, Reply, Role, UserError, command, markup
from bot.core.audience import Named
from bot.core.durations import span
from bot.core.limits import Limit
from cogs.events import announce, editing, limits, service
from cogs.events.models import Event
from cogs.events.recurrence import Occurrence, describe
from cogs.events.render import headline, labels, occurs, whole_days
from cogs.events.timeparse import parse_date, parse_offsets, parse_zone
from cogs.events.topics import EVENTS, RSVPS

Kind = Literal["meeting", "sprint", "docathon", "office-hours", "review-hour", "other"]
Tier = Literal["everyone", "newcomers", "contributors", "core"]
EventId = Annotated[int, Opt("the event number, e.g. 3", min=1)]
DateText = Annotated[str, Opt("a date in the event's zone, e.g. 2026-12-07", max_length=40)]


async def _viewer(ctx: Ctx) -> ZoneInfo | None:
    return await service.zone_for(ctx.session, ctx.person_id)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _pattern(event: Event) -> str:
    """How the event repeats, at what local time and for how long."""
    repeats = _sentence(describe(event.rrule, event.start_local))
    if event.all_day:
        days = whole_days(event)
        return f"{repeats}, all day" + (f" ({days} days)" if days > 1 else "")
    return f"{repeats}, {event.start_local:%H:%M} {event.timezone} ({event.duration_min} min)"


def _when(ctx: Ctx, event: Event, occurrence: Occurrence, viewer: ZoneInfo | None) -> str:
    text = occurs(event, occurrence.start, viewer, ctx.caller.style)
    return f"{text} (moved)" if occurrence.moved else text


@command(
    "event create",
    help="Schedule a meeting, sprint, docathon or office hours, once or repeating",
    example='event create "Monthly core meeting" start="2026-12-07 17:00" tz=Europe/Paris '
    "repeat=monthly-nth duration=60",
    role=Role.ORGANIZER,
)
async def event_create(
    ctx: Ctx,
    title: Annotated[
        str, Opt("what it is, e.g. Monthly core meeting", max_length=limits.MAX_TITLE)
    ],
    start: Annotated[str, Opt("local date and time, e.g. 2026-12-07 17:00", max_length=40)],
    tz: Annotated[str | None, Opt("IANA zone, e.g. Europe/Paris", max_length=64)] = None,
    repeat: Annotated[
        str, Opt("none, daily, weekly, biweekly, monthly, monthly-nth, quarterly or an RRULE")
    ] = "none",
    until: Annotated[str | None, Opt("last date of the series, e.g. 2027-06-30")] = None,
    count: Annotated[int | None, Opt("number of occurrences", min=1, max=1000)] = None,
    duration: Annotated[str, Opt("length, e.g. 60, 90m or 1h30", max_length=20)] = "60",
    kind: Kind = "meeting",
    tier: Tier = "everyone",
    link: Annotated[str | None, Opt("video call URL", max_length=limits.MAX_LINK)] = None,
    reminders: Annotated[str, Opt("before the start, e.g. 24h,15m or none")] = "24h,15m",
    rooms: Annotated[str | None, Opt("room names, comma-separated")] = None,
    description: Annotated[str | None, Opt("details", max_length=limits.MAX_DESCRIPTION)] = None,
    mention: Annotated[
        str | None, Opt("a role to ping in its announcements, e.g. Sprinters", max_length=100)
    ] = None,
) -> Reply:
    new = editing.new_event(
        title=title,
        start=start,
        tz=tz,
        default_zone=ctx.env.timezone,
        repeat=repeat,
        until=until,
        count=count,
        duration=duration,
        kind=kind,
        tier=tier,
        link=link,
        reminders=reminders,
        rooms=editing.rooms(ctx.env.rooms, rooms),
        description=description,
        mention=editing.existing_role(ctx.roles, mention),
    )
    event, next_three = await service.create_event(
        ctx.session, new, person_id=ctx.person_id, now=ctx.now()
    )
    viewer = await _viewer(ctx)
    lines = [
        f"{_pattern(event)} · {labels(event)}",
        *(f"- {_when(ctx, event, o, viewer)}" for o in next_three),
        _reminder_line(new.reminders, new.rooms, event.mention_role),
    ]
    ctx.changed(EVENTS)
    return Reply("\n".join(lines), title=f"Event #{event.id} “{event.title}”")


def _reminder_line(offsets: tuple[timedelta, ...], rooms: tuple[str, ...], role: str | None) -> str:
    where = ", ".join(rooms) if rooms else "no room yet (add rooms=…)"
    ping = f", pinging @{markup.escape(role)}" if role else ""
    if not offsets:
        return f"No reminders; announced at the start in {where}{ping}."
    told = ", ".join(span(o) for o in offsets)
    return f"Reminders {told} before, and at the start, in {where}{ping}."


@command("event list", help="Upcoming meetings, sprints and other events, in order")
async def event_list(
    ctx: Ctx,
    days: Annotated[int, Opt("how far ahead to look", min=1, max=366)] = 14,
    kind: Kind | None = None,
    tier: Tier | None = None,
) -> Reply:
    found = await service.upcoming(ctx.session, ctx.now(), days=days, kind=kind, tier=tier)
    if not found:
        hint = (
            f" Organizers: {markup.code(ctx.cmd('event create …'))}"
            if ctx.role >= Role.ORGANIZER
            else ""
        )
        return Reply(f"No events in the next {days} days.{hint}")
    viewer = await _viewer(ctx)
    lines = [f"{headline(e)} — {_when(ctx, e, o, viewer)} · {labels(e)}" for e, o in found]
    return Reply("\n".join(lines), title=f"Upcoming in the next {days} days")


@command(
    "event show", help="An event's details, next occurrences and RSVPs", example="event show 3"
)
async def event_show(ctx: Ctx, id: EventId) -> Reply:
    event = await service.get_event(ctx.session, id, ctx.audience)
    changes = await service.changes_of(ctx.session, id)
    next_five = service.expand(event, changes, after=ctx.now(), limit=5)
    viewer = await _viewer(ctx)
    lines = [f"{_pattern(event)} · {labels(event)}"]
    if event.cancelled_at is not None:
        lines.append("**Cancelled.**")
    if event.link:
        lines.append(f"Link: {markup.link(event.link)}")
    if event.description:
        lines.append(markup.escape(event.description))
    for occurrence in next_five:
        counts = await service.rsvp_counts(ctx.session, event, occurrence)
        rsvps = ", ".join(f"{counts[s]} {s}" for s in ("going", "maybe") if counts[s])
        lines.append(f"- {_when(ctx, event, occurrence, viewer)}{f' — {rsvps}' if rsvps else ''}")
    if not next_five:
        lines.append("No upcoming occurrences.")
    rooms = await service.rooms_of(ctx.session, id)
    ping = f", pinging @{markup.escape(event.mention_role)}" if event.mention_role else ""
    lines.append(f"Rooms: {', '.join(rooms) or 'none'}{ping}")
    if ctx.role >= Role.ORGANIZER:
        for failed in await delivery.refusals(ctx.session, announce.scope(id)):
            lines.append(
                f"Not delivered to {failed.room} ({failed.platform}): {markup.escape(failed.error)}"
            )
    return Reply("\n".join(lines), title=f"Event #{event.id} “{event.title}”")


@command(
    "event rsvp",
    help="Say whether you are coming to the next (or a given) occurrence",
    example="event rsvp 3 going remind=15m",
    limit=Limit(30, timedelta(minutes=10)),
)
async def event_rsvp(
    ctx: Ctx,
    id: EventId,
    answer: Literal["going", "maybe", "no"],
    date: Annotated[str | None, Opt("which occurrence, e.g. 2026-12-07", max_length=40)] = None,
    remind: Annotated[
        str | None, Opt("a direct message before it starts, e.g. 15m or 1h; off for none")
    ] = None,
) -> Reply:
    event = await service.get_event(ctx.session, id, ctx.audience)
    now = ctx.now()
    lead = _personal_lead(ctx, answer, remind)
    if date is None:
        nxt = service.expand(event, await service.changes_of(ctx.session, id), after=now, limit=1)
        if not nxt:
            raise UserError(f"Event #{id} has no upcoming occurrence.")
        occurrence = nxt[0]
    else:
        day = parse_date(date)
        occurrence = await service.occurrence_on(ctx.session, event, day, now)
        if occurrence.start <= now:
            raise UserError("That occurrence has already started.")
    reminder = (
        None if lead is None else service.Reminder(lead, ctx.caller.platform, ctx.caller.room_id)
    )
    kept = await service.rsvp(
        ctx.session,
        event,
        ctx.person_id,
        answer,
        occurrence,
        now,
        reminder=reminder,
        keep=remind is None,
    )
    ctx.changed(RSVPS)
    viewer = await _viewer(ctx)
    lines = [f"Noted: {answer} for {headline(event)} on {_when(ctx, event, occurrence, viewer)}."]
    if kept is not None:
        lines.append(
            f"I'll send you a direct message {span(timedelta(minutes=kept))} before it starts."
        )
    elif answer == "going" and ctx.caller.platform in delivery.DIRECT_PLATFORMS:
        ask = ctx.cmd("event rsvp", id=id, answer="going", remind=Named("15m"))
        lines.append(f"Want a reminder? {markup.code(ask)}")
    return Reply("\n".join(lines))


def _personal_lead(ctx: Ctx, answer: str, remind: str | None) -> timedelta | None:
    """The lead asked for, None for none; refuses what cannot be kept."""
    if remind is None or remind.strip().lower() in ("off", "none", "no"):
        return None
    if answer != "going":
        example = ctx.cmd("event rsvp", id=3, answer="going", remind=Named("15m"))
        raise UserError(f"Personal reminders are for people going, e.g. {markup.code(example)}")
    if ctx.caller.platform not in delivery.DIRECT_PLATFORMS:
        raise UserError("Personal reminders come by direct message on Discord or Matrix.")
    leads = parse_offsets(remind)
    if len(leads) != 1:
        raise UserError("Give one reminder time, e.g. remind=15m or remind=1h")
    return leads[0]


@command(
    "event skip",
    help="Skip one occurrence of a series",
    example="event skip 3 2027-01-04",
    role=Role.ORGANIZER,
)
async def event_skip(ctx: Ctx, id: EventId, date: DateText) -> Reply:
    event = await service.get_event(ctx.session, id, ctx.audience)
    skipped = await editing.skip(ctx.session, event, date, ctx.now())
    zone = service.zone_of(event)
    nxt = service.expand(event, await service.changes_of(ctx.session, id), after=ctx.now(), limit=1)
    after = f" Next: {_when(ctx, event, nxt[0], await _viewer(ctx))}." if nxt else ""
    ctx.changed(EVENTS)
    return Reply(f"Skipped #{id} on {skipped.original_start.astimezone(zone):%a %d %b %Y}.{after}")


@command(
    "event move",
    help="Move one occurrence to another date and time",
    example='event move 3 2027-01-04 "2027-01-05 17:00"',
    role=Role.ORGANIZER,
)
async def event_move(
    ctx: Ctx,
    id: EventId,
    date: DateText,
    start: Annotated[str, Opt("new local start, e.g. 2027-01-05 17:00", max_length=40)],
) -> Reply:
    event = await service.get_event(ctx.session, id, ctx.audience)
    moved, new_start = await editing.move(ctx.session, event, date, start, ctx.now(), ctx.audience)
    zone = service.zone_of(event)
    ctx.changed(EVENTS)
    return Reply(
        f"Moved #{id} from {moved.original_start.astimezone(zone):%a %d %b %Y} to "
        f"{occurs(event, new_start, await _viewer(ctx), ctx.caller.style)}."
    )


@command(
    "event cancel",
    help="End a series (or a one-off event) from now on",
    example="event cancel 3",
    role=Role.ORGANIZER,
)
async def event_cancel(ctx: Ctx, id: EventId) -> Reply:
    event = await service.get_event(ctx.session, id, ctx.audience)
    return Reply(await editing.cancel(ctx.session, ctx.env, event, ctx.now()))


@command(
    "event delete",
    help="Delete an event and its RSVPs entirely",
    example="event delete 3",
    role=Role.ORGANIZER,
)
async def event_delete(ctx: Ctx, id: EventId) -> Reply:
    event = await service.get_event(ctx.session, id, ctx.audience)
    done = await editing.delete(ctx.session, event, ctx.now())
    ctx.changed(EVENTS)
    return Reply(done)


@command(
    "event edit",
    help="Change an event's fields, e.g. title, start, link, duration",
    example="event edit 3 link=https://meet.example.org/core duration=90",
    role=Role.ORGANIZER,
)
async def event_edit(
    ctx: Ctx,
    id: EventId,
    title: Annotated[str | None, Opt("new title", max_length=limits.MAX_TITLE)] = None,
    start: Annotated[str | None, Opt("new local start, e.g. 2026-12-07 17:00")] = None,
    tz: Annotated[str | None, Opt("new IANA zone")] = None,
    repeat: Annotated[str | None, Opt("new repeat rule")] = None,
    duration: Annotated[str | None, Opt("new length, e.g. 90m")] = None,
    kind: Kind | None = None,
    tier: Tier | None = None,
    link: Annotated[
        str | None, Opt("new video call URL, or none to remove it", max_length=limits.MAX_LINK)
    ] = None,
    reminders: Annotated[str | None, Opt("new reminders, e.g. 1h or none")] = None,
    description: Annotated[
        str | None, Opt("new details, or none to remove them", max_length=limits.MAX_DESCRIPTION)
    ] = None,
    mention: Annotated[str | None, Opt("a role to ping, or none", max_length=100)] = None,
) -> Reply:
    event = await service.get_event(ctx.session, id, ctx.audience)
    given = {
        k: v
        for k, v in dict(
            title=title,
            start=start,
            tz=tz,
            repeat=repeat,
            duration=duration,
            kind=kind,
            tier=tier,
            link=link,
            reminders=reminders,
            description=description,
            mention=mention,
        ).items()
        if v is not None
    }
    if "mention" in given:
        given["mention"] = editing.existing_role(ctx.roles, given["mention"]) or "none"
    await editing.edit(ctx.session, event, given, ctx.now())
    ctx.changed(EVENTS)
    return Reply(f"Updated {headline(event)}: {', '.join(sorted(given))}.")


@command(
    "event calendar",
    help="The address of the calendar feed to subscribe to",
)
async def event_calendar(
    ctx: Ctx,
    tier: Tier | None = None,
    kind: Kind | None = None,
) -> Reply:
    base = ctx.env.web.url
    if base is None:
        raise UserError(
            "The calendar feed is not served here: the bot's web server is off. "
            "Organizers can turn it on with `[web] enabled = true`."
        )
    query = "&".join(f"{k}={v}" for k, v in (("tier", tier), ("kind", kind)) if v)
    url = f"{base}/calendar.ics{'?' + query if query else ''}"
    return Reply(f"Subscribe in your calendar app: {url}")


@command(
    "tz set", help="Your own time zone, to see event times in it", example="tz set Europe/Paris"
)
async def tz_set(
    ctx: Ctx, zone: Annotated[str, Opt("an IANA zone, e.g. America/New_York", max_length=64)]
) -> Reply:
    parsed = parse_zone(zone)
    await service.set_zone(ctx.session, ctx.person_id, parsed)
    return Reply(f"Your time zone is now {parsed.key}; event times show it too.")
