"""Reply latency through the real adapters, against bare bots: `python -m benchmarks.latency`.

Options: `[--discord N] [--matrix N] [--warmup N]`.

Convene and a bare bot (the least a library's bot does to answer) take turns, request by
request, in the same run, so drift and machine noise fall on both alike; the first `--warmup`
answers of each are dropped.

Discord: the fake Discord's INTERACTION_CREATE for `/whoami` to the arrival of the bot's callback
POST. Convene is the real App with a SQLite store; the bare bot a `discord.Client` whose one app
command answers a constant text with `interaction.response.send_message`. discord.py points every
client of a process at one API base, so each bot runs with a fake Discord of its own in a child
process, driven from here one command at a time.

Matrix: a user's `!whoami` in a room of a real Synapse on loopback (its raised test rate limits),
to the bot's reply, from Synapse's own timestamps (`origin_server_ts`) of the two events. Convene
is the real App with a SQLite store; the bare bot a matrix-nio `AsyncClient` whose
`RoomMessageText` callback replies with a constant `m.notice`. Each bot has a room of its own;
both bots and the user run in this process, and both bots long-poll /sync 30 s as Convene does
by default.

Overhead is Convene's percentile minus the bare bot's (p50 and p95), and the ratio of the two.
Prints the figures and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import discord
import yarl
from discord import app_commands
from nio import (
    AsyncClient,
    MatrixRoom,
    RoomGetEventResponse,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
)

from benchmarks.support import percentiles
from bot.app import App
from bot.platforms.matrix import MatrixPlatform
from tests.support.bot_harness import running, settings_for
from tests.support.discord_fixtures import (
    APPLICATION_ID,
    BOT_USER_ID,
    CONTRIBUTOR,
    GENERAL,
    GUILD_ID,
    TEST_GUILD,
    running_client,
)
from tests.support.eventually import eventually
from tests.support.fake_discord import FakeDiscord
from tests.support.synapse import MatrixUser, Synapse

ANSWER = "You are"
"""In both bots' answers to `whoami`; an error reply, quick as it may be, lacks it."""
BARE_ANSWER = f"{ANSWER} a contributor here."
SYNC_TIMEOUT_MS = 30_000
SAMPLE_TIMEOUT = 30.0

Sample = Callable[[], Awaitable[float]]
"""One command answered; its latency in seconds."""


async def interleaved(
    convene: Sample, bare: Sample, n: int, warmup: int
) -> tuple[list[float], list[float]]:
    """*n* samples of each, taken by turns; the order flips every round (ABBA), so neither bot
    always follows the other."""
    kept: tuple[list[float], list[float]] = ([], [])
    for round_ in range(warmup + n):
        for which in (0, 1) if round_ % 2 == 0 else (1, 0):
            took = await (convene, bare)[which]()
            if round_ >= warmup:
                kept[which].append(took)
    return kept


def overhead(convene: list[float], bare: list[float]) -> dict[str, float]:
    ours, theirs = percentiles(convene), percentiles(bare)
    return {
        "convene_p50_ms": ours["p50_ms"],
        "convene_p95_ms": ours["p95_ms"],
        "bare_p50_ms": theirs["p50_ms"],
        "bare_p95_ms": theirs["p95_ms"],
        "overhead_p50_ms": round(ours["p50_ms"] - theirs["p50_ms"], 2),
        "overhead_p95_ms": round(ours["p95_ms"] - theirs["p95_ms"], 2),
        "ratio_p50": round(ours["p50_ms"] / theirs["p50_ms"], 3),
        "ratio_p95": round(ours["p95_ms"] / theirs["p95_ms"], 3),
        "n": len(convene),
    }


