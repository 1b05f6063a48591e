"""What mentor requests post to rooms, and the escalation planner.

Every message is a delivery row with a key unique to (request, round, kind), so `bot.delivery`
sends it exactly once per room and platform whatever runs twice: a planner pass, a restart, a
second instance. A released request starts a new round, so it is announced and escalated afresh.

When a mentor claims a request, the posts about it in the mentor rooms are edited to say who
has it (their Claim buttons go), and the requester is told by direct message on the platform they
asked from, or, where they take none, with a mention in the room they asked from.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import delivery
from bot.core import markup
from bot.core.audience import Audience
from bot.core.durations import span
from bot.core.env import Env
from bot.core.reply import Button, Reply
from bot.core.rooms import Room
from bot.core.runtime import Runtime
from bot.delivery import DIRECT_PLATFORMS, Direct, Key, Outgoing, Render
from bot.identity import Account, account_line, accounts_of, display_name, platform_label
from cogs.mentoring import service
from cogs.mentoring.models import MentorRequest
from cogs.mentoring.settings import MentoringSettings

POLL = 300.0
POSTS = ("posted", "escalated", "organizers")
# Platforms whose mentor rooms may show a request's details in the post (issue 4: only mentors
# read them there). On the others, such as Discord, a channel post is no place for them.
DETAILS_IN_POSTS = frozenset({"matrix"})


def key(request: MentorRequest, what: str) -> Key:
    """`mentor:12:posted` for the first round, `mentor:12:posted:1` after one release."""
    base = Key("mentor", request.id, what)
    return base if request.round == 0 else base.child(request.round)


def handles(accounts: Sequence[Account]) -> str:
    """ "Discord: @maria, Matrix: @maria:example.org", or the one handle when there is one."""
    if len(accounts) == 1:
        return markup.escape(accounts[0].handle)
    return ", ".join(account_line(a) for a in accounts)


def mentor_rooms(env: Env) -> list[Room]:
    return env.rooms.with_purpose("mentors")


def requester_direct(request: MentorRequest, accounts: Sequence[Account]) -> Direct | None:
    """The requester's direct messages on the platform they asked from, falling back on the
    room they asked in; None where that platform has no direct messages (the console)."""
    account = next((a for a in accounts if a.platform == request.origin_platform), None)
    if account is None or request.origin_platform not in DIRECT_PLATFORMS:
        return None
    return Direct(
        f"dm:{request.person_id}",
        request.origin_platform,
        account.platform_user_id,
        fallback=request.origin_room,
    )


def post_edits(env: Env, request: MentorRequest, what: str, render: Render) -> list[Outgoing]:
    """Edits of this round's posts about *request* in the mentor rooms (once per *what*); the
    outbox plans each only where its post was planned."""
    return [
        Outgoing(
            post.child(what), mentor_rooms(env), render, request.last_activity_at, replaces=post
        )
        for post in sorted((key(request, p) for p in POSTS), key=str)
    ]


async def edit_posts(
    session: AsyncSession, env: Env, request: MentorRequest, what: str, render: Render
) -> None:
    """Rewrite this round's posts about *request* in the mentor rooms (once per *what*)."""
    await delivery.plan(session, env, post_edits(env, request, what, render))


def request_post(
    request: MentorRequest, requester: str, first_time: bool, lead: str | None = None
) -> Render:
    """The post in mentor rooms. Its details are written out only where mentor rooms are for
    mentors (Matrix); elsewhere a Details button shows them to the mentor who asks, privately."""

    def render(audience: Audience) -> Reply:
        where = platform_label(request.origin_platform)
        lines = [lead] if lead else []
        lines.append(
            f"From {markup.escape(requester)} ({where})" + (", first request" if first_time else "")
        )
        buttons = [Button("Claim", f"mentor claim {request.id}", "success")]
        if request.details and audience.platform in DETAILS_IN_POSTS:
            lines.append(markup.escape(request.details))
        elif request.details:
            buttons.append(Button("Details", f"mentor details {request.id}", "secondary"))
        return Reply("\n".join(lines), title=f"#{request.id} {request.topic}", buttons=buttons)

    return render


def closed_post(request: MentorRequest, requester: str, state: str) -> Render:
    """What a post says once the request is taken or withdrawn: no more Claim button."""

    def render(audience: Audience) -> Reply:
        where = platform_label(request.origin_platform)
        return Reply(
            f"{state} · from {markup.escape(requester)} ({where})",
            title=f"#{request.id} {request.topic}",
        )

    return render


