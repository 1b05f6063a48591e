"""Two `convene run` on one PostgreSQL store, Matrix on the test Synapse and Discord on the fake:
one holds each platform's lease, the other stands by and takes over when the holder is killed.

Real processes, real signals: the holder is SIGKILLed with nothing said to anyone, a command
is sent while no instance syncs, and the standby must answer it, once, within 10 s.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from sqlmodel import func, select

from bot.app import App
from bot.db import make_engine, make_sessions
from bot.state import set_state
from cogs.events.models import Event
from tests.support.bot_process import Bot, bot, write_config
from tests.support.discord_bot import answered
from tests.support.discord_fixtures import APPLICATION_ID, GENERAL, GUILD_ID, ORGANIZER
from tests.support.eventually import eventually
from tests.support.fake_discord import FakeDiscord
from tests.support.matrix_world import World, make_world, matrix_of, stored_token
from tests.support.synapse import Synapse
from tests.support.throttle_proxy import ThrottleProxy

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]

TAKEOVER_WITHIN = 10.0
HOLDING = "holding the matrix lease"
STANDING_BY = "standing by: another instance holds the matrix lease"
GAP_COMMAND = '!event create "Gap" "2026-12-09 10:00" Europe/Paris'


def config_for(world: World, tmp_path: Path, store: str, homeserver: str | None = None) -> Path:
    matrix = world.settings.matrix
    return write_config(
        tmp_path,
        store,
        console={"enabled": False},
        web={"enabled": True, "port": 0},
        matrix={
            "enabled": True,
            "homeserver": homeserver or matrix.homeserver,
            "user_id": matrix.user_id,
            "device_id": matrix.device_id,
            "token_env": matrix.token_env,
            "sync_timeout_ms": 1000,
        },
        rooms=[{"name": "community", "matrix_room_id": world.room, "purposes": ["help"]}],
    )


async def health(running: Bot) -> dict[str, Any]:
    found = re.search(r"Web: (http://\S+)", running.stdout)
    assert found, running.stdout
    async with (
        aiohttp.ClientSession() as http,
        http.get(found.group(1) + "/healthz") as response,
    ):
        body: dict[str, Any] = await response.json()
        body["status"] = response.status
        return body


async def events_titled(url: str, title: str) -> int:
    engine = make_engine(url)
    try:
        async with make_sessions(engine)() as session:
            query = select(func.count()).select_from(Event).where(Event.title == title)
            return (await session.exec(query)).one()
    finally:
        await engine.dispose()


async def rewind(url: str, token: str) -> None:
    """Put the sync token back, as if the last syncs had never been kept."""
    engine = make_engine(url)
    try:
        async with make_sessions(engine)() as session:
            await set_state(session, "matrix.next_batch", token, datetime.now(UTC))
            await session.commit()
    finally:
        await engine.dispose()


async def answers_to(synapse: Synapse, world: World, event_id: str) -> list[dict[str, Any]]:
    return [
        event
        for event in await synapse.messages(world.omar, world.room)
        if event["sender"] == world.bot.user_id
        and event["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
        == event_id
    ]


async def test_a_standby_takes_over_from_a_killed_holder(
    synapse: Synapse, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await make_world(synapse, tmp_path, monkeypatch)
    config = config_for(world, tmp_path, db_url)
    token_env = world.settings.matrix.token_env
    env = {token_env: os.environ[token_env]}
    async with bot(config, env) as first:
        await first.until(lambda: "Matrix: connected" in first.stderr, "a Matrix sync")
        assert HOLDING in first.stderr
        async with bot(config, env) as second:
            await second.until(lambda: STANDING_BY in second.stderr, "the standby")
            assert await health(first) == {
                "ok": True,
                "platforms": {"matrix": True},
                "leases": ["matrix"],
                "standby": [],
                "status": 200,
            }
            assert await health(second) == {
                "ok": True,
                "platforms": {"matrix": False},
                "leases": [],
                "standby": ["matrix"],
                "status": 200,
            }
            before = await synapse.send_text(world.omar, world.room, "!whoami")
            await synapse.wait_for_message(
                world.omar, world.room, sender=world.bot.user_id, after=before
            )
            assert "Matrix: connected" not in second.stderr
            token_before_gap = await stored_token(db_url)
            assert token_before_gap is not None

            first.process.kill()
            killed = time.monotonic()
            during_gap = await synapse.send_text(world.omar, world.room, GAP_COMMAND)
            await synapse.wait_for_message(
                world.omar,
                world.room,
                sender=world.bot.user_id,
                after=during_gap,
                timeout=TAKEOVER_WITHIN,
            )
            answered = time.monotonic() - killed
            await second.until(lambda: HOLDING in second.stderr, "the takeover")
            print(f"takeover: the command sent in the gap answered {answered:.2f} s after SIGKILL")
            assert answered < TAKEOVER_WITHIN
            assert (await health(second))["leases"] == ["matrix"]
            await second.stop("SIGTERM")

    # A replay: the token is put back to before the gap, and a fresh instance syncs the
    # gap's command again; it was handled, so it is neither run nor answered again. (Synapse
    # would drop a second answer under the same transaction id; a second event would stay.)
    await rewind(db_url, token_before_gap)
    async with bot(config, env) as third:
        await third.until(lambda: "Matrix: connected" in third.stderr, "a Matrix sync")
        after = await synapse.send_text(world.omar, world.room, "!whoami")
        await synapse.wait_for_message(
            world.omar, world.room, sender=world.bot.user_id, after=after
        )
        await third.stop("SIGTERM")
    assert len(await answers_to(synapse, world, during_gap)) == 1
    assert len(await answers_to(synapse, world, before)) == 1
    assert await events_titled(db_url, "Gap") == 1, "the replayed command ran once"


async def test_a_clean_stop_hands_the_lease_over_at_once(
    synapse: Synapse, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await make_world(synapse, tmp_path, monkeypatch)
    config = config_for(world, tmp_path, db_url)
    token_env = world.settings.matrix.token_env
    env = {token_env: os.environ[token_env]}
    async with bot(config, env) as first:
        await first.until(lambda: "Matrix: connected" in first.stderr, "a Matrix sync")
        async with bot(config, env) as second:
            await second.until(lambda: STANDING_BY in second.stderr, "the standby")
            started = time.monotonic()
            await first.stop("SIGTERM")
            await second.until(lambda: "Matrix: connected" in second.stderr, "the takeover")
            handover = time.monotonic() - started
            print(f"handover after SIGTERM: {handover:.2f} s")
            assert handover < 5
            sent = await synapse.send_text(world.omar, world.room, "!whoami")
            await synapse.wait_for_message(
                world.omar, world.room, sender=world.bot.user_id, after=sent
            )
            await second.stop("SIGTERM")


async def test_a_standby_takes_the_discord_gateway_over(
    db_url: str, tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    """Discord has no sync to resume: the standby opens a gateway session of its own once the
    holder is gone, and answers the next slash command, once."""
    config = write_config(
        tmp_path,
        db_url,
        console={"enabled": False},
        discord={
            "enabled": True,
            "token_env": "CONVENE_TEST_DISCORD_TOKEN",
            "application_id": APPLICATION_ID,
            "guild_ids": [GUILD_ID],
            "api_base_url": fake_discord.api_base,
            "gateway_url": fake_discord.gateway_url,
        },
        rooms=[{"name": "general", "discord_channel_id": GENERAL.id}],
    )
    env = {"CONVENE_TEST_DISCORD_TOKEN": fake_discord.token}
    async with bot(config, env) as first:
        await first.until(lambda: "Discord: connected" in first.stderr, "the gateway")
        async with bot(config, env) as second:
            await second.until(
                lambda: "another instance holds the discord lease" in second.stderr, "the standby"
            )
            first.process.kill()
            killed = time.monotonic()
            await second.until(lambda: "Discord: connected" in second.stderr, "the takeover")
            print(f"Discord takeover: {time.monotonic() - killed:.2f} s after SIGKILL")
            assert time.monotonic() - killed < TAKEOVER_WITHIN
            who = await answered(
                await fake_discord.slash(GUILD_ID, GENERAL.id, ORGANIZER, "whoami")
            )
            assert "olivia" in (who.content or "") + str(who.embeds)
            async with bot(config, env) as third:
                await third.until(
                    lambda: "another instance holds the discord lease" in third.stderr,
                    "a new standby",
                )
                await third.stop("SIGTERM")  # a standby stops cleanly, its platform never run
            await second.stop("SIGTERM")


async def test_a_standby_takes_over_on_a_pool_whose_sessions_postgresql_ended(
    synapse: Synapse, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `pg_terminate_backend` (or a PostgreSQL restart) every pooled connection fails on
    its next use: the standby taking Matrix over then reads the sync token again instead of
    stopping, with every platform of its process."""
    world = await make_world(synapse, tmp_path, monkeypatch)
    store = world.settings.store.model_copy(update={"url": db_url})
    app = App(world.settings.model_copy(update={"store": store}), stdout=io.StringIO())
    await app.prepare_store()
    async with app.sessions() as session:
        await session.exec(select(func.count()).select_from(Event))
    admin = await asyncpg.connect(db_url)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    matrix = matrix_of(app)
    running = asyncio.create_task(matrix.run())
    try:
        await eventually(lambda: running.done() or matrix.connected, what="a Matrix sync")
        assert matrix.connected, running.exception()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await app.close()


