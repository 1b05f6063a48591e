"""Welcomes end to end: a real Synapse and the fake Discord, with the real App."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bot.config import Settings, parse_settings
from tests.support.bot_harness import outbox_drained, running, settings_for
from tests.support.discord_bot import discord_settings
from tests.support.discord_fixtures import CONTRIBUTOR, GENERAL, GUILD_ID, MENTORS_CHANNEL
from tests.support.eventually import eventually
from tests.support.fake_discord import FakeDiscord, FakeUser
from tests.support.matrix_world import joined
from tests.support.synapse import MatrixUser, Synapse

pytestmark = pytest.mark.e2e


async def welcomes(synapse: Synapse, reader: MatrixUser, room: str, bot: str) -> list[str]:
    return [
        str(e["content"]["body"])
        for e in await synapse.messages(reader, room)
        if e["sender"] == bot and str(e["content"]["body"]).startswith("Welcome, ")
    ]


async def test_matrix_joins_are_welcomed_once_across_rejoin_and_restart(
    synapse: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = uuid.uuid4().hex[:6]
    bot, omar = [await synapse.register(f"{who}{tag}") for who in ("convene", "omar")]
    newbie, second, late = [
        await synapse.register(f"{who}{tag}") for who in ("newbie", "second", "late")
    ]
    room = await synapse.create_room(omar, name="Lobby", preset="public_chat", invite=[bot.user_id])
    early = await synapse.register(f"early{tag}")
    await synapse.join(early, room)
    monkeypatch.setenv(f"CONVENE_TEST_MATRIX_TOKEN_{tag}", bot.access_token)
    settings = settings_for(
        f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        matrix={
            "enabled": True,
            "homeserver": synapse.base_url,
            "user_id": bot.user_id,
            "device_id": bot.device_id,
            "token_env": f"CONVENE_TEST_MATRIX_TOKEN_{tag}",
            "sync_timeout_ms": 1000,
        },
        rooms=[{"name": "lobby", "matrix_room_id": room, "purposes": ["welcome"]}],
        welcome={"contributor_guide": "https://example.org/contributing"},
    )

    async def seen() -> list[str]:
        return await welcomes(synapse, omar, room, bot.user_id)

    async def until(count: int) -> list[str]:
        async def enough() -> list[str]:
            found = await seen()
            assert len(found) >= count, f"wanted {count} welcomes, saw {found}"
            return found

        return await eventually(enough, what=f"{count} welcomes")

    async with running(settings) as app:
        await joined(app, room)
        await synapse.set_display_name(early, "Early Bird")
        await synapse.join(newbie, room)
        first = await until(1)
        assert first[0].startswith(f"Welcome, newbie{tag}! 👋\n")
        assert "https://example.org/contributing" in first[0]
        assert "!mentor request <topic>" in first[0]

        await synapse.set_display_name(newbie, "Newbie Renamed")
        await synapse.leave(newbie, room)
        await synapse.join(newbie, room)
        await synapse.join(second, room)
        await until(2)
        await outbox_drained(app)
        assert [w.split("!")[0] for w in await seen()] == [
            f"Welcome, newbie{tag}",
            f"Welcome, second{tag}",
        ]

    await synapse.join(late, room)
    await synapse.leave(newbie, room)
    await synapse.join(newbie, room)
    async with running(settings) as app:
        await joined(app, room)
        await until(3)
        await outbox_drained(app)
        found = await seen()
        assert [w.split("!")[0] for w in found] == [
            f"Welcome, newbie{tag}",
            f"Welcome, second{tag}",
            f"Welcome, late{tag}",
        ], "a join while the bot was down is welcomed; nobody twice; history never"


def welcome_settings(
    fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, intent: bool
) -> Settings:
    data = discord_settings(fake, tmp_path, monkeypatch).model_dump(mode="json")
    data["discord"]["members_intent"] = intent
    data["rooms"] = [
        {"name": "general", "discord_channel_id": GENERAL.id, "purposes": ["welcome"]},
        {"name": "mentors", "discord_channel_id": MENTORS_CHANNEL.id, "purposes": ["mentors"]},
    ]
    return parse_settings(data)


def discord_welcomes(fake: FakeDiscord, channel_id: int) -> list[str]:
    return [
        str(m["content"])
        for m in fake.channel_messages[channel_id]
        if str(m["content"]).startswith("Welcome, ")
    ]


async def test_discord_member_add_is_welcomed_once_in_the_welcome_channel(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = welcome_settings(fake_discord, tmp_path, monkeypatch, intent=True)
    newbie = FakeUser(1_300_000_000_000_000_501, "newbie_1")
    other = FakeUser(1_300_000_000_000_000_502, "other")
    async with running(settings):
        await fake_discord.wait_commands_synced(GUILD_ID)
        await fake_discord.member_joins(GUILD_ID, newbie)
        await fake_discord.wait_until(
            lambda: bool(discord_welcomes(fake_discord, GENERAL.id)), description="a welcome"
        )
        await fake_discord.member_joins(GUILD_ID, newbie)
        await fake_discord.member_joins(GUILD_ID, other)
        await fake_discord.wait_until(
            lambda: len(discord_welcomes(fake_discord, GENERAL.id)) >= 2,
            description="the second welcome",
        )
    first, second = discord_welcomes(fake_discord, GENERAL.id)
    assert first.startswith("Welcome, newbie\\_1! 👋\n"), "names are escaped markdown"
    assert first.endswith("Ask a mentor with `/mentor request topic:…`")
    assert second.startswith("Welcome, other! 👋")
    assert discord_welcomes(fake_discord, MENTORS_CHANNEL.id) == []
    posts = [
        r.json for r in fake_discord.requests if r.path.endswith(f"/channels/{GENERAL.id}/messages")
    ]
    assert [p["allowed_mentions"] for p in posts] == [{"parse": []}] * 2


async def test_without_the_members_intent_discord_says_welcome_is_off(
    fake_discord: FakeDiscord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = welcome_settings(fake_discord, tmp_path, monkeypatch, intent=False)
    async with running(settings):
        await fake_discord.wait_commands_synced(GUILD_ID)
        await fake_discord.member_joins(GUILD_ID, FakeUser(1_300_000_000_000_000_503, "quiet"))
        who = await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "whoami")
        await who.wait_until(lambda r: r.message is not None)
    assert "Discord: welcome is off" in caplog.text
    assert "members_intent = true" in caplog.text
    assert discord_welcomes(fake_discord, GENERAL.id) == []
