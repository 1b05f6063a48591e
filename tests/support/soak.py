"""The fault soak: two `convene run` on one PostgreSQL, people on Matrix and Discord, faults.

Everything is real but the chat services' users and Discord itself: two `convene run` processes
(`tests.support.bot_process`) share a PostgreSQL cluster of their own (`private_postgres`), Matrix
is a real Synapse behind a proxy that can answer 429s (`throttle_proxy`), Discord is the fake
(`fake_discord`). Simulated people send commands, RSVPs, mentor requests and claims and create
events, whose announcements fall due while the soak runs, on both platforms; meanwhile a fault
is injected every few seconds, in turn: either instance SIGKILLed (a supervisor restarts it a
second later, as a service manager would), Synapse restarted, the Discord gateway dropped, a 429
storm on each platform, the bots' PostgreSQL sessions ended with `pg_terminate_backend`, and
PostgreSQL itself restarted (the cluster is the soak's own, never the machine's shared server).

Then the faults stop, every instance is left to finish, and what people saw is counted from the
services' side: each command's answers (Matrix replies by the event they answer, Discord
interaction responses), each planned announcement's messages (found by the idempotency key the
outbox sends it with: the Matrix transaction id, the Discord nonce), and how long each platform
went unserved after its holder was killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import re
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sqlmodel import col, select

from bot.core.ports import DIRECT
from bot.db import make_engine, make_sessions
from bot.delivery import Delivery, Status
from tests.support.bot_process import write_config
from tests.support.discord_fixtures import (
    APPLICATION_ID,
    BOT_USER_ID,
    CONTRIBUTOR,
    GENERAL,
    GUILD_ID,
    MENTOR,
    ORGANIZER,
    TEST_GUILD,
)
from tests.support.eventually import eventually
from tests.support.fake_discord import FakeDiscord, FakeUser
from tests.support.private_postgres import available, private_postgres
from tests.support.soak_figures import Figures, Tally
from tests.support.store_fixtures import PG_ADMIN_URL
from tests.support.supervised import Instance
from tests.support.synapse import Event, MatrixUser, Synapse
from tests.support.throttle_proxy import ThrottleProxy

FAULTS = (
    "kill",
    "gateway drop",
    "pg_terminate_backend",
    "synapse restart",
    "discord 429 storm",
    "matrix 429 storm",
    "postgresql restart",
    "kill",
)
# An announcement sent later than this after it fell due is late.
LATE = 60.0
# How soon a platform must be served again after its holder died (the bound), and how
# long the soak waits for it at most.
TAKEOVER_WITHIN = 10.0
TAKEOVER_CAP = 60.0
# An event created by the soak starts this long after, and is announced then.
ANNOUNCED_AFTER = timedelta(seconds=10)
STORM_SECONDS = 5.0
APOLOGY = "went wrong on my side"
MATRIX_TOKEN_ENV = "CONVENE_SOAK_MATRIX_TOKEN"
DISCORD_TOKEN_ENV = "CONVENE_SOAK_DISCORD_TOKEN"


@dataclass
class MatrixSide:
    synapse: Synapse
    proxy: ThrottleProxy
    bot: MatrixUser
    omar: MatrixUser
    nina: MatrixUser
    room: str
    # The event id of each command sent, with its kind.
    sent: dict[str, str] = field(default_factory=dict)


@dataclass
class DiscordSide:
    fake: FakeDiscord
    # Per kind: how many interactions got a response, and how many none.
    answered: Counter[str] = field(default_factory=Counter)
    apologies: Counter[str] = field(default_factory=Counter)
    unanswered: Counter[str] = field(default_factory=Counter)
    # Interactions Discord had sent to the gateway of an instance that was then SIGKILLed:
    # Discord sends an interaction once, to one session, and never again, so no instance can
    # answer it (the person sees "The application did not respond" and tries again).
    with_killed: Counter[str] = field(default_factory=Counter)
    held_back: int = 0
    pending: set[asyncio.Task[None]] = field(default_factory=set)
    # What went wrong on the soak's side of an interaction (a wrong option, say).
    errors: list[str] = field(default_factory=list)


class Soak:
    def __init__(
        self, seconds: float, every: float, drain: float, workdir: Path, keep: Path | None
    ) -> None:
        self.keep = keep
        self.seconds = seconds
        self.every = every
        self.drain = drain
        self.workdir = workdir
        self.figures = Figures(seconds)
        self.instances: list[Instance] = []
        self.ending = asyncio.Event()
        self.events: list[int] = []
        self.measuring: set[asyncio.Task[None]] = set()
        # When the instance holding the Discord gateway was SIGKILLed.
        self.gateway_kills: list[float] = []
        self.began = time.monotonic()
        # What happened when, for reading the instances' logs beside it.
        self.timeline: list[str] = []

    def note(self, what: str) -> None:
        self.timeline.append(
            f"{time.monotonic() - self.began:8.2f} {datetime.now(UTC):%H:%M:%S.%f} {what}"
        )

    async def run(
        self,
        restart: Callable[[], None] | None,
        url: str,
        matrix: MatrixSide,
        discord: DiscordSide,
        http: aiohttp.ClientSession,
    ) -> Figures:
        config = write_config(
            self.workdir,
            url,
            console={"enabled": False},
            web={"enabled": True, "port": 0},
            matrix={
                "enabled": True,
                "homeserver": matrix.proxy.base_url,
                "user_id": matrix.bot.user_id,
                "device_id": matrix.bot.device_id,
                "token_env": MATRIX_TOKEN_ENV,
                "sync_timeout_ms": 1000,
            },
            discord={
                "enabled": True,
                "token_env": DISCORD_TOKEN_ENV,
                "application_id": APPLICATION_ID,
                "guild_ids": [GUILD_ID],
                "api_base_url": discord.fake.api_base,
                "gateway_url": discord.fake.gateway_url,
            },
            rooms=[
                {
                    "name": "community",
                    "matrix_room_id": matrix.room,
                    "discord_channel_id": GENERAL.id,
                    "purposes": ["announcements"],
                }
            ],
        )
        env = {MATRIX_TOKEN_ENV: matrix.bot.access_token, DISCORD_TOKEN_ENV: discord.fake.token}
        self.instances = [Instance(name, config, env, http) for name in ("a", "b")]
        try:
            await self._scenario(restart, url, matrix, discord)
        finally:
            for instance in self.instances:
                await instance.end()
        if self.keep is not None:
            await self._keep(url, matrix)
        self.figures.restarts = sum(i.starts for i in self.instances) - len(self.instances)
        self.figures.held_back = discord.held_back
        self.figures.errors = discord.errors[:10]
        return self.figures

    async def _scenario(
        self,
        restart: Callable[[], None] | None,
        url: str,
        matrix: MatrixSide,
        discord: DiscordSide,
    ) -> None:
        self.instances[0].start()
        await self._until(self._all_served, "the first instance to serve both platforms")
        self.instances[1].start()
        await self._until(
            lambda: self._standing_by(self.instances[1]), "the second instance to stand by"
        )
        await discord.fake.wait_commands_synced(GUILD_ID)
        anchor = await self._matrix_command(matrix, matrix.omar, self._create_text("anchor", 7))
        await self._until(lambda: self._answered(matrix, anchor), "the first event's answer")
        self.events.append(1)
        people = [
            self._matrix_person(matrix, matrix.omar, self._omar_says),
            self._matrix_person(matrix, matrix.nina, self._nina_says),
            self._discord_person(discord, ORGANIZER, self._olivia_does),
            self._discord_person(discord, CONTRIBUTOR, self._casey_does),
            self._discord_person(discord, MENTOR, self._marco_does),
        ]
        workload = [asyncio.create_task(person) for person in people]
        try:
            await self._faults(restart, url, matrix, discord)
        finally:
            self.ending.set()
            await asyncio.gather(*workload)
        matrix.proxy.calm()
        discord.fake.clear_rate_limits()
        if discord.pending:
            await asyncio.wait(discord.pending)
        await asyncio.gather(*self.measuring)
        # The last event created is due ANNOUNCED_AFTER from now (its start is cut to the second).
        due_by = datetime.now(UTC) + ANNOUNCED_AFTER + timedelta(seconds=1)
        await self._settle(url, matrix, due_by)
        await self._count(url, matrix, discord, due_by)

    # -- waiting -------------------------------------------------------------------------------

    async def _until(
        self, check: Callable[[], Awaitable[bool]], what: str, cap: float = 60
    ) -> None:
        try:
            await eventually(check, what=what, timeout=cap, interval=0.1)
        except TimeoutError as exc:
            logs = "\n".join(self.logs()[-3:])
            raise TimeoutError(f"no {what} after {cap:.0f} s\n{logs[-4000:]}") from exc

    def logs(self) -> list[str]:
        current = [i.bot.stderr for i in self.instances if i.bot is not None]
        return [log for i in self.instances for log in i.logs] + current

    async def _all_served(self) -> bool:
        return all([await self._served("matrix"), await self._served("discord")])

    async def _served(self, platform: str) -> bool:
        return any([await i.serves(platform) for i in self.instances])

    async def _standing_by(self, instance: Instance) -> bool:
        health = await instance.health()
        return bool(health and sorted(health["standby"]) == ["discord", "matrix"])

    async def _keep(self, url: str, matrix: MatrixSide) -> None:
        """Leave the logs, the timeline and the outbox in *keep*, to find what went wrong."""
        assert self.keep is not None
        self.keep.mkdir(parents=True, exist_ok=True)
        for instance in self.instances:
            for n, log in enumerate(instance.logs):
                (self.keep / f"{instance.name}{n}.log").write_text(log)
        replies = await _replies(matrix)
        lost = [f"unanswered {e} {kind}" for e, kind in matrix.sent.items() if not replies.get(e)]
        (self.keep / "timeline.txt").write_text("\n".join(self.timeline + lost) + "\n")
        engine = make_engine(url)
        try:
            async with make_sessions(engine)() as session:
                rows = (await session.exec(select(Delivery).order_by(col(Delivery.id)))).all()
        finally:
            await engine.dispose()
        dump = [row.model_dump(mode="json") for row in rows]
        (self.keep / "deliveries.json").write_text(json.dumps(dump, indent=1))

    # -- people --------------------------------------------------------------------------------

    def _create_text(self, tag: str, after_days: int = 0) -> str:
        start = datetime.now(UTC) + ANNOUNCED_AFTER + timedelta(days=after_days)
        return (
            f'event create "Soak {tag}" "{start:%Y-%m-%d %H:%M:%S}" tz=UTC reminders=none '
            "rooms=community"
        )

    def _omar_says(self, n: int) -> str:
        return [
            self._create_text(f"m{n}"),
            f"mentor claim {max(1, n // 2)}",
            "whoami",
            "event list",
        ][n % 4]

    def _nina_says(self, n: int) -> str:
        return [
            f"event rsvp {random.choice(self.events)} going",
            f'mentor request "soak question {n}"',
            "whoami",
        ][n % 3]

    def _olivia_does(self, n: int) -> tuple[str, dict[str, Any]]:
        if n % 2:
            return "whoami", {}
        start = datetime.now(UTC) + ANNOUNCED_AFTER
        options = {
            "title": f"Soak d{n}",
            "start": f"{start:%Y-%m-%d %H:%M:%S}",
            "tz": "UTC",
            "reminders": "none",
            "rooms": "community",
        }
        return "event create", options

    def _casey_does(self, n: int) -> tuple[str, dict[str, Any]]:
        if n % 2:
            return "mentor request", {"topic": f"soak help {n}"}
        return "event rsvp", {"id": random.choice(self.events), "answer": "going"}

    def _marco_does(self, n: int) -> tuple[str, dict[str, Any]]:
        return "mentor claim", {"id": max(1, n)}

    async def _pause(self) -> bool:
        """A person's thinking time; False once the soak is over."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ending.wait(), random.uniform(1.0, 2.5))
        return not self.ending.is_set()

    async def _matrix_command(self, matrix: MatrixSide, who: MatrixUser, text: str) -> str:
        """Send `!text` to the room, trying again while Synapse is away, as a person would."""
        while True:
            try:
                event_id = await matrix.synapse.send_text(who, matrix.room, "!" + text)
            except (aiohttp.ClientError, OSError, TimeoutError):
                await asyncio.sleep(0.5)
                continue
            matrix.sent[event_id] = " ".join(text.split()[:2]) if text[0] != "w" else "whoami"
            self.note(f"matrix {event_id} {text}")
            return event_id

    async def _matrix_person(
        self, matrix: MatrixSide, who: MatrixUser, says: Callable[[int], str]
    ) -> None:
        n = 0
        while await self._pause():
            n += 1
            await self._matrix_command(matrix, who, says(n))

    async def _discord_person(
        self,
        discord: DiscordSide,
        who: FakeUser,
        does: Callable[[int], tuple[str, dict[str, Any]]],
    ) -> None:
        n = 0
        while await self._pause():
            n += 1
            command, options = does(n)
            discord.held_back += not discord.fake.gateway_live()
            while not discord.fake.gateway_live():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(discord.fake.wait_ready(), 5)
            task = asyncio.create_task(self._interact(discord, who, command, options))
            discord.pending.add(task)
            task.add_done_callback(discord.pending.discard)

    async def _interact(
        self, discord: DiscordSide, who: FakeUser, command: str, options: dict[str, Any]
    ) -> None:
        sent = time.monotonic()
        try:
            result = await discord.fake.slash(GUILD_ID, GENERAL.id, who, command, options)
        except TimeoutError:
            self.note(f"discord unanswered /{command} {options}, sent at {sent - self.began:.2f}")
            if any(sent - 0.5 <= killed <= sent + 3 for killed in self.gateway_kills):
                discord.with_killed[command] += 1
            else:
                discord.unanswered[command] += 1
            return
        except Exception as exc:
            discord.unanswered[command] += 1
            discord.errors.append(f"/{command}: {type(exc).__name__}: {exc}")
            return
        if command == "event create" and result.message is not None:
            created = re.search(r"#(\d+)", json.dumps(result.message))
            if created:
                self.events.append(int(created.group(1)))
        discord.answered[command] += 1
        discord.apologies[command] += APOLOGY in json.dumps(result.message)

    # -- faults --------------------------------------------------------------------------------

    async def _faults(
        self,
        restart: Callable[[], None] | None,
        url: str,
        matrix: MatrixSide,
        discord: DiscordSide,
    ) -> None:
        ends = time.monotonic() + self.seconds
        victims = itertools.cycle(self.instances)
        for fault in itertools.cycle(FAULTS):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.sleep(self.every), max(0, ends - time.monotonic()))
            if time.monotonic() >= ends:
                return
            self.figures.faults[fault] += 1
            self.note(f"fault: {fault}")
            if fault == "kill":
                await self._kill(next(victims))
            elif fault == "gateway drop":
                if discord.fake.gateway_live():
                    await discord.fake.disconnect_bot(wait=False)
            elif fault == "discord 429 storm":
                discord.fake.rate_limit_next(
                    r"^/(channels|webhooks|users)/", retry_after=1, count=40
                )
                asyncio.get_running_loop().call_later(STORM_SECONDS, discord.fake.clear_rate_limits)
            elif fault == "matrix 429 storm":
                matrix.proxy.storm(STORM_SECONDS)
            elif fault == "synapse restart":
                await asyncio.to_thread(matrix.synapse.pause)
                await asyncio.to_thread(matrix.synapse.resume)
            elif fault == "pg_terminate_backend":
                await self._measured(fault, lambda: _terminate_sessions(url))
            elif fault == "postgresql restart" and restart is not None:
                await self._measured(fault, lambda: asyncio.to_thread(restart))
            elif fault == "postgresql restart":
                self.figures.faults[fault] -= 1
                self.figures.faults["postgresql restart (not done: a shared server)"] += 1

    async def _kill(self, victim: Instance) -> None:
        health = await victim.health()
        held = list(health["leases"]) if health else []
        victim.kill()
        killed = time.monotonic()
        if "discord" in held:
            self.gateway_kills.append(killed)
        for platform in held:
            self._measure(f"{platform} after SIGKILL", platform, killed)

    async def _measured(self, fault: str, act: Callable[[], Awaitable[Any]]) -> None:
        began = time.monotonic()
        await act()
        for platform in ("matrix", "discord"):
            self._measure(f"{platform} after {fault}", platform, began)

    def _measure(self, kind: str, platform: str, since: float) -> None:
        """Seconds from *since* until some instance serves *platform* again, having first
        seen it unserved (a fault that no instance noticed takes nothing over)."""

        async def measure() -> None:
            await asyncio.sleep(0.2)
            while time.monotonic() - since < TAKEOVER_CAP:
                if await self._served(platform):
                    self.figures.takeovers.setdefault(kind, []).append(time.monotonic() - since)
                    return
                await asyncio.sleep(0.05)
            self.figures.takeovers.setdefault(kind, []).append(TAKEOVER_CAP)

        task = asyncio.create_task(measure())
        self.measuring.add(task)

    # -- counting ------------------------------------------------------------------------------

    async def _settle(self, url: str, matrix: MatrixSide, due_by: datetime) -> None:
        """Wait, up to the drain time, until every Matrix command has an answer, every event
        created is due, and no announcement due by then is left to send: what is still missing
        then is lost. Counting before the last is due would race its sending."""
        deadline = time.monotonic() + self.drain
        while time.monotonic() < deadline:
            try:
                replies = await _replies(matrix)
                waiting = await _unsettled(url, due_by)
            except (aiohttp.ClientError, OSError, asyncpg.PostgresError):
                await asyncio.sleep(1)
                continue
            all_due = datetime.now(UTC) >= due_by
            if all_due and not waiting and all(replies.get(e) for e in matrix.sent):
                return
            await asyncio.sleep(1)

    async def _answered(self, matrix: MatrixSide, event_id: str) -> bool:
        return bool((await _replies(matrix)).get(event_id))

    async def _count(
        self, url: str, matrix: MatrixSide, discord: DiscordSide, due_by: datetime
    ) -> None:
        figures = self.figures
        timeline = await matrix.synapse.messages(matrix.omar, matrix.room)
        replies = _by_source(matrix, timeline)
        stamps = {event["event_id"]: event["origin_server_ts"] for event in timeline}
        for event_id, kind in matrix.sent.items():
            answers = replies.get(event_id, [])
            tally = figures.commands.setdefault(f"matrix {kind}", Tally())
            tally.count(len(answers))
            tally.apologies += any(APOLOGY in a["content"].get("body", "") for a in answers)
            if answers and event_id in stamps:
                first = min(answer["origin_server_ts"] for answer in answers)
                figures.answer_delays.append((first - stamps[event_id]) / 1000)
        for kind in discord.answered | discord.unanswered | discord.with_killed:
            tally = figures.commands.setdefault(f"discord {kind}", Tally())
            tally.missing += discord.unanswered[kind]
            tally.once += discord.answered[kind]
            tally.apologies += discord.apologies[kind]
        figures.lost_with_gateway = sum(discord.with_killed.values())
        callbacks = Counter(
            request.path.split("/")[2]
            for request in discord.fake.requests
            if request.path.startswith("/interactions/")
        )
        if twice := sum(1 for n in callbacks.values() if n > 1):
            figures.commands.setdefault("discord (any)", Tally()).twice += twice
        by_txn: Counter[str | None] = Counter()
        for room in await matrix.synapse.joined_rooms(matrix.bot):
            by_txn.update(
                event.get("unsigned", {}).get("transaction_id")
                for event in await matrix.synapse.messages(matrix.bot, room)
                if event["sender"] == matrix.bot.user_id
            )
        by_nonce = Counter(
            message.get("nonce")
            for messages in discord.fake.channel_messages.values()
            for message in messages
        )
        for row in await _announcements(url, due_by):
            key = row.send_key or f"delivery-{row.id}"
            times = by_txn[f"convene-{key}"] if row.platform == "matrix" else by_nonce[key[-25:]]
            where = "direct" if row.target.startswith(DIRECT) else "room"
            tally = figures.announcements.setdefault(f"{row.platform} {where}", Tally())
            tally.count(times)
            if times != 1:
                self.note(f"announcement {row.id} {row.key} on {row.platform}: {times} messages")
            if times and row.sent_at and (row.sent_at - row.due_at).total_seconds() > LATE:
                tally.late += 1


