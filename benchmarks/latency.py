"""Reply latency through the real adapters: `python -m benchmarks.latency [--n N]`.

Matrix: a user's `!whoami` in a room of a real Synapse on loopback, to the bot's reply; measured
with Synapse's own timestamps (`origin_server_ts`) of the two events. Discord: the fake
Discord's INTERACTION_CREATE for `/whoami` to the arrival of the bot's callback POST. Both run the real App,
with a SQLite store, in one process. Prints the figures and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import uuid

from tests.e2e.test_matrix import joined
from tests.support.bot_harness import running, settings_for
from tests.support.discord_fixtures import (
    APPLICATION_ID,
    CONTRIBUTOR,
    GENERAL,
    GUILD_ID,
    TEST_GUILD,
)
from tests.support.fake_discord import FakeDiscord
from tests.support.synapse import Synapse


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        "n": len(ordered),
    }


async def matrix_latency(synapse: Synapse, n: int, workdir: str) -> list[float]:
    tag = uuid.uuid4().hex[:6]
    bot = await synapse.register(f"bench{tag}")
    nina = await synapse.register(f"nina{tag}")
    room = await synapse.create_room(nina, invite=[bot.user_id])
    os.environ["CONVENE_BENCH_MATRIX_TOKEN"] = bot.access_token
    settings = settings_for(
        f"sqlite+aiosqlite:///{workdir}/matrix.db",
        matrix={
            "enabled": True,
            "homeserver": synapse.base_url,
            "user_id": bot.user_id,
            "device_id": bot.device_id,
            "token_env": "CONVENE_BENCH_MATRIX_TOKEN",
        },
        rooms=[{"name": "bench", "matrix_room_id": room}],
    )
    samples: list[float] = []
    async with running(settings) as app:
        await joined(app, room)
        for _ in range(n):
            sent = await synapse.send_text(nina, room, "!whoami")
            reply = await synapse.wait_for_message(
                nina, room, sender=bot.user_id, after=sent, timeout=30
            )
            command = next(e for e in await synapse.messages(nina, room) if e["event_id"] == sent)
            samples.append(reply["origin_server_ts"] - command["origin_server_ts"])
    return samples


async def discord_latency(n: int, workdir: str) -> list[float]:
    import discord
    import yarl

    samples: list[float] = []
    async with FakeDiscord(
        application_id=APPLICATION_ID, bot_user_id=APPLICATION_ID + 1, guilds=[TEST_GUILD]
    ) as fake:
        os.environ["CONVENE_BENCH_DISCORD_TOKEN"] = fake.token
        base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        settings = settings_for(
            f"sqlite+aiosqlite:///{workdir}/discord.db",
            discord={
                "enabled": True,
                "token_env": "CONVENE_BENCH_DISCORD_TOKEN",
                "application_id": APPLICATION_ID,
                "guild_ids": [GUILD_ID],
                "api_base_url": fake.api_base,
                "gateway_url": fake.gateway_url,
            },
        )
        try:
            async with running(settings):
                await fake.wait_commands_synced(GUILD_ID)
                for _ in range(n):
                    result = await fake.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "whoami")
                    assert result.responded_at is not None
                    samples.append((result.responded_at - result.dispatched_at) * 1000)
        finally:
            discord.http.Route.BASE = base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(str(gateway))
    return samples


async def main(n: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as workdir, Synapse() as synapse:
        matrix = await matrix_latency(synapse, n, workdir)
        discord_samples = await discord_latency(n, workdir)
    return {
        "matrix_message_to_reply": _summary(matrix),
        "discord_interaction_to_callback": _summary(discord_samples),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=50, help="commands per platform")
    figures = asyncio.run(main(parser.parse_args().n))
    for name, summary in figures.items():
        print(
            f"{name}: median {summary['median_ms']} ms, p95 {summary['p95_ms']} ms (n={summary['n']})"
        )
    print(json.dumps(figures))
