"""`convene run` stops cleanly, whatever it is doing, and one SQLite store serves one bot.

Each test runs the real `python -m bot run` in a subprocess with a settings file of its own, and
stops it the ways people and service managers do: end of console input, SIGTERM, SIGINT. A stop
must end within 5 s with status 0 and no traceback, and leave no delivery claimed: the next start
sends each pending one, once.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import func, select

from bot.db import make_engine, make_sessions
from bot.delivery import Delivery, Status
from tests.support.bot_process import Bot, bot, sqlite, sqlite_file, write_config
from tests.support.discord_bot import discord_section
from tests.support.discord_fixtures import GENERAL
from tests.support.due_events import seed_events
from tests.support.eventually import eventually
from tests.support.fake_discord import FakeDiscord
from tests.support.matrix_world import make_world, stored_token
from tests.support.synapse import Synapse

# --- What the store holds --------------------------------------------------------------------


async def deliveries(url: str) -> list[Delivery]:
    engine = make_engine(url)
    try:
        async with make_sessions(engine)() as session:
            return list((await session.exec(select(Delivery))).all())
    finally:
        await engine.dispose()


async def planned(url: str) -> int:
    engine = make_engine(url)
    try:
        async with make_sessions(engine)() as session:
            return (await session.exec(select(func.count()).select_from(Delivery))).one()
    finally:
        await engine.dispose()


def claimed(rows: Iterable[Delivery]) -> list[str]:
    """Rows an instance took to send and never finished nor gave back."""
    return [f"{r.key} {r.room}" for r in rows if r.status == Status.SENDING]


# --- Idle and console ------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["eof", "SIGINT"])
async def test_a_console_bot_stops_after_an_event_is_created(how: str, tmp_path: Path) -> None:
    """The case reported: `event create` piped into `convene run`, then the input ends (or a
    signal comes); the event's planner was woken by the change as the stop came."""
    config = write_config(tmp_path, sqlite(tmp_path), web={"enabled": True, "port": 0})
    async with bot(config) as running:
        running.say('event create "X" "2026-12-09 10:00" Europe/Paris weekly')
        running.say("event list")
        await running.until(lambda: "Event #1" in running.stdout, "the event created")
        await running.stop(how)
    assert "Reminders 1 d, 15 min before" in running.stdout


# --- Planning --------------------------------------------------------------------------------


async def test_a_stop_during_a_large_planning_pass(sqlite_url: str, tmp_path: Path) -> None:
    """Thousands of events fall due at once (a pass of several seconds here); the stop comes
    as the planner starts on them. It ends in time, and the next start plans every reminder,
    once. On SQLite, which runs on the event loop's thread, the planner must yield for a
    signal to be heard at all; PostgreSQL yields at every statement."""
    db_url = sqlite_url
    count = 2000
    rooms = [{"name": f"room{n}", "matrix_room_id": f"!r{n}:test"} for n in range(2)]
    await seed_events(db_url, count, [room["name"] for room in rooms], datetime.now(UTC))
    config = write_config(tmp_path, db_url, rooms=rooms)
    async with bot(config) as running:
        await running.stop("SIGTERM")
    assert claimed(await deliveries(db_url)) == []

    async with bot(config) as running:

        async def all_planned() -> bool:
            return await planned(db_url) == count * 2 * 2

        await eventually(all_planned, what="every reminder planned", timeout=30, interval=0.5)
        await running.stop("eof")
    rows = await deliveries(db_url)
    reminders = {(r.key, r.room) for r in rows if r.key.endswith(":r1")}
    assert len(reminders) == count * 2
    assert claimed(rows) == []


# --- Sending ---------------------------------------------------------------------------------


def discord_config(tmp_path: Path, store: str, fake: FakeDiscord) -> Path:
    return write_config(
        tmp_path,
        store,
        console={"enabled": False},
        discord=discord_section(fake),
        rooms=[{"name": "general", "discord_channel_id": GENERAL.id}],
    )


