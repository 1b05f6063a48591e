"""Welcomes, once per person ever, and never a flood.

A welcome is a delivery row planned in the same transaction as the `Welcome` row that marks the
person welcomed, so a crash loses neither and a restart repeats neither; the delivery key
(`welcome:<account>`) makes a second plan of it a no-op.

Rate limit: a room gets at most `[welcome] per_minute` welcomes one by one in any minute. Anyone
joining beyond that is welcomed in one combined message ("Welcome, A, B, C and 9 others!") sent
a minute after the first of them; while it waits, later joiners are added to it. A raid thus
costs the room at most `per_minute` + 1 messages a minute, and every person is still welcomed,
and marked welcomed, exactly once.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, not_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import delivery
from bot.core.audience import Audience
from bot.core.env import Env
from bot.core.markup import code, escape
from bot.core.reply import Reply
from bot.core.rooms import Room, Rooms
from bot.db import insert_ignoring_conflicts
from bot.delivery import Key, Outgoing, Render
from bot.identity import Account, remembered
from cogs.events import api as events
from cogs.welcome.models import Welcome
from cogs.welcome.settings import WelcomeSettings

WINDOW = timedelta(minutes=1)
GROUPS = Key("welcome", "group")
SHOWN_NAMES = 10
EVENT_HORIZON_DAYS = 90
STALE_AFTER = timedelta(hours=6)


@dataclass(frozen=True)
class Newcomer:
    """Who joined. Keys use the account, not the person: accounts are never deleted, while
    SQLite gives the id of a person merged away by a link to the next new person."""

    person_id: int
    account_id: int
    name: str
    platform: str


def welcome_rooms(rooms: Rooms, platform: str, room_ids: Sequence[str]) -> list[Room]:
    """The configured welcome rooms among *room_ids*, in config order, each reduced to
    *platform*: the welcome goes where they joined, not to the room's other side."""
    return [
        room.only(platform)
        for room in rooms.with_purpose("welcome")
        if room.target(platform) in room_ids
    ]


def names_text(names: Sequence[str]) -> str:
    """ "A", "A and B", "A, B and C", and past SHOWN_NAMES "A, B, … and 9 others"."""
    shown = [escape(name) for name in names[:SHOWN_NAMES]]
    rest = len(names) - len(shown)
    if rest:
        return f"{', '.join(shown)} and {rest} other{'s' if rest > 1 else ''}"
    if len(shown) == 1:
        return shown[0]
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def message(
    env: Env, names: Sequence[str], next_event: tuple[events.Event, datetime] | None
) -> Render:
    """The template filled in per platform; a line whose placeholder has nothing to show is
    left out, so one template reads well with or without a guide or an upcoming event."""
    settings = env.section(WelcomeSettings)

    def render(audience: Audience) -> Reply:
        event_text = ""
        if next_event is not None:
            event, start = next_event
            shown = events.occurs(event, start, None, audience.style)
            event_text = f"**{escape(event.title)}**, {shown}"
        values = {
            "name": names_text(names),
            "guide": settings.contributor_guide or "",
            "next_event": event_text,
            "mentor": code(audience.command("mentor request", topic=...)),
        }
        lines = []
        for line in settings.template.split("\n"):
            used = [name for _, name, _, _ in string.Formatter().parse(line) if name]
            if all(values[name] for name in used):
                lines.append(line.format(**values))
        return Reply("\n".join(lines).strip())

    return render


async def next_newcomers_event(
    session: AsyncSession, now: datetime
) -> tuple[events.Event, datetime] | None:
    found = await events.upcoming(session, now, days=EVENT_HORIZON_DAYS, tier="newcomers")
    if not found:
        return None
    event, occurrence = found[0]
    return event, occurrence.start


async def welcomed(session: AsyncSession, person_id: int) -> bool:
    query = select(Welcome.id).where(Welcome.person_id == person_id).limit(1)
    return (await session.exec(query)).first() is not None


async def _recent_singles(session: AsyncSession, platform: str, room: str, now: datetime) -> int:
    query = select(func.count(col(Welcome.id))).where(
        Welcome.platform == platform,
        Welcome.room == room,
        col(Welcome.welcomed_at) > now - WINDOW,
        not_(delivery.within(col(Welcome.key), GROUPS)),
    )
    return (await session.exec(query)).one()


async def _record(
    session: AsyncSession, newcomer: Newcomer, room: str, key: str, now: datetime
) -> bool:
    """Mark *newcomer* welcomed; False when a concurrent join of theirs did it first."""
    result = await session.exec(
        insert_ignoring_conflicts(session, Welcome).values(
            person_id=newcomer.person_id,
            platform=newcomer.platform,
            room=room,
            key=key,
            welcomed_at=now,
        )
    )
    return bool(result.rowcount)


async def _group_names(session: AsyncSession, key: str, platform: str) -> list[str]:
    query = (
        select(Account.display_name)
        .join(Welcome, col(Welcome.person_id) == col(Account.person_id))
        .where(Welcome.key == key, Account.platform == platform, remembered())
        .order_by(col(Welcome.id))
    )
    return list((await session.exec(query)).all())


async def welcome(
    session: AsyncSession,
    env: Env,
    newcomer: Newcomer,
    room_ids: Sequence[str],
    now: datetime,
) -> bool:
    """Plan *newcomer*'s welcome in the welcome rooms among *room_ids*; False when there is
    nothing to do (no such room, or welcomed before, here or on another platform)."""
    rooms = welcome_rooms(env.rooms, newcomer.platform, room_ids)
    if not rooms or await welcomed(session, newcomer.person_id):
        return False
    first = rooms[0].name
    group = await delivery.waiting(session, GROUPS, newcomer.platform, first, now)
    if group is not None:
        if not await _record(session, newcomer, first, str(group), now):
            return False
        names = await _group_names(session, str(group), newcomer.platform)
        upcoming = await next_newcomers_event(session, now)
        await delivery.amend(session, env, group, message(env, names, upcoming))
        return True
    crowded = await _recent_singles(session, newcomer.platform, first, now)
    if crowded >= env.section(WelcomeSettings).per_minute:
        key, due = GROUPS.child(newcomer.account_id), now + WINDOW
    else:
        key, due = Key("welcome", newcomer.account_id), now
    if not await _record(session, newcomer, first, str(key), now):
        return False
    render = message(env, [newcomer.name], await next_newcomers_event(session, now))
    await delivery.plan(session, env, [Outgoing(key, rooms, render, due, due + STALE_AFTER)])
    return True