def _by_source(matrix: MatrixSide, timeline: list[Event]) -> dict[str, list[Event]]:
    """The bot's messages in the room, by the event each replies to."""
    found: dict[str, list[Event]] = {}
    for event in timeline:
        if event["sender"] != matrix.bot.user_id:
            continue
        source = event["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
        if source:
            found.setdefault(source, []).append(event)
    return found


async def _replies(matrix: MatrixSide) -> dict[str, list[Event]]:
    return _by_source(matrix, await matrix.synapse.messages(matrix.omar, matrix.room))


async def _unsettled(url: str, due_by: datetime) -> int:
    engine = make_engine(url)
    try:
        async with make_sessions(engine)() as session:
            query = select(Delivery.id).where(
                col(Delivery.status).in_((Status.PENDING, Status.SENDING)),
                col(Delivery.due_at) <= due_by,
            )
            return len((await session.exec(query)).all())
    finally:
        await engine.dispose()


async def _announcements(url: str, due_by: datetime) -> list[Delivery]:
    """Every new message the outbox planned for a room and due by *due_by*: not the command
    answers it was handed, nor the edits of earlier posts (a claimed mentor request, say)."""
    engine = make_engine(url)
    try:
        async with make_sessions(engine)() as session:
            query = select(Delivery).where(
                col(Delivery.key).not_like("answer:%"),
                col(Delivery.replaces).is_(None),
                col(Delivery.due_at) <= due_by,
            )
            return list((await session.exec(query)).all())
    finally:
        await engine.dispose()


async def _terminate_sessions(url: str) -> None:
    """End every session the bots have on their database, lease connections included."""
    admin = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def _postgres() -> AsyncIterator[tuple[Callable[[], None] | None, str]]:
    """A PostgreSQL cluster of the soak's own, which it may restart; without initdb, a fresh
    database on the shared server (CONVENE_TEST_PG), which it must not restart."""
    if available():
        password = secrets.token_urlsafe(12)
        with private_postgres(password) as pg:
            yield pg.restart, pg.url(password)
        return
    admin = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    name = f"convene_soak_{secrets.token_hex(6)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield None, PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@contextlib.asynccontextmanager
async def _matrix() -> AsyncIterator[MatrixSide]:
    synapse = Synapse()
    await asyncio.to_thread(synapse.start)
    try:
        async with ThrottleProxy(synapse.base_url) as proxy:
            bot = await synapse.register("convene")
            omar = await synapse.register("omar")
            nina = await synapse.register("nina")
            room = await synapse.create_room(
                omar, name="Community", invite=[bot.user_id, nina.user_id]
            )
            await synapse.join(nina, room)
            yield MatrixSide(synapse, proxy, bot, omar, nina, room)
    finally:
        await asyncio.to_thread(synapse.stop)


async def soak(seconds: float, every: float, drain: float, keep: Path | None = None) -> Figures:
    """Run the scenario for *seconds*, a fault every *every* seconds, then wait up to *drain*
    seconds for what is due; the figures of what people saw. With *keep*, the instances' logs,
    a timeline and the outbox are left there."""
    with tempfile.TemporaryDirectory(prefix="convene-soak-") as tmp:
        async with (
            _postgres() as (restart, url),
            _matrix() as matrix,
            FakeDiscord(
                application_id=APPLICATION_ID,
                bot_user_id=BOT_USER_ID,
                guilds=[TEST_GUILD],
                wait_timeout=10.0,
            ) as fake,
            aiohttp.ClientSession() as http,
        ):
            scenario = Soak(seconds, every, drain, Path(tmp), keep)
            return await scenario.run(restart, url, matrix, DiscordSide(fake), http)