class BareDiscordBot(discord.Client):
    """The baseline: one guild command, answered at once with a constant text."""

    def __init__(self) -> None:
        super().__init__(
            intents=discord.Intents.default(),
            application_id=APPLICATION_ID,
            guild_ready_timeout=0.5,
        )
        self.tree = app_commands.CommandTree(self)
        self.guild = discord.Object(GUILD_ID)
        self.tree.command(name="whoami", description="Who you are", guild=self.guild)(self.whoami)

    async def setup_hook(self) -> None:
        await self.tree.sync(guild=self.guild)

    async def whoami(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message(BARE_ANSWER)


def discord_bot(bot: str, fake: FakeDiscord, workdir: Path) -> AbstractAsyncContextManager[Any]:
    if bot == "bare":
        discord.http.Route.BASE = fake.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
        return running_client(BareDiscordBot(), fake)
    os.environ["CONVENE_BENCH_DISCORD_TOKEN"] = fake.token
    settings = settings_for(
        f"sqlite+aiosqlite:///{workdir}/bot.db",
        discord={
            "enabled": True,
            "token_env": "CONVENE_BENCH_DISCORD_TOKEN",
            "application_id": APPLICATION_ID,
            "guild_ids": [GUILD_ID],
            "api_base_url": fake.api_base,
            "gateway_url": fake.gateway_url,
        },
        rooms=[{"name": "general", "discord_channel_id": GENERAL.id}],
    )
    return running(settings)


async def serve_discord(bot: str) -> None:
    """The child's side: `ready`, then one `/whoami` latency (seconds) per line read."""
    with tempfile.TemporaryDirectory() as workdir:
        async with (
            FakeDiscord(
                application_id=APPLICATION_ID, bot_user_id=BOT_USER_ID, guilds=[TEST_GUILD]
            ) as fake,
            discord_bot(bot, fake, Path(workdir)),
        ):
            await fake.wait_commands_synced(GUILD_ID)
            print("ready", flush=True)
            while await asyncio.to_thread(sys.stdin.readline):
                result = await fake.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "whoami")
                shown = [result.content or "", *(e.get("title", "") for e in result.embeds)]
                assert result.responded_at is not None and ANSWER in " ".join(shown), result
                print(result.responded_at - result.dispatched_at, flush=True)


@contextlib.asynccontextmanager
async def discord_worker(bot: str) -> AsyncIterator[Sample]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.latency",
        "--serve-discord",
        bot,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    commands, answers = process.stdin, process.stdout

    async def sample() -> float:
        commands.write(b"\n")
        await commands.drain()
        line = await answers.readline()
        if not line:
            raise RuntimeError(f"the {bot} Discord bot's process stopped")
        return float(line)

    try:
        if (line := await answers.readline()) != b"ready\n":
            raise RuntimeError(f"the {bot} Discord bot's process did not start: {line!r}")
        yield sample
    finally:
        commands.close()
        await process.wait()


async def discord_latency(n: int, warmup: int) -> dict[str, float]:
    async with discord_worker("convene") as convene, discord_worker("bare") as bare:
        return overhead(*await interleaved(convene, bare, n, warmup))


def in_reply_to(source: dict[str, Any]) -> object:
    return (
        source.get("content", {}).get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
    )