def requester_notice(
    request: MentorRequest, mentor: str, mentor_accounts: Sequence[Account]
) -> Render:
    def render(audience: Audience) -> Reply:
        return Reply(
            f"{markup.escape(mentor)} ({handles(mentor_accounts)}) has taken your mentor request "
            f"#{request.id} “{markup.escape(request.topic)}” and will contact you. You can also "
            "write to them first."
        )

    return render


def organizers_note(request: MentorRequest, requester: str, waited: timedelta) -> Render:
    def render(audience: Audience) -> Reply:
        return Reply(
            f"📣 Organizers: request #{request.id} “{markup.escape(request.topic)}” from "
            f"{markup.escape(requester)} has waited {span(waited, units=2)} and no mentor has taken it.",
            buttons=[Button("Claim", f"mentor claim {request.id}", "success")],
            mention_roles=["organizers"],
        )

    return render


def nudge(
    request: MentorRequest, mentor: str, accounts: Sequence[Account], idle: timedelta
) -> Render:
    """Asks the mentor in the mentor rooms, pinging them where they have an account."""

    def render(audience: Audience) -> Reply:
        rid = request.id
        done = markup.code(audience.command("mentor done", id=rid))
        back = markup.code(audience.command("mentor release", id=rid))
        here = [a.platform_user_id for a in accounts if a.platform == audience.platform]
        who = "" if here else f"{markup.escape(mentor)}: "
        return Reply(
            f"{who}Request #{rid} “{markup.escape(request.topic)}” has had no news for "
            f"{span(idle, units=2)}. Is it done? {done} closes it; {back} hands it back.",
            mentions=here,
        )

    return render


async def post_request(
    session: AsyncSession,
    env: Env,
    request: MentorRequest,
    now: datetime,
    what: str = "posted",
    lead: str | None = None,
) -> int:
    """Plan the request's post to every mentor room; returns how many rooms it goes to."""
    rooms = mentor_rooms(env)
    requester = await display_name(session, request.person_id) or "someone"
    first = not await service.returning_people(session, [request.person_id])
    render = request_post(request, requester, first, lead)
    await delivery.plan(session, env, [Outgoing(key(request, what), rooms, render, now)])
    return len(rooms)


class Escalator:
    """Re-posts requests nobody took, calls on organizers, and nudges idle mentors, once each.

    Thresholds come from `[mentoring]` settings and are measured from when the request last
    became open (release restarts them) or, for the nudge, from the claim's last activity.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def plan(self) -> datetime | None:
        """Plan the messages now due; returns when the next threshold falls."""
        runtime = self.runtime
        config = runtime.env.section(MentoringSettings)
        repost = timedelta(hours=config.escalate_after_hours)
        organizers = timedelta(hours=config.escalate_to_organizers_after_hours)
        idle = timedelta(days=config.nudge_after_days)
        now = runtime.now()
        wanted: list[datetime] = []
        async with runtime.transaction() as session:
            query = select(MentorRequest).where(col(MentorRequest.status).in_(("open", "claimed")))
            due: list[tuple[Key, MentorRequest, str]] = []
            for request in (await session.exec(query)).all():
                if request.status == "open":
                    steps = [("escalated", request.opened_at + repost)]
                    steps.append(("organizers", request.opened_at + organizers))
                else:
                    steps = [("nudge", request.last_activity_at + idle)]
                for what, at in steps:
                    if at <= now:
                        due.append((key(request, what), request, what))
                    else:
                        wanted.append(at)
            sent = await delivery.planned(session, [k for k, _, _ in due])
            rooms = mentor_rooms(runtime.env)
            outgoing = [
                Outgoing(k, rooms, await self._render(session, r, what, now), now)
                for k, r, what in due
                if k not in sent
            ]
            await delivery.plan(session, runtime.env, outgoing)
        return min(wanted, default=None)

    async def _render(
        self, session: AsyncSession, request: MentorRequest, what: str, now: datetime
    ) -> Render:
        requester = await display_name(session, request.person_id) or "someone"
        if what == "escalated":
            first = not await service.returning_people(session, [request.person_id])
            waited = span(now - request.opened_at, units=2)
            lead = f"⏳ Still waiting after {waited}: can someone take it?"
            return request_post(request, requester, first, lead)
        if what == "organizers":
            return organizers_note(request, requester, now - request.opened_at)
        mentor = await display_name(session, request.claimed_by) or "Mentor"
        accounts = await accounts_of(session, request.claimed_by or 0)
        return nudge(request, mentor, accounts, now - request.last_activity_at)

    async def step(self) -> float:
        nxt = await self.plan()
        if nxt is None:
            return POLL
        return min(POLL, max(0.5, (nxt - self.runtime.now()).total_seconds()))
