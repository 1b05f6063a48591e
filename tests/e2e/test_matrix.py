"""The real Matrix adapter against a real Synapse: what people in a room actually see."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import select

from bot.app import App
from bot.config import Settings
from bot.platforms.matrix import MatrixPlatform
from bot.state import SendFailure
from tests.support.bot_harness import running, settings_for, wait_for
from tests.support.synapse import Event, MatrixUser, Synapse

pytestmark = pytest.mark.e2e


@dataclass
class World:
    synapse: Synapse
    bot: MatrixUser
    omar: MatrixUser
    nina: MatrixUser
    room: str
    settings: Settings


def _body(event: Event) -> str:
    return str(event["content"].get("body", ""))


async def make_world(
    synapse: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **matrix: object
) -> World:
    tag = uuid.uuid4().hex[:6]
    bot = await synapse.register(f"convene{tag}")
    omar = await synapse.register(f"omar{tag}")
    nina = await synapse.register(f"nina{tag}")
    room = await synapse.create_room(omar, name="Community", invite=[bot.user_id, nina.user_id])
    await synapse.join(nina, room)
    env = f"CONVENE_TEST_MATRIX_TOKEN_{tag}"
    monkeypatch.setenv(env, bot.access_token)
    settings = settings_for(
        f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        matrix={
            "enabled": True,
            "homeserver": synapse.base_url,
            "user_id": bot.user_id,
            "device_id": bot.device_id,
            "token_env": env,
            "sync_timeout_ms": 1000,
            **matrix,
        },
        rooms=[{"name": "community", "matrix_room_id": room, "purposes": ["help"]}],
    )
    return World(synapse, bot, omar, nina, room, settings)


@pytest.fixture
async def world(
    synapse: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[World]:
    yield await make_world(synapse, tmp_path, monkeypatch)


def matrix_of(app: App) -> MatrixPlatform:
    platform = app.platforms[0]
    assert isinstance(platform, MatrixPlatform)
    return platform


async def ask(world: World, user: MatrixUser, text: str, timeout: float = 10) -> Event:  # noqa: ASYNC109
    sent = await world.synapse.send_text(user, world.room, text)
    return await world.synapse.wait_for_message(
        user,
        world.room,
        sender=world.bot.user_id,
        predicate=lambda e: (
            e["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id") == sent
        ),
        after=sent,
        timeout=timeout,
    )


async def joined(app: App, room: str) -> None:
    await wait_for(lambda: room in matrix_of(app).client.rooms, what="the bot to join the room")


async def test_help_whoami_link_in_a_room(world: World) -> None:
    async with running(world.settings) as app:
        await joined(app, world.room)
        help_reply = await ask(world, world.nina, "!help")
        content = help_reply["content"]
        assert content["msgtype"] == "m.notice"
        assert content["m.mentions"] == {}
        assert "commands you can use here" in content["body"]
        assert "<code>!whoami</code>" in content["formatted_body"]

        nina_who = await ask(world, world.nina, "!whoami")
        assert "contributor here" in _body(nina_who)
        assert f"Matrix: {world.nina.user_id}" in _body(nina_who)
        omar_who = await ask(world, world.omar, "!whoami")
        assert "organizer here" in _body(omar_who), "the room's creator is an organizer"

        unknown = await ask(world, world.nina, "!hepl")
        assert "Did you mean !help?" in _body(unknown)

        pointer = await ask(world, world.nina, "!link")
        assert "direct message" in _body(pointer)
        assert not re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", _body(pointer)), "code leaked in room"
        await wait_for_invite(world)


async def wait_for_invite(world: World) -> str:
    invites: list[str] = []

    async def poll() -> bool:
        invites[:] = await world.synapse.invited_rooms(world.nina)
        return bool(invites)

    for _ in range(100):
        if await poll():
            break
    dm = invites[0]
    await world.synapse.join(world.nina, dm)
    code = await world.synapse.wait_for_message(
        world.nina, dm, sender=world.bot.user_id, predicate=lambda e: "link code" in _body(e)
    )
    assert re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", _body(code))
    return dm


async def test_restart_does_not_answer_old_messages(world: World) -> None:
    async with running(world.settings) as app:
        await joined(app, world.room)
        await ask(world, world.nina, "!whoami")
    missed = await world.synapse.send_text(world.nina, world.room, "!help")
    async with running(world.settings):
        fresh = await ask(world, world.nina, "!whoami")
        replies = await world.synapse.messages(world.nina, world.room, after=missed)
        answered = [
            e["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
            for e in replies
            if e["sender"] == world.bot.user_id
        ]
        assert missed not in answered
        assert "You are" in _body(fresh)


async def test_ignores_uninvited_rooms_and_own_messages(world: World) -> None:
    other = await world.synapse.create_room(
        world.omar, name="Elsewhere", invite=[world.bot.user_id]
    )
    async with running(world.settings) as app:
        await joined(app, world.room)
        await ask(world, world.nina, "!whoami")
        assert other not in matrix_of(app).client.rooms


async def test_rate_limits_delay_replies_but_lose_none(
    synapse_ratelimited: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await make_world(synapse_ratelimited, tmp_path, monkeypatch)
    admin = await synapse_ratelimited.register(f"admin{uuid.uuid4().hex[:6]}", admin=True)
    await synapse_ratelimited.override_ratelimit(admin, world.nina.user_id)
    async with running(world.settings) as app:
        await joined(app, world.room)
        first = await world.synapse.send_text(world.nina, world.room, "!whoami")
        sent = [first] + [
            await world.synapse.send_text(world.nina, world.room, "!whoami") for _ in range(12)
        ]

        def answered(events: list[Event]) -> list[str]:
            return [
                e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
                for e in events
                if e["sender"] == world.bot.user_id
            ]

        async def all_answered() -> list[str]:
            for _ in range(600):
                got = answered(await world.synapse.messages(world.nina, world.room))
                if set(sent) <= set(got):
                    return got
                await asyncio.sleep(0.1)
            raise TimeoutError(f"answered {len(set(got) & set(sent))} of {len(sent)}")

        got = await all_answered()
        assert sorted(got) == sorted(set(got)), "a reply was sent twice"
    async with app.sessions() as session:
        assert (await session.exec(select(SendFailure))).all() == []


async def test_gives_up_after_bounded_retries_and_records_it(
    synapse_ratelimited: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await make_world(synapse_ratelimited, tmp_path, monkeypatch, max_send_retries=0)
    admin = await synapse_ratelimited.register(f"admin{uuid.uuid4().hex[:6]}", admin=True)
    await synapse_ratelimited.override_ratelimit(admin, world.nina.user_id)
    async with running(world.settings) as app:
        await joined(app, world.room)
        for _ in range(14):
            await world.synapse.send_text(world.nina, world.room, "!whoami")

        async def failures() -> list[SendFailure]:
            async with app.sessions() as session:
                return list((await session.exec(select(SendFailure))).all())

        for _ in range(200):
            if await failures():
                break
            await asyncio.sleep(0.1)
        recorded = await failures()
        assert recorded and "M_LIMIT_EXCEEDED" in recorded[0].reason
        assert recorded[0].room_id == world.room


async def test_reconnects_after_the_homeserver_goes_away(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Synapse()
    await asyncio.to_thread(server.start)
    try:
        world = await make_world(server, tmp_path, monkeypatch)
        async with running(world.settings) as app:
            await joined(app, world.room)
            await ask(world, world.nina, "!whoami")
            await asyncio.to_thread(server.pause)
            await wait_for(lambda: not app.health()["matrix"], what="the bot to notice")
            await asyncio.to_thread(server.resume)
            after = await ask(world, world.nina, "!whoami", timeout=60)
            assert "You are" in _body(after)
            assert app.health()["matrix"]
    finally:
        await asyncio.to_thread(server.stop)
