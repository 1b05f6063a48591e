"""Rooms added from chat take effect without a restart: `/room add` in a Discord channel makes
an event's reminder reach it, and a member joining is welcomed there; `!room add` of the same
name in a Matrix room an organizer invited the bot to links the two, and the reminder reaches
both; a room the file and the store both claim is reported at start, and the file wins."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.app import App
from bot.config import parse_settings
from bot.core.bus import DELIVERIES
from bot.rooms_store import RoomBinding
from tests.support.bot_harness import running
from tests.support.clock import ShiftedClock
from tests.support.discord_bot import answered, discord_settings, text_of
from tests.support.discord_fixtures import (
    ANNOUNCEMENTS,
    CONTRIBUTOR,
    GENERAL,
    GUILD_ID,
    MENTORS_CHANNEL,
    ORGANIZER,
)
from tests.support.eventually import eventually
from tests.support.fake_discord import FakeDiscord, FakeUser
from tests.support.matrix_world import ask, joined, make_world
from tests.support.synapse import Synapse

pytestmark = pytest.mark.e2e


def posted(fake: FakeDiscord, channel_id: int, start: str) -> list[str]:
    return [
        str(m["content"])
        for m in fake.channel_messages[channel_id]
        if str(m["content"]).startswith(start)
    ]


async def room_add(fake: FakeDiscord, channel_id: int, name: str, purposes: str) -> str:
    result = await fake.slash(
        GUILD_ID, channel_id, ORGANIZER, "room add", {"name": name, "purposes": purposes}
    )
    return text_of(await answered(result))


async def test_room_added_from_chat_gets_the_reminder_without_a_restart(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    data = discord_settings(fake_discord, tmp_path, monkeypatch).model_dump(mode="json")
    data["store"] = {"url": db_url}
    clock = ShiftedClock()
    async with running(parse_settings(data), clock=clock) as app:
        await fake_discord.wait_commands_synced(GUILD_ID)
        said = await room_add(fake_discord, ANNOUNCEMENTS.id, "news", "announcements")
        assert f"This channel is now room **news**: Discord <#{ANNOUNCEMENTS.id}>" in said

        start = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
        due = start - timedelta(minutes=15)
        clock.set(due - timedelta(minutes=1))
        options = {"title": "Sprint", "start": f"{start:%Y-%m-%d %H:%M}", "tz": "UTC"}
        created = await answered(
            await fake_discord.slash(
                GUILD_ID, GENERAL.id, ORGANIZER, "event create", {**options, "reminders": "15m"}
            )
        )
        assert "news" in text_of(created)
        await jump(app, clock, due)
        await fake_discord.wait_until(
            lambda: bool(posted(fake_discord, ANNOUNCEMENTS.id, "⏰ **Sprint")),
            description="the reminder in the room added from chat",
        )
        assert posted(fake_discord, GENERAL.id, "⏰") == []


async def jump(app: App, clock: ShiftedClock, moment: datetime) -> None:
    async def planned() -> bool:
        return await app.dispatcher.next_due() is not None

    await eventually(planned, what="the reminder to be planned")
    clock.set(moment)
    app.runtime.bus.publish(DELIVERIES)


async def test_a_welcome_room_added_from_chat_welcomes_the_next_member(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = discord_settings(fake_discord, tmp_path, monkeypatch).model_dump(mode="json")
    data["discord"]["members_intent"] = True
    async with running(parse_settings(data)):
        await fake_discord.wait_commands_synced(GUILD_ID)
        said = await room_add(fake_discord, MENTORS_CHANNEL.id, "lobby", "welcome")
        assert "room **lobby**" in said
        await fake_discord.member_joins(GUILD_ID, FakeUser(1_300_000_000_000_000_499, "newbie"))
        await fake_discord.wait_until(
            lambda: bool(posted(fake_discord, MENTORS_CHANNEL.id, "Welcome, newbie")),
            description="a welcome in the room added from chat",
        )


async def test_file_and_store_conflict_is_reported_at_start_and_the_file_wins(
    fake_discord: FakeDiscord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = discord_settings(fake_discord, tmp_path, monkeypatch)
    async with running(settings) as app:
        await fake_discord.wait_commands_synced(GUILD_ID)
        await room_add(fake_discord, ANNOUNCEMENTS.id, "news", "announcements")
        refused = await room_add(fake_discord, GENERAL.id, "chat", "help")
        assert "This channel is room **general** in the config file" in refused
        contributor = await answered(
            await fake_discord.slash(
                GUILD_ID, GENERAL.id, CONTRIBUTOR, "room add", {"name": "x", "purposes": "help"}
            )
        )
        assert "Only organizers can use `/room add`" in text_of(contributor)
        async with app.sessions() as session:
            assert len((await session.exec(select(RoomBinding))).all()) == 1

    data = settings.model_dump(mode="json")
    data["rooms"].append({"name": "news", "discord_channel_id": MENTORS_CHANNEL.id})
    async with running(parse_settings(data)) as app:
        assert "room 'news' bound from chat on discord" in caplog.text
        assert "the config file has a room of that name" in caplog.text
        news = app.runtime.env.rooms.get("news")
        assert news is not None and news.origin == "file"
        listed = await answered(
            await fake_discord.slash(GUILD_ID, GENERAL.id, ORGANIZER, "room list")
        )
        assert "ignored: room 'news' bound from chat" in text_of(listed)


async def test_room_add_on_matrix_links_the_discord_channel_and_both_get_the_reminder(
    synapse: Synapse,
    fake_discord: FakeDiscord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = await make_world(synapse, tmp_path, monkeypatch)
    data = world.settings.model_dump(mode="json")
    discord = discord_settings(fake_discord, tmp_path, monkeypatch)
    data["discord"] = discord.discord.model_dump(mode="json")
    clock = ShiftedClock()
    async with running(parse_settings(data), clock=clock) as app:
        await joined(app, world.room)
        await fake_discord.wait_commands_synced(GUILD_ID)
        await room_add(fake_discord, ANNOUNCEMENTS.id, "news", "announcements")

        # Omar organizes (he made the community room): the bot accepts his invitation.
        news = await synapse.create_room(world.omar, name="News", invite=[world.bot.user_id])
        await joined(app, news)
        linked = await ask(replace(world, room=news), world.omar, "!room add news announcements")
        body = linked["content"]["body"]
        assert "This channel is now room news (linked)" in body
        assert f"Discord channel {ANNOUNCEMENTS.id}" in body and news in body

        start = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
        due = start - timedelta(minutes=15)
        clock.set(due - timedelta(minutes=1))
        when = f"{start:%Y-%m-%d %H:%M}"
        created = await ask(
            world, world.omar, f'!event create "Sprint" start="{when}" tz=UTC reminders=15m'
        )
        assert "news" in created["content"]["body"]
        await jump(app, clock, due)
        await fake_discord.wait_until(
            lambda: bool(posted(fake_discord, ANNOUNCEMENTS.id, "⏰ **Sprint")),
            description="the reminder on Discord",
        )

        async def on_matrix() -> bool:
            found = await synapse.messages(world.omar, news)
            return any(
                e["sender"] == world.bot.user_id and e["content"]["body"].startswith("⏰ Sprint")
                for e in found
            )

        await eventually(on_matrix, what="the reminder in the Matrix room added from chat")
