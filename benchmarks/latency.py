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
import statistics
import tempfile
from pathlib import Path

from pytest import MonkeyPatch

from tests.support.bot_harness import running
from tests.support.discord_bot import discord_settings
from tests.support.discord_fixtures import (
    APPLICATION_ID,
    BOT_USER_ID,
    CONTRIBUTOR,
    GENERAL,
    GUILD_ID,
    TEST_GUILD,
)
from tests.support.fake_discord import FakeDiscord
from tests.support.matrix_world import ask, joined, make_world
from tests.support.synapse import Synapse


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        "n": len(ordered),
    }


async def matrix_latency(synapse: Synapse, n: int, workdir: Path, env: MonkeyPatch) -> list[float]:
    world = await make_world(synapse, workdir, env)
    samples: list[float] = []
    async with running(world.settings) as app:
        await joined(app, world.room)
        for _ in range(n):
            reply = await ask(world, world.nina, "!whoami", timeout=30)
            sent = reply["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
            command = next(
                e for e in await synapse.messages(world.nina, world.room) if e["event_id"] == sent
            )
            samples.append(reply["origin_server_ts"] - command["origin_server_ts"])
    return samples


async def discord_latency(n: int, workdir: Path, env: MonkeyPatch) -> list[float]:
    samples: list[float] = []
    async with (
        FakeDiscord(
            application_id=APPLICATION_ID, bot_user_id=BOT_USER_ID, guilds=[TEST_GUILD]
        ) as fake,
        running(discord_settings(fake, workdir, env)),
    ):
        await fake.wait_commands_synced(GUILD_ID)
        for _ in range(n):
            result = await fake.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "whoami")
            assert result.responded_at is not None
            samples.append((result.responded_at - result.dispatched_at) * 1000)
    return samples


async def main(n: int) -> dict[str, dict[str, float]]:
    env = MonkeyPatch()
    try:
        with tempfile.TemporaryDirectory() as workdir, Synapse() as synapse:
            matrix = await matrix_latency(synapse, n, Path(workdir), env)
            discord_samples = await discord_latency(n, Path(workdir), env)
    finally:
        env.undo()
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