async def test_a_stop_in_the_middle_of_a_rate_limited_fan_out(
    db_url: str, tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    """Discord starts answering 429 while a fan-out is under way, so sends hang in
    discord.py's wait as the stop comes. Nothing stays claimed; the next start sends the
    rest, and every reminder is in the channel exactly once."""
    count = 60
    await seed_events(db_url, count, ["general"], datetime.now(UTC))
    env = {"CONVENE_TEST_DISCORD_TOKEN": fake_discord.token}
    config = discord_config(tmp_path, db_url, fake_discord)
    posted = fake_discord.channel_messages[GENERAL.id]
    async with bot(config, env) as running:
        await eventually(lambda: len(posted) >= 10, what="a first few posts")
        fake_discord.rate_limit_next(r"/channels/\d+/messages$", retry_after=3, count=10**6)
        limited = len(fake_discord.requests)
        await eventually(lambda: len(fake_discord.requests) > limited, what="a send held by 429")
        await running.stop("SIGTERM" if db_url.startswith("sqlite") else "SIGINT")
    rows = await deliveries(db_url)
    assert claimed(rows) == []
    assert len(posted) == len([r for r in rows if r.status == Status.SENT]) < count
    sent_before = {m["nonce"] for m in posted}

    fake_discord.clear_rate_limits()
    restart = len(fake_discord.requests)
    async with bot(config, env) as running:
        await eventually(
            lambda: sum("starts in" in m["content"] for m in posted) >= count,
            what="every reminder posted",
            timeout=30,
        )
        await running.stop("SIGTERM")
    reminders = [m["content"] for m in posted if "starts in" in m["content"]]
    titles = [text.split("**")[1] for text in reminders]
    assert sorted(titles) == sorted(f"Event {n}" for n in range(1, count + 1))
    sent_again = [
        request
        for request in fake_discord.requests[restart:]
        if request.method == "POST" and (request.json or {}).get("nonce") in sent_before
    ]
    assert sent_again == [], "what was sent before the stop is not sent again"


async def test_a_platform_that_fails_while_the_planner_is_busy(
    sqlite_url: str, tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    """Discord turns the token away as the planner starts on 2,000 events: the bot stops on
    its own, says why in one line, and the timers it stops leave no traceback."""
    await seed_events(sqlite_url, 2000, ["general"], datetime.now(UTC))
    config = discord_config(tmp_path, sqlite_url, fake_discord)
    running = await Bot.start(config, {"CONVENE_TEST_DISCORD_TOKEN": "not-the-token"})
    try:
        code = await asyncio.wait_for(running.process.wait(), 30)
        await asyncio.gather(*running._readers)
    finally:
        await running.kill()
    assert code == 1
    assert "discord stopped: Discord rejected the bot token" in running.stderr
    assert "Traceback" not in running.stderr, running.stderr
    assert claimed(await deliveries(sqlite_url)) == []


# --- Syncing ---------------------------------------------------------------------------------


@pytest.mark.e2e
async def test_a_stop_while_matrix_syncs(
    synapse: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot waits in a long /sync (30 s) as the stop comes: it ends at once, and the
    next start resumes from the stored sync token without answering a command twice."""
    world = await make_world(synapse, tmp_path, monkeypatch, sync_timeout_ms=30000)
    matrix = world.settings.matrix
    token_env = matrix.token_env
    store = sqlite(tmp_path)
    config = write_config(
        tmp_path,
        store,
        console={"enabled": False},
        matrix={
            "enabled": True,
            "homeserver": matrix.homeserver,
            "user_id": matrix.user_id,
            "device_id": matrix.device_id,
            "token_env": token_env,
            "sync_timeout_ms": 30000,
        },
        rooms=[{"name": "community", "matrix_room_id": world.room, "purposes": ["help"]}],
    )
    env = {token_env: os.environ[token_env]}
    async with bot(config, env) as running:
        await running.until(lambda: "Matrix: connected" in running.stderr, "a Matrix sync")
        sent = await synapse.send_text(world.omar, world.room, "!whoami")
        await synapse.wait_for_message(world.omar, world.room, sender=world.bot.user_id, after=sent)

        async def kept_past_command() -> bool:
            token = await stored_token(store)
            return token is not None and await synapse.synced_past(
                world.omar, world.room, token, sent
            )

        await eventually(kept_past_command, what="the sync token past the command kept")
        await running.stop("SIGTERM")

    async with bot(config, env) as running:
        await running.until(lambda: "Matrix: connected" in running.stderr, "a Matrix sync")
        await running.stop("SIGINT")
    answers = [
        e
        for e in await synapse.messages(world.omar, world.room)
        if e["sender"] == world.bot.user_id
    ]
    assert len(answers) == 1


# --- One bot per SQLite store ----------------------------------------------------------------


async def test_a_second_bot_on_the_same_sqlite_store_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, sqlite(tmp_path))
    store = sqlite_file(tmp_path)
    async with bot(config) as first:
        second = await Bot.start(config)
        code = await asyncio.wait_for(second.process.wait(), 30)
        await asyncio.gather(*second._readers)
        assert code == 1
        assert second.stderr == (
            f"convene: cannot start: another Convene (pid {first.process.pid}) is running on "
            f"the SQLite store {store}; stop it first (a SQLite store "
            "serves one bot at a time)\n"
        )
        assert second.stdout == ""
        first.process.kill()
        await first.process.wait()
    async with bot(config) as after_a_kill:
        await after_a_kill.stop("eof")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_two_bots_may_share_a_postgresql_store(db_url: str, tmp_path: Path) -> None:
    """The lock is SQLite's alone: on PostgreSQL instances share the store, and take
    turns on chat connections (tests/test_takeover.py)."""
    config = write_config(tmp_path, db_url)
    async with bot(config) as first, bot(config) as second:
        await second.stop("SIGTERM")
        await first.stop("SIGTERM")
