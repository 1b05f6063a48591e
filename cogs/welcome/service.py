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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import RoomSettings, Settings
from bot.core.context import style_of
from bot.core.markup import code, escape
from bot.core.reply import Reply
from bot.db import insert_ignoring_conflicts
from bot.delivery import Delivery, Outgoing, encode, enqueue
from bot.identity import Account
from cogs.events import service as events
from cogs.events.models import Event
from cogs.events.render import when
from cogs.welcome.models import Welcome

WINDOW = timedelta(minutes=1)
GROUP = "welcome:group:"
SHOWN_NAMES = 10
EVENT_HORIZON_DAYS = 90
STALE_AFTER = timedelta(hours=6)
Render = Callable[[str], Reply]


@dataclass(frozen=True)
class Newcomer:
    """Who joined. Keys use the account, not the person: accounts are never deleted, while
    SQLite gives the id of a person merged away by a link to the next new person."""

    person_id: int
    account_id: int
    name: str
    platform: str


def welcome_rooms(settings: Settings, platform: str, room_ids: Sequence[str]) -> list[RoomSettings]:
    """The configured welcome rooms among *room_ids*, in config order, each reduced to
    *platform*: the welcome goes where they joined, not to the room's other side."""
    found = []
    for room in settings.rooms:
        if "welcome" not in room.purposes:
            continue
        if platform == "matrix" and room.matrix_room_id in room_ids:
            found.append(RoomSettings(name=room.name, matrix_room_id=room.matrix_room_id))
        elif platform == "discord" and str(room.discord_channel_id) in room_ids:
            found.append(RoomSettings(name=room.name, discord_channel_id=room.discord_channel_id))
    return found


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
    settings: Settings, names: Sequence[str], next_event: tuple[Event, datetime] | None
) -> Render:
    """The template filled in per platform; a line whose placeholder has nothing to show is
    left out, so one template reads well with or without a guide or an upcoming event."""
    template = settings.welcome.template
    prefix = settings.bot.command_prefix

    def render(platform: str) -> Reply:
        style = style_of(platform)
        event_text = ""
        if next_event is not None:
            event, start = next_event
            event_text = (
                f"**{escape(event.title)}**, {when(start, events.zone_of(event), None, style)}"
            )
        values = {
            "name": names_text(names),
            "guide": settings.welcome.contributor_guide or "",
            "next_event": event_text,
            "mentor": code(
                "/mentor request topic:…" if style == "slash" else f"{prefix}mentor request <topic>"
            ),
        }
        lines = []
        for line in template.split("\n"):
            used = [name for _, name, _, _ in string.Formatter().parse(line) if name]
            if all(values[name] for name in used):
                lines.append(line.format(**values))
        return Reply("\n".join(lines).strip())

    return render


async def next_newcomers_event(
    session: AsyncSession, now: datetime
) -> tuple[Event, datetime] | None:
    found = await events.upcoming(session, now, days=EVENT_HORIZON_DAYS, tier="newcomers")
    if not found:
        return None
    event, occurrence = found[0]
    return event, occurrence.start


async def welcomed(session: AsyncSession, person_id: int) -> bool:
    query = select(Welcome.id).where(Welcome.person_id == person_id).limit(1)
    return (await session.exec(query)).first() is not None


async def _open_group(session: AsyncSession, platform: str, room: str, now: datetime) -> str | None:
    """The combined welcome still waiting in *room*, locked so that joiners add themselves to
    it one after another and none of their names is lost."""
    query = (
        select(Delivery.key)
        .where(
            col(Delivery.key).startswith(GROUP),
            Delivery.platform == platform,
            Delivery.room == room,
            Delivery.status == "pending",
            col(Delivery.due_at) > now,
        )
        .order_by(col(Delivery.id).desc())
        .limit(1)
        .with_for_update()
    )
    return (await session.exec(query)).first()


async def _recent_singles(session: AsyncSession, platform: str, room: str, now: datetime) -> int:
    query = select(func.count(col(Welcome.id))).where(
        Welcome.platform == platform,
        Welcome.room == room,
        col(Welcome.welcomed_at) > now - WINDOW,
        col(Welcome.key).not_like(GROUP + "%"),
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
        .where(Welcome.key == key, Account.platform == platform)
        .order_by(col(Welcome.id))
    )
    return list((await session.exec(query)).all())


async def welcome(
    session: AsyncSession,
    settings: Settings,
    newcomer: Newcomer,
    room_ids: Sequence[str],
    now: datetime,
) -> bool:
    """Plan *newcomer*'s welcome in the welcome rooms among *room_ids*; False when there is
    nothing to do (no such room, or welcomed before, here or on another platform)."""
    rooms = welcome_rooms(settings, newcomer.platform, room_ids)
    if not rooms or await welcomed(session, newcomer.person_id):
        return False
    first = rooms[0].name
    group = await _open_group(session, newcomer.platform, first, now)
    if group is not None:
        if not await _record(session, newcomer, first, group, now):
            return False
        names = await _group_names(session, group, newcomer.platform)
        body = encode(
            message(settings, names, await next_newcomers_event(session, now))(newcomer.platform)
        )
        await session.exec(
            update(Delivery)
            .where(col(Delivery.key) == group, col(Delivery.status) == "pending")
            .values(body=body)
        )
        return True
    crowded = await _recent_singles(session, newcomer.platform, first, now)
    if crowded >= settings.welcome.per_minute:
        key, due = f"{GROUP}{newcomer.account_id}", now + WINDOW
    else:
        key, due = f"welcome:{newcomer.account_id}", now
    if not await _record(session, newcomer, first, key, now):
        return False
    render = message(settings, [newcomer.name], await next_newcomers_event(session, now))
    await enqueue(session, [Outgoing(key, rooms, render, due, due + STALE_AFTER)])
    return True