@contextlib.asynccontextmanager
async def bare_matrix_bot(synapse: Synapse, user: MatrixUser, room_id: str) -> AsyncIterator[None]:
    client = AsyncClient(synapse.base_url, user.user_id, device_id=user.device_id)
    client.restore_login(user.user_id, user.device_id, user.access_token)

    async def whoami(room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender == client.user_id or event.body.strip() != "!whoami":
            return
        content = {
            "msgtype": "m.notice",
            "body": BARE_ANSWER,
            "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
        }
        await client.room_send(room.room_id, "m.room.message", content)

    await client.join(room_id)
    await client.sync(timeout=0, full_state=True)
    client.add_event_callback(whoami, RoomMessageText)
    syncing = asyncio.create_task(client.sync_forever(timeout=SYNC_TIMEOUT_MS))
    try:
        yield
    finally:
        syncing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await syncing
        await client.close()


class Asker:
    """The user: sends `!whoami` and waits for the reply on a /sync that leaves out her own
    messages, so only the reply wakes it and nothing polls while a bot works."""

    def __init__(self, synapse: Synapse, user: MatrixUser) -> None:
        self.client = AsyncClient(synapse.base_url, user.user_id, device_id=user.device_id)
        self.client.restore_login(user.user_id, user.device_id, user.access_token)
        self.filter = {
            "room": {"timeline": {"not_senders": [user.user_id]}},
            "presence": {"not_types": ["*"]},
        }

    async def latency(self, room_id: str) -> float:
        content = {"msgtype": "m.text", "body": "!whoami"}
        async with asyncio.timeout(SAMPLE_TIMEOUT):
            sent = await self.client.room_send(room_id, "m.room.message", content)
            assert isinstance(sent, RoomSendResponse), sent
            answered = await self._reply_time(room_id, sent.event_id)
            command = await self.client.room_get_event(room_id, sent.event_id)
        assert isinstance(command, RoomGetEventResponse), command
        return (answered - command.event.server_timestamp) / 1000

    async def _reply_time(self, room_id: str, event_id: str) -> int:
        while True:
            response = await self.client.sync(timeout=SYNC_TIMEOUT_MS, sync_filter=self.filter)
            assert isinstance(response, SyncResponse), response
            joined = response.rooms.join.get(room_id)
            for event in joined.timeline.events if joined else []:
                if in_reply_to(event.source) == event_id:
                    assert ANSWER in event.source["content"]["body"], event.source
                    return int(event.server_timestamp)

    async def catch_up(self) -> None:
        await self.client.sync(timeout=0, sync_filter=self.filter)


async def matrix_latency(synapse: Synapse, workdir: Path, n: int, warmup: int) -> dict[str, float]:
    tag = uuid.uuid4().hex[:6]
    convene, bare, omar, nina = [
        await synapse.register(f"{name}{tag}") for name in ("convene", "bare", "omar", "nina")
    ]
    rooms = {}
    for bot in (convene, bare):
        rooms[bot.user_id] = await synapse.create_room(
            omar, name=bot.user_id, invite=[bot.user_id, nina.user_id]
        )
        await synapse.join(nina, rooms[bot.user_id])
    os.environ["CONVENE_BENCH_MATRIX_TOKEN"] = convene.access_token
    settings = settings_for(
        f"sqlite+aiosqlite:///{workdir}/bot.db",
        matrix={
            "enabled": True,
            "homeserver": synapse.base_url,
            "user_id": convene.user_id,
            "device_id": convene.device_id,
            "token_env": "CONVENE_BENCH_MATRIX_TOKEN",
            "sync_timeout_ms": SYNC_TIMEOUT_MS,
        },
        rooms=[{"name": "community", "matrix_room_id": rooms[convene.user_id]}],
    )
    asker = Asker(synapse, nina)
    async with (
        running(settings) as app,
        bare_matrix_bot(synapse, bare, rooms[bare.user_id]),
    ):
        await eventually(
            lambda: rooms[convene.user_id] in matrix_client(app).rooms, what="Convene to join"
        )
        await asker.catch_up()
        samples = await interleaved(
            lambda: asker.latency(rooms[convene.user_id]),
            lambda: asker.latency(rooms[bare.user_id]),
            n,
            warmup,
        )
    await asker.client.close()
    return overhead(*samples)


def matrix_client(app: App) -> AsyncClient:
    platform = app.platforms[0]
    assert isinstance(platform, MatrixPlatform)
    return platform.client


async def main(discord_n: int, matrix_n: int, warmup: int) -> dict[str, dict[str, float]]:
    figures = {"discord": await discord_latency(discord_n, warmup)}
    with tempfile.TemporaryDirectory() as workdir, Synapse() as synapse:
        figures["matrix"] = await matrix_latency(synapse, Path(workdir), matrix_n, warmup)
    return figures


def describe(what: str, library: str, figures: dict[str, float]) -> str:
    return (
        f"{what} (n={figures['n']} each): "
        f"Convene p50 {figures['convene_p50_ms']} ms, p95 {figures['convene_p95_ms']} ms; "
        f"bare {library} bot p50 {figures['bare_p50_ms']} ms, p95 {figures['bare_p95_ms']} ms; "
        f"overhead p50 {figures['overhead_p50_ms']:+} ms, p95 {figures['overhead_p95_ms']:+} ms, "
        f"ratio p50 {figures['ratio_p50']}, p95 {figures['ratio_p95']}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--discord", type=int, default=400, help="`/whoami`s per Discord bot")
    parser.add_argument("--matrix", type=int, default=200, help="`!whoami`s per Matrix bot")
    parser.add_argument("--warmup", type=int, default=20, help="answers of each bot not counted")
    parser.add_argument("--serve-discord", choices=("convene", "bare"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_discord:
        asyncio.run(serve_discord(args.serve_discord))
        sys.exit()
    result = asyncio.run(main(args.discord, args.matrix, args.warmup))
    print(describe("Discord /whoami, interaction to callback", "discord.py", result["discord"]))
    print(describe("Matrix !whoami, message to reply", "matrix-nio", result["matrix"]))
    print(json.dumps(result))
