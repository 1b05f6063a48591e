"""A small Matrix community on a real Synapse for the bot under test: the bot's account, two
people and a room, with the settings that serve it; asking the bot in that room; and the sync
token it kept in its store."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import App
from bot.config import Settings
from bot.db import make_engine, make_sessions
from bot.platforms.matrix import SYNC_TOKEN_KEY, MatrixPlatform
from bot.state import get_state
from tests.support.bot_harness import settings_for
from tests.support.eventually import eventually
from tests.support.synapse import Event, MatrixUser, Synapse


@dataclass
class World:
    synapse: Synapse
    bot: MatrixUser
    omar: MatrixUser
    nina: MatrixUser
    room: str
    settings: Settings


async def make_world(
    synapse: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **matrix: object
) -> World:
    """Omar creates the room (so he is an organizer there), invites the bot and Nina; *matrix*
    adds to the `[matrix]` settings."""
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


def matrix_of(app: App) -> MatrixPlatform:
    platform = app.platforms[0]
    assert isinstance(platform, MatrixPlatform)
    return platform


async def ask(world: World, user: MatrixUser, text: str, timeout: float = 10) -> Event:  # noqa: ASYNC109
    """Send *text* to the room as *user*; the bot's reply to it."""
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
    await eventually(lambda: room in matrix_of(app).client.rooms, what="the bot to join the room")


async def invited_rooms(synapse: Synapse, user: MatrixUser) -> list[str]:
    """The rooms *user* is invited to, once there is one, e.g. a direct message from the bot."""
    return await eventually(
        lambda: synapse.invited_rooms(user), what=f"an invitation for {user.user_id}"
    )


async def stored_token(url: str) -> str | None:
    """The sync token the bot kept in the store at *url*, where its next start resumes."""
    engine = make_engine(url)
    try:
        async with make_sessions(engine)() as session:
            return await get_state(session, SYNC_TOKEN_KEY)
    finally:
        await engine.dispose()
