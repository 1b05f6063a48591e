"""Mentor commands: asking for help, the queue, claiming and closing, availability, figures.

Details of a request are only shown to mentors: in the Matrix mentor rooms, privately with
`mentor details` (Discord's Details button) and to the claiming mentor; lists, public answers
and Discord posts carry the topic alone. Everything people
typed is escaped before it is shown, and mass mentions are refused outright.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from bot import delivery
from bot.core import Ctx, Opt, Reply, Role, command, markup
from bot.core.durations import span
from bot.core.limits import Limit
from bot.identity import Someone, display_name, display_names, platform_label
from cogs.mentoring import announce, service
from cogs.mentoring.models import MAX_DETAILS, MAX_NOTE, MAX_TOPIC, MentorRequest
from cogs.mentoring.settings import MentoringSettings
from cogs.mentoring.topics import MENTORING

RequestId = Annotated[int, Opt("the request number, e.g. 12", min=1)]
# Enough to see who carries the load, and within one Discord embed however many mentors there are.
MENTORS_SHOWN = 20


def _headline(request: MentorRequest) -> str:
    return f"#{request.id} “{markup.escape(request.topic)}”"


async def _close_posts(ctx: Ctx, request: MentorRequest, what: str, state: str) -> None:
    requester = await display_name(ctx.session, request.person_id) or "someone"
    render = announce.closed_post(request, requester, state)
    await announce.edit_posts(ctx.session, ctx.env, request, what, render)


def _length(value: timedelta | None) -> str:
    return "no data yet" if value is None else span(value, units=2)


def _cmd(ctx: Ctx, name: str, **options: object) -> str:
    return markup.code(ctx.cmd(name, **options))


@command(
    "mentor request",
    help="Ask for one-to-one help from a mentor",
    example='mentor request "dev setup" the C extensions fail to build on Windows',
    # Each request pings the mentors.
    limit=Limit(5, timedelta(hours=1)),
)
async def mentor_request(
    ctx: Ctx,
    topic: Annotated[str, Opt("what you need help with, e.g. dev setup", max_length=MAX_TOPIC)],
    details: Annotated[
        str | None, Opt("more for the mentors; only they see it", max_length=MAX_DETAILS)
    ] = None,
) -> Reply:
    now = ctx.now()
    request = await service.create_request(
        ctx.session,
        person_id=ctx.person_id,
        topic=topic,
        details=details,
        platform=ctx.caller.platform,
        room=ctx.caller.room_id,
        now=now,
    )
    rooms = await announce.post_request(ctx.session, ctx.env, request, now)
    position = await service.queue_position(ctx.session, request.id or 0)
    median = await service.median_time_to_claim(ctx.session, now)
    lines = [f"Request {_headline(request)} is in the queue (position {position})."]
    if median is not None:
        lines.append(f"Mentors usually pick one up within {span(median, units=2)}.")
    lines.append("A mentor will contact you here when they take it.")
    if request.details:
        lines.append("Only mentors and organizers see your details.")
    if not rooms:
        lines.append("No mentor room is configured yet, so please tell an organizer.")
    ctx.changed(MENTORING)
    return Reply("\n".join(lines))


@command("mentor list", help="Mentor requests: mentors see the queue, everyone else their own")
async def mentor_list(ctx: Ctx, which: Literal["open", "mine", "all"] | None = None) -> Reply:
    mentor = ctx.role >= Role.MENTOR
    shown = which or ("open" if mentor else "mine")
    person = None if mentor and shown != "mine" else ctx.person_id
    found, returning, left = await service.list_requests(ctx.session, shown, person)
    if not found:
        if mentor:
            return Reply(f"No {'' if shown == 'all' else shown + ' '}mentor requests.")
        ask = _cmd(ctx, "mentor request", topic=...)
        return Reply(f"You have no mentor requests. Ask for help with {ask}.")
    now = ctx.now()
    names = await display_names(
        ctx.session, [p for r in found for p in (r.person_id, r.claimed_by)]
    )
    lines = []
    for request in found:
        who = names.get(request.person_id, "someone")
        state = request.status
        if request.status == "claimed":
            holder = names.get(request.claimed_by or 0, "a mentor")
            state = f"claimed by {markup.escape(holder)}"
        first = "" if request.person_id in returning else ", first request"
        age = span(now - request.created_at, units=2)
        lines.append(f"{_headline(request)} — {state} · {markup.escape(who)}{first} · {age} ago")
    if left:
        lines.append(f"… and {left} more.")
    title = {"open": "Open mentor requests", "mine": "Your mentor requests"}.get(
        shown, "All mentor requests"
    )
    return Reply("\n".join(lines), title=title)


@command(
    "mentor claim",
    help="Take a mentor request: you will get the requester's handles and details",
    example="mentor claim 12",
    role=Role.MENTOR,
    private=True,
)
async def mentor_claim(ctx: Ctx, id: RequestId) -> Reply:
    now = ctx.now()
    capacity = ctx.env.section(MentoringSettings).capacity
    request, found = await service.claim(
        ctx.session, id, ctx.person_id, capacity, now, ctx.audience
    )
    them = found.get(request.person_id, Someone("someone", []))
    me = found.get(ctx.person_id, Someone(ctx.caller.display_name, []))
    requester, mentor = them.name, me.name
    claimed = announce.closed_post(request, requester, f"✅ Claimed by {markup.escape(mentor)}")
    messages = announce.post_edits(ctx.env, request, "claimed", claimed)
    direct = announce.requester_direct(request, them.accounts)
    if direct is not None:
        notice = announce.requester_notice(request, mentor, me.accounts)
        messages.append(delivery.Outgoing(announce.key(request, "claimed"), [direct], notice, now))
    await delivery.plan(ctx.session, ctx.env, messages)
    ctx.changed(MENTORING)
    lines = [f"From {markup.escape(requester)} ({announce.handles(them.accounts)})."]
    if request.details:
        lines.append(markup.escape(request.details))
    done = _cmd(ctx, "mentor done", id=id)
    back = _cmd(ctx, "mentor release", id=id)
    lines.append(f"Reach out to them; {done} when finished, {back} to hand it back.")
    return Reply("\n".join(lines), title=f"You have {_headline(request)}")


@command(
    "mentor details",
    help="See what a requester wrote, before you claim",
    example="mentor details 12",
    role=Role.MENTOR,
    private=True,
)
async def mentor_details(ctx: Ctx, id: RequestId) -> Reply:
    request = await service.get_request(ctx.session, id)
    requester = await display_name(ctx.session, request.person_id) or "someone"
    where = platform_label(request.origin_platform)
    lines = [f"From {markup.escape(requester)} ({where}), {request.status}."]
    lines.append(markup.escape(request.details) if request.details else "No details given.")
    return Reply("\n".join(lines), title=_headline(request))


@command(
    "mentor release",
    help="Hand a request you claimed back to the queue",
    example="mentor release 12",
    role=Role.MENTOR,
)
async def mentor_release(ctx: Ctx, id: RequestId) -> Reply:
    now = ctx.now()
    organizer = ctx.role >= Role.ORGANIZER
    request = await service.release(ctx.session, id, ctx.person_id, organizer, now, ctx.audience)
    lead = "↩️ Back in the queue: its mentor released it."
    await announce.post_request(ctx.session, ctx.env, request, now, lead=lead)
    ctx.changed(MENTORING)
    return Reply(f"Released {_headline(request)}: it is back in the queue and announced again.")


@command(
    "mentor done",
    help="Close a request you claimed, with an optional note",
    example='mentor done 12 "built with MSVC 2022"',
    role=Role.MENTOR,
)
async def mentor_done(
    ctx: Ctx,
    id: RequestId,
    note: Annotated[str | None, Opt("how it ended, for the records", max_length=MAX_NOTE)] = None,
) -> Reply:
    organizer = ctx.role >= Role.ORGANIZER
    request = await service.done(
        ctx.session, id, ctx.person_id, organizer, note, ctx.now(), ctx.audience
    )
    mentor = await display_name(ctx.session, request.claimed_by) or "a mentor"
    await _close_posts(ctx, request, "done", f"☑️ Done with {markup.escape(mentor)}")
    ctx.changed(MENTORING)
    return Reply(f"Closed {_headline(request)}. Thank you!")


@command("mentor cancel", help="Withdraw your own mentor request", example="mentor cancel 12")
async def mentor_cancel(ctx: Ctx, id: RequestId) -> Reply:
    organizer = ctx.role >= Role.ORGANIZER
    now = ctx.now()
    request = await service.cancel(ctx.session, id, ctx.person_id, organizer, now, ctx.audience)
    await _close_posts(ctx, request, "cancelled", "❌ Withdrawn")
    ctx.changed(MENTORING)
    return Reply(f"Cancelled {_headline(request)}.")


@command(
    "mentor available",
    help="Say whether you can take mentor requests now",
    example="mentor available off",
    role=Role.MENTOR,
)
async def mentor_available(ctx: Ctx, state: Literal["on", "off"]) -> Reply:
    await service.set_available(ctx.session, ctx.person_id, state == "on")
    if state == "on":
        return Reply("You are available: you can claim mentor requests.")
    back = _cmd(ctx, "mentor available", state="on")
    return Reply(f"You are marked unavailable; claiming is refused until {back}.")


@command(
    "mentor stats",
    help="The mentor queue's figures: waiting, time to claim and to done, per mentor",
    role=Role.MENTOR,
)
async def mentor_stats(ctx: Ctx) -> Reply:
    figures = await service.stats(ctx.session, ctx.now())
    share = (
        f"{figures.never_claimed_30} of {figures.made_30} "
        f"({100 * figures.never_claimed_30 // figures.made_30} %)"
        if figures.made_30
        else "no requests"
    )
    lines = [
        f"Open now: {figures.open_now}",
        f"Median time to claim (30 d): {_length(figures.median_claim)}",
        f"Median time to done (30 d): {_length(figures.median_done)}",
        f"Never claimed, of requests made in the last 30 d: {share}",
    ]
    if figures.mentors:
        lines.append("Per mentor, claimed / done (30 d; 90 d), busiest first:")
        lines += [
            f"- {markup.escape(m.name)}: {m.claimed_30} / {m.done_30}; {m.claimed_90} / {m.done_90}"
            for m in figures.mentors[:MENTORS_SHOWN]
        ]
        if (more := len(figures.mentors) - MENTORS_SHOWN) > 0:
            lines.append(f"… and {more} more mentors.")
    return Reply("\n".join(lines), title="Mentoring")
