"""A reminder planned from Matrix reaches a Matrix room and a Discord channel exactly once,
also when the bot dies between sending and recording and is restarted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.config import parse_settings
from bot.delivery import Delivery
from tests.e2e.test_discord import discord_settings
from tests.e2e.test_matrix import World, ask, joined, make_world
from tests.support.bot_harness import running
from tests.support.discord_fixtures import GENERAL, GUILD_ID
from tests.support.fake_discord import FakeDiscord
from tests.support.synapse import Synapse

pytestmark = pytest.mark.e2e


class ShiftedClock:
    """Real time moved so that a reminder falls due a few seconds after the bot starts."""

    def __init__(self, due: datetime, lead: float) -> None:
        self.shift = due - timedelta(seconds=lead) - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift


async def reminders_in(world: World) -> list[str]:
    found = await world.synapse.messages(world.nina, world.room)
    return [
        e["event_id"]
        for e in found
        if e["sender"] == world.bot.user_id and e["content"]["body"].startswith("⏰ Sprint")
    ]


def on_discord(fake: FakeDiscord) -> list[dict[str, object]]:
    return [
        m for m in fake.channel_messages[GENERAL.id] if str(m["content"]).startswith("⏰ **Sprint")
    ]


async def test_reminder_reaches_both_platforms_exactly_once_across_a_crash(
    synapse: Synapse, fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await make_world(synapse, tmp_path, monkeypatch)
    data = world.settings.model_dump(mode="json")
    data["discord"] = discord_settings(fake_discord, tmp_path, monkeypatch).discord.model_dump(
        mode="json"
    )
    data["rooms"] = [
        {
            "name": "community",
            "matrix_room_id": world.room,
            "discord_channel_id": GENERAL.id,
            "purposes": ["announcements"],
        }
    ]
    settings = parse_settings(data)
    start = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
    clock = ShiftedClock(start - timedelta(minutes=15), lead=4.0)

    async with running(settings, clock=clock) as app:
        await joined(app, world.room)
        await fake_discord.wait_commands_synced(GUILD_ID)
        created = await ask(
            world,
            world.omar,
            f'!event create "Sprint" start="{start:%Y-%m-%d %H:%M}" tz=UTC reminders=15m',
        )
        assert "Event #1" in created["content"]["body"]
        for _ in range(300):
            if await reminders_in(world) and on_discord(fake_discord):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)
        assert len(await reminders_in(world)) == 1
        assert len(on_discord(fake_discord)) == 1
        posts = [
            r for r in fake_discord.requests if r.path.endswith(f"/channels/{GENERAL.id}/messages")
        ]
        assert posts[0].json["nonce"] and posts[0].json["enforce_nonce"] is True

    async with app.sessions() as session:
        sent = list((await session.exec(select(Delivery))).all())
        assert {(r.platform, r.status) for r in sent} == {("matrix", "sent"), ("discord", "sent")}
        await session.exec(
            update(Delivery).values(status="sending", claimed_at=clock() - timedelta(minutes=5))
        )
        await session.commit()

    async with running(settings, clock=clock) as app:
        await joined(app, world.room)

        async def resent() -> bool:
            async with app.sessions() as session:
                rows = (await session.exec(select(Delivery))).all()
                return all(r.status == "sent" and r.attempts == 2 for r in rows)

        for _ in range(300):
            if await resent():
                break
            await asyncio.sleep(0.1)
        assert await resent(), "the restarted bot resent the claimed rows"
    assert len(await reminders_in(world)) == 1, "Matrix deduplicated the resend by txn id"
    assert len(on_discord(fake_discord)) == 1, "Discord deduplicated the resend by nonce"