async def test_an_answer_lost_with_its_instance_is_sent_by_the_next(
    synapse: Synapse, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command committed, and its answer was on the wire, when the instance was SIGKILLed:
    the next instance syncs the command again, runs nothing, and sends the answer kept with
    the command's record, once."""
    world = await make_world(synapse, tmp_path, monkeypatch)
    token_env = world.settings.matrix.token_env
    env = {token_env: os.environ[token_env]}
    async with ThrottleProxy(world.settings.matrix.homeserver) as proxy:
        config = config_for(world, tmp_path, db_url, homeserver=proxy.base_url)
        async with bot(config, env) as first:
            await first.until(lambda: "Matrix: connected" in first.stderr, "a Matrix sync")
            proxy.hold()
            command = await synapse.send_text(world.omar, world.room, GAP_COMMAND)
            await eventually(lambda: proxy.held > 0, what="the answer on its way to the homeserver")
            assert await events_titled(db_url, "Gap") == 1, "the command committed"
            await first.kill()
        proxy.release()
        assert await answers_to(synapse, world, command) == []
        async with bot(config, env) as second:
            await second.until(lambda: "Matrix: connected" in second.stderr, "a Matrix sync")
            await synapse.wait_for_message(
                world.omar, world.room, sender=world.bot.user_id, after=command
            )
            later = await synapse.send_text(world.omar, world.room, "!whoami")
            await synapse.wait_for_message(
                world.omar, world.room, sender=world.bot.user_id, after=later
            )
            await second.stop("SIGTERM")
    answers = await answers_to(synapse, world, command)
    assert len(answers) == 1
    assert "Event #1" in answers[0]["content"]["body"]
    assert await events_titled(db_url, "Gap") == 1, "the replayed command ran once"
