"""Rooms from chat through the real registry and store, on SQLite and PostgreSQL: `room add`
binds the caller's channel and links platforms, `room list` and `room remove`, every refusal
writes nothing, the file wins, and a second instance on the same store sees a room on its next poll."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.assembly import assemble
from bot.config import parse_settings
from bot.core import Role
from bot.core.router import Router
from bot.rooms_store import POLL_SECONDS, RoomBinding, bindings, version
from tests.support.clock import Clock
from tests.support.fake_platform import FakePlatform, FakeUser
from tests.support.house import build_bot

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
FILE_ROOMS: list[dict[str, Any]] = [
    {"name": "lobby", "discord_channel_id": 7, "purposes": ["welcome"]},
]
SETTINGS = parse_settings({"rooms": FILE_ROOMS})


def bot_on(sessions: async_sessionmaker[AsyncSession], settings: Any = SETTINGS) -> Router:
    return build_bot(sessions, settings, clock=Clock(T0))


def organizer(bot: Router, platform: str = "discord", room: str = "42") -> FakeUser:
    style = "slash" if platform == "discord" else "text"
    user = FakePlatform(bot, name=platform, style=style).person(f"u-{platform}", Role.ORGANIZER)
    user.room_id = room
    return user


async def stored(bot: Router) -> tuple[int, list[tuple[str, str, str, str]]]:
    async with bot.runtime.sessions() as session:
        rows: list[RoomBinding] = await bindings(session)
        return await version(session), [(r.name, r.platform, r.target, r.purposes) for r in rows]


async def test_room_add_binds_this_channel_and_links_platforms(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    bot = bot_on(sessions)
    olivia = organizer(bot, "discord", "42")
    said = await olivia.say("!room add community announcements")
    assert "This channel is now room community: Discord <#42>." in said.text
    assert "For: announcements." in said.text
    omar = organizer(bot, "matrix", "!c:x")
    said = await omar.say("!room add community announcements, welcome")
    assert "room community (linked)" in said.text
    assert "Discord channel 42" in said.text and "Matrix !c:x" in said.text

    room = bot.runtime.env.rooms.get("community")
    assert room is not None and room.origin == "chat"
    assert room.places == {"discord": "42", "matrix": "!c:x"}
    assert room.purposes == {"announcements", "welcome"}

    listed = (await olivia.say("!room list")).text
    assert "Rooms (2)" in listed
    assert "lobby (config file): welcome — Discord <#7>" in listed
    assert "community (from chat): announcements, welcome — Discord <#42>, Matrix !c:x" in listed

    # The new room is used at once: an event's default rooms are the announcements rooms.
    created = await omar.say('!event create "Sprint" start="2026-12-09 10:00" tz=UTC')
    assert "community" in created.text


async def test_room_remove_takes_a_chat_room_away_everywhere(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    bot = bot_on(sessions)
    olivia = organizer(bot)
    await olivia.say("!room add help help")
    said = await olivia.say("!room remove help")
    assert "Room help is removed (Discord <#42>)" in said.text
    assert bot.runtime.env.rooms.get("help") is None
    assert (await stored(bot))[1] == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "!room add help helpdesk",
            "'helpdesk' is not a room purpose. The purposes are: announcements, digest, help, "
            "mentors, reviews, welcome.",
        ),
        ("!room add lobby help", "The config file already has a room called lobby"),
        ("!room add bad,name help", "'bad,name' cannot be a room name"),
        ("!room remove lobby", "Room lobby comes from the config file"),
        ("!room remove nowhere", "No room called 'nowhere' was added from chat"),
    ],
)
async def test_bad_input_says_what_and_shows_an_example_and_writes_nothing(
    sessions: async_sessionmaker[AsyncSession], line: str, expected: str
) -> None:
    bot = bot_on(sessions)
    said = await organizer(bot).say(line)
    assert said.reply.error
    assert expected in said.text
    assert "Example: " in said.text
    assert await stored(bot) == (0, [])


async def test_taken_names_and_channels_are_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    bot = bot_on(sessions)
    olivia = organizer(bot, room="42")
    await olivia.say("!room add help help")
    before = await stored(bot)

    olivia.room_id = "43"
    said = await olivia.say("!room add help help")
    assert "Room help is already in another Discord channel (Discord <#42>)" in said.text
    olivia.room_id = "42"
    said = await olivia.say("!room add questions help")
    assert "This channel is already room help. Remove that first with /room remove" in said.text
    olivia.room_id = "7"
    said = await olivia.say("!room add greetings welcome")
    assert "This channel is room lobby in the config file" in said.text
    olivia.is_direct = True
    said = await olivia.say("!room add dm help")
    assert "binds the channel it is typed in" in said.text
    console = FakePlatform(bot, name="console").person("me", Role.ORGANIZER)
    said = await console.say("!room add here help")
    assert "binds the channel it is typed in" in said.text
    contributor = FakePlatform(bot, name="discord", style="slash").person("c")
    said = await contributor.say("!room add mine help")
    assert "Only organizers can use /room add" in said.text
    assert await stored(bot) == before


async def test_a_second_instance_sees_a_room_on_its_next_poll(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = assemble(sessions, SETTINGS, clock=Clock(T0))
    second = assemble(sessions, SETTINGS, clock=Clock(T0))
    await organizer(first.router).say("!room add community announcements")
    assert first.runtime.env.rooms.get("community") is not None
    assert second.runtime.env.rooms.get("community") is None
    # The second instance's rooms timer reads the version and the new binding.
    assert await second.rooms.poll(second.runtime) == POLL_SECONDS
    said = await organizer(second.router, "matrix", "!m:x").say(
        '!event create "Sprint" start="2026-12-09 10:00" tz=UTC'
    )
    assert "community" in said.text
    await organizer(second.router).say("!room remove community")
    assert second.runtime.env.rooms.get("community") is None
    await first.rooms.poll(first.runtime)
    assert first.runtime.env.rooms.get("community") is None


async def test_the_file_wins_a_conflict_and_it_is_reported_at_start(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    bot = bot_on(sessions)
    olivia = organizer(bot, room="42")
    await olivia.say("!room add help help")
    olivia.room_id = "43"
    await olivia.say("!room add mentoring mentors")

    # The file now has a room "help" and binds channel 43 under another name.
    rooms = [*FILE_ROOMS, {"name": "help", "discord_channel_id": 9, "purposes": ["help"]}]
    rooms.append({"name": "mentors", "discord_channel_id": 43, "purposes": ["mentors"]})
    house = assemble(sessions, parse_settings({"rooms": rooms}), clock=Clock(T0))
    restarted = house.router
    with caplog.at_level(logging.WARNING, logger="bot.rooms_store"):
        await house.rooms.poll(house.runtime)  # as the app does once at start
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2
    assert (
        "room 'help' bound from chat on discord (42) is ignored: the config file has a room"
        in (warnings[0])
    )
    assert "the config file binds that channel as 'mentors'" in warnings[1]
    live = restarted.runtime.env.rooms
    assert live.get("help") is not None and live.get("help").places == {"discord": "9"}  # type: ignore[union-attr]
    assert live.get("mentoring") is None
    listed = (await organizer(restarted).say("!room list")).text
    assert "- ignored: room 'help' bound from chat" in listed
    # The chat binding the file overrides can still be removed from chat.
    said = await organizer(restarted).say("!room remove help")
    assert "the config file's room stays" in said.text


async def test_two_instances_binding_one_channel_at_once_take_turns(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The version row is raised first: on PostgreSQL its lock makes the second change wait
    for the first, so it sees the first's binding and is refused instead of failing."""
    first, second = bot_on(sessions), bot_on(sessions)
    said = await asyncio.gather(
        organizer(first).say("!room add help help"),
        organizer(second).say("!room add questions help"),
    )
    texts = sorted(s.text for s in said)
    assert sum("This channel is now room" in t for t in texts) == 1, texts
    assert sum("This channel is already room" in t for t in texts) == 1, texts
    assert (await stored(first))[0] == 1
