"""`room add`, `room list` and `room remove`: the rooms of the house, from the channel itself.

The store's side (the bindings, their version, the file's precedence) is `bot/rooms_store.py`,
since every feature and platform reads the rooms; here is only what organizers type and see.
"""

from __future__ import annotations

import re
from typing import Annotated

from bot import rooms_store
from bot.core import Ctx, Opt, Reply, Role, UserError, command, markup
from bot.core.rooms import ROOMS, Room
from bot.identity import platform_label

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
ROOMED = ("discord", "matrix")

RoomName = Annotated[str, Opt("the room's name, e.g. help", max_length=64, word=True)]


def _place(ctx: Ctx, platform: str, target: str) -> str:
    """Where a room is, as organizers recognise it: on Discord a channel is a link there."""
    if platform == "discord":
        shown = f"<#{target}>" if ctx.caller.platform == "discord" else f"channel {target}"
        return f"{platform_label(platform)} {shown}"
    return f"{platform_label(platform)} {markup.code(target)}"


def _purposes(ctx: Ctx, given: str) -> list[str]:
    words = list(dict.fromkeys(w for w in re.split(r"[\s,]+", given.strip().lower()) if w))
    known = sorted(ctx.env.purposes)
    unknown = [w for w in words if w not in ctx.env.purposes]
    if unknown or not words:
        what = (
            f"{markup.quoted(unknown[0])} is not a room purpose"
            if unknown
            else "Give the room at least one purpose"
        )
        valid = ", ".join(markup.code(p) for p in known) or "none (no loaded feature has one)"
        raise UserError(f"{what}. The purposes are: {valid}.", show_usage=True)
    return words


def _name(name: str) -> str:
    if not _NAME.match(name):
        raise UserError(
            f"{markup.quoted(name)} cannot be a room name: use letters, digits, - and _ "
            "(at most 64), starting with a letter or digit, such as help or core-team.",
            show_usage=True,
        )
    return name


def _refusal(ctx: Ctx, taken: rooms_store.Taken, platform: str) -> UserError:
    by = markup.escape(taken.by)
    remove = markup.code(ctx.cmd("room remove", name=taken.by))
    if taken.origin == "file":
        if taken.what == "name":
            text = (
                f"The config file already has a room called **{by}**, and the file's rooms "
                "are changed in the file. Pick another name."
            )
        else:
            text = (
                f"This channel is room **{by}** in the config file; a channel is one room. "
                "Change it in the file, or use another channel."
            )
    elif taken.what == "channel":
        text = f"This channel is already room **{by}**. Remove that first with {remove}."
    else:
        text = (
            f"Room **{by}** is already in another {platform_label(platform)} channel "
            f"({_place(ctx, platform, taken.target)}); a room has one channel per platform. "
            f"Pick another name, or remove it first with {remove}."
        )
    return UserError(text, show_usage=True)


@command(
    "room add",
    help="Make this channel the room NAME, for the purposes given (organizers)",
    example="room add community announcements welcome",
    role=Role.ORGANIZER,
)
async def room_add(
    ctx: Ctx,
    name: RoomName,
    purposes: Annotated[
        str, Opt("what the room is for, e.g. announcements welcome", max_length=200)
    ],
) -> Reply:
    caller = ctx.caller
    if caller.is_direct or caller.platform not in ROOMED:
        raise UserError(
            f"{markup.code(ctx.cmd('room add'))} binds the channel it is typed in: type it in "
            "that Discord channel or Matrix room, not in a direct message or the console.",
            show_usage=True,
        )
    wanted = _purposes(ctx, purposes)
    name = _name(name)
    file = [room for room in ctx.env.rooms if room.origin == "file"]
    outcome = await rooms_store.bind(
        ctx.session, file, name, caller.platform, caller.room_id, wanted, ctx.now()
    )
    if isinstance(outcome, rooms_store.Taken):
        raise _refusal(ctx, outcome, caller.platform)
    ctx.changed(ROOMS)
    where = ", ".join(_place(ctx, row.platform, row.target) for row in outcome)
    linked = " (linked)" if len(outcome) > 1 else ""
    return Reply(
        f"This channel is now room **{name}**{linked}: {where}.\n"
        f"For: {', '.join(wanted)}. It works at once, on every instance; see "
        f"{markup.code(ctx.cmd('room list'))}."
    )


def _line(ctx: Ctx, room: Room) -> str:
    where = ", ".join(_place(ctx, p, t) for p, t in room.places.items()) or "nowhere"
    purposes = ", ".join(sorted(room.purposes)) or "no purpose"
    origin = "config file" if room.origin == "file" else "from chat"
    return f"- **{markup.escape(room.name)}** ({origin}): {purposes} — {where}"


@command("room list", help="Show the rooms, their purposes and platforms", role=Role.ORGANIZER)
async def room_list(ctx: Ctx) -> Reply:
    rooms = list(ctx.env.rooms)
    lines = [_line(ctx, room) for room in rooms]
    if not rooms:
        example = markup.code(ctx.cmd("room add", name="community", purposes="announcements"))
        lines.append(f"No rooms yet. In a channel, type {example} to make it one.")
    file = [room for room in rooms if room.origin == "file"]
    _, conflicts = rooms_store.merge(file, await rooms_store.bindings(ctx.session))
    lines += [f"- ignored: {markup.escape(conflict.line())}" for conflict in conflicts]
    return Reply("\n".join(lines), title=f"Rooms ({len(rooms)})")


@command(
    "room remove",
    help="Stop using a room bound from chat, on every platform (organizers)",
    example="room remove community",
    role=Role.ORGANIZER,
)
async def room_remove(ctx: Ctx, name: RoomName) -> Reply:
    room = ctx.env.rooms.get(name)
    removed = await rooms_store.unbind(ctx.session, name)
    shown = markup.escape(name)
    if room is not None and room.origin == "file":
        if not removed:
            raise UserError(
                f"Room **{shown}** comes from the config file: remove its [[rooms]] table "
                "there and restart. Only rooms added from chat are removed here.",
                show_usage=True,
            )
        ctx.changed(ROOMS)
        return Reply(
            f"Removed the binding of **{shown}** made from chat, which the config file's room "
            "of that name overrode; the config file's room stays."
        )
    if not removed:
        chat = [r.name for r in ctx.env.rooms if r.origin == "chat"]
        known = ", ".join(markup.escape(n) for n in chat) or "none"
        raise UserError(
            f"No room called {markup.quoted(name)} was added from chat (rooms from chat: {known}).",
            show_usage=True,
        )
    ctx.changed(ROOMS)
    where = ", ".join(_place(ctx, row.platform, row.target) for row in removed)
    return Reply(
        f"Room **{shown}** is removed ({where}): nothing new is planned for it from now on."
    )
