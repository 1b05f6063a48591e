"""Welcomes end to end: a real Synapse and the fake Discord, with the real App."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from tests.e2e.test_matrix import joined
from tests.support.bot_harness import running, settings_for
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
        found: list[str] = []

        async def enough() -> bool:
            found[:] = await seen()
            return len(found) >= count

        for _ in range(200):
            if await enough():
                return found
            await asyncio.sleep(0.1)
        raise TimeoutError(f"wanted {count} welcomes, saw {found}")

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
        assert [w.split("!")[0] for w in await until(2)] == [
            f"Welcome, newbie{tag}",
            f"Welcome, second{tag}",
        ]

    await synapse.join(late, room)
    await synapse.leave(newbie, room)
    await synapse.join(newbie, room)
    async with running(settings) as app:
        await joined(app, room)
        found = await until(3)
        assert [w.split("!")[0] for w in found] == [
            f"Welcome, newbie{tag}",
            f"Welcome, second{tag}",
            f"Welcome, late{tag}",
        ], "a join while the bot was down is welcomed; nobody twice; history never"
