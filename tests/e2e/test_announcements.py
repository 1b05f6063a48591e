"""A reminder planned from Matrix reaches a Matrix room and a Discord channel exactly once,
also when the bot dies between sending and recording and is restarted (on SQLite and on
PostgreSQL), and when Discord answers the send with a 429 (SQLite: the postponement itself is
tested on both stores in tests/test_delivery.py).

Time is real time shifted: a test creates the event a minute before its reminder falls due,
then jumps the clock to the due moment and wakes the dispatcher, as its timer would, so no test
waits for a reminder in real time.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.app import App
from bot.config import Settings, parse_settings
from bot.core.bus import DELIVERIES
from bot.delivery import Delivery
from tests.support.bot_harness import running
from tests.support.clock import ShiftedClock
from tests.support.discord_bot import discord_settings
from tests.support.discord_fixtures import GENERAL, GUILD_ID
from tests.support.eventually import eventually
from tests.support.fake_discord import FakeDiscord, RecordedRequest
from tests.support.matrix_world import World, ask, joined, make_world
from tests.support.synapse import Synapse

pytestmark = pytest.mark.e2e

CHANNEL_MESSAGES = rf"^/channels/{GENERAL.id}/messages$"


async def announcing(
    synapse: Synapse,
    fake_discord: FakeDiscord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
) -> tuple[World, Settings]:
    """A Matrix room and a Discord channel linked as one announcements room."""
    world = await make_world(synapse, tmp_path, monkeypatch)
    data = world.settings.model_dump(mode="json")
    data["store"] = {"url": db_url}
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
    return world, parse_settings(data)


async def create_sprint(app: App, world: World, fake: FakeDiscord, clock: ShiftedClock) -> None:
    """The Sprint event, with its 15-minute reminder due one minute after it is created."""
    await joined(app, world.room)
    await fake.wait_commands_synced(GUILD_ID)
    start = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
    due = start - timedelta(minutes=15)
    clock.set(due - timedelta(minutes=1))
    created = await ask(
        world,
        world.omar,
        f'!event create "Sprint" start="{start:%Y-%m-%d %H:%M}" tz=UTC reminders=15m',
    )
    assert "Event #1" in created["content"]["body"]
    await wait_for_rows(app, lambda rows: len(rows) == 2, "the reminder's rows")
    await jump(app, clock, due)


async def jump(app: App, clock: ShiftedClock, moment: datetime) -> None:
    clock.set(moment)
    app.runtime.bus.publish(DELIVERIES)


async def rows_of(app: App) -> list[Delivery]:
    async with app.sessions() as session:
        return list((await session.exec(select(Delivery).order_by(Delivery.platform))).all())


async def wait_for_rows(
    app: App, done: Callable[[list[Delivery]], bool], what: str
) -> list[Delivery]:
    async def rows_done() -> list[Delivery]:
        rows = await rows_of(app)
        assert done(rows), [(r.platform, r.status, r.attempts) for r in rows]
        return rows

    return await eventually(rows_done, what=what)


def all_sent(attempts: Collection[int]) -> Callable[[list[Delivery]], bool]:
    return lambda rows: (
        bool(rows) and all(r.status == "sent" and r.attempts in attempts for r in rows)
    )


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


def posts(fake: FakeDiscord) -> list[RecordedRequest]:
    return [
        r for r in fake.requests if r.method == "POST" and r.path.endswith(f"{GENERAL.id}/messages")
    ]


async def test_reminder_reaches_both_platforms_exactly_once_across_a_crash(
    synapse: Synapse,
    fake_discord: FakeDiscord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
) -> None:
    world, settings = await announcing(synapse, fake_discord, tmp_path, monkeypatch, db_url)
    clock = ShiftedClock()
    async with running(settings, clock=clock) as app:
        await create_sprint(app, world, fake_discord, clock)
        sent = await wait_for_rows(app, all_sent({1}), "both sends")
        assert {(r.platform, r.status) for r in sent} == {("matrix", "sent"), ("discord", "sent")}
        assert len(await reminders_in(world)) == 1
        assert len(on_discord(fake_discord)) == 1
        assert posts(fake_discord)[0].json["nonce"]
        assert posts(fake_discord)[0].json["enforce_nonce"] is True

    async with app.sessions() as session:
        await session.exec(
            update(Delivery).values(status="sending", claimed_at=clock() - timedelta(minutes=5))
        )
        await session.commit()

    async with running(settings, clock=clock) as app:
        await joined(app, world.room)
        await wait_for_rows(app, all_sent({2}), "the restarted bot to resend the claimed rows")
    assert len(await reminders_in(world)) == 1, "Matrix deduplicated the resend by txn id"
    assert len(on_discord(fake_discord)) == 1, "Discord deduplicated the resend by nonce"


@pytest.mark.parametrize("retry_after", [0.3, 90.0], ids=["short", "long"])
async def test_reminder_rate_limited_on_discord_is_delivered_once(
    synapse: Synapse,
    fake_discord: FakeDiscord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sqlite_url: str,
    retry_after: float,
) -> None:
    """discord.py waits out a short 429 itself and resends the same payload; a long one comes
    back to the dispatcher, which postpones the row and resends it under the same nonce."""
    world, settings = await announcing(synapse, fake_discord, tmp_path, monkeypatch, sqlite_url)
    clock = ShiftedClock()
    async with running(settings, clock=clock) as app:
        fake_discord.rate_limit_next(CHANNEL_MESSAGES, method="POST", retry_after=retry_after)
        await create_sprint(app, world, fake_discord, clock)
        due = clock()
        if retry_after > 30:
            discord_row, _ = await wait_for_rows(
                app,
                lambda rows: (
                    [(r.status, r.attempts) for r in rows] == [("pending", 1), ("sent", 1)]
                ),
                "the Discord row to be postponed and the Matrix one sent",
            )
            assert discord_row.platform == "discord"
            assert discord_row.due_at >= due + timedelta(seconds=retry_after - 1)
            assert on_discord(fake_discord) == []
            await jump(app, clock, discord_row.due_at)
        await wait_for_rows(app, all_sent({1, 2}), "both sends")
        assert len(await reminders_in(world)) == 1
        assert len(on_discord(fake_discord)) == 1
        first, second = posts(fake_discord)
        assert first.json["nonce"] == second.json["nonce"] and second.json["enforce_nonce"]
