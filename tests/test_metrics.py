"""`/metrics` scraped from a running App: commands typed on the console, a mentor request posted
to a Discord channel through the outbox, counts read from the store; parsed as Prometheus does."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import App
from bot.config import parse_settings
from bot.core import Ctx, Reply, Role, UserError, command
from bot.core.context import Caller
from bot.core.env import Env
from bot.core.observe import StoreGauge
from bot.core.ports import SendResult
from bot.core.rooms import Room
from bot.delivery import Key, Outgoing, plan
from bot.metrics import Metrics
from tests.support.bot_harness import outbox_drained, running
from tests.support.clock import Clock
from tests.support.discord_bot import discord_settings
from tests.support.discord_fixtures import MENTORS_CHANNEL
from tests.support.eventually import eventually
from tests.support.fake_discord import FakeDiscord
from tests.support.house import build_dispatcher, build_router
from tests.support.recording_platform import matrix_and_discord

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@command("demo crash", help="A command with a bug")
async def demo_crash(ctx: Ctx) -> Reply:
    raise RuntimeError("a bug")


def sample(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def scrape(app: App) -> tuple[str, Samples]:
    async with aiohttp.ClientSession(app.web_url) as http, http.get("/metrics") as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        text = await response.text()
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return text, samples


@pytest.mark.e2e
async def test_metrics_count_commands_deliveries_and_the_store(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = discord_settings(fake_discord, tmp_path, monkeypatch).model_dump(mode="json")
    data["web"] = {"enabled": True, "port": 0}
    data["console"] = {"enabled": True, "user": "casey", "role": "contributor"}
    data["rooms"] = [
        {"name": "mentors", "discord_channel_id": MENTORS_CHANNEL.id, "purposes": ["mentors"]}
    ]
    read_fd, write_fd = os.pipe()
    stdout = io.StringIO()
    with os.fdopen(read_fd) as stdin, os.fdopen(write_fd, "w") as typing:
        settings = parse_settings(data)
        async with running(settings, extra=[demo_crash], stdin=stdin, stdout=stdout) as app:
            lines = [
                "!whoami",
                "!whoami",
                "!link NOPE",
                '!event create "Sprint" start=tomorrow',
                "!demo crash",
                '!mentor request "dev setup" casey@example.org needs help',
            ]
            typing.write("\n".join(lines) + "\n")
            typing.flush()
            await eventually(lambda: "is in the queue" in stdout.getvalue(), what="the answers")
            await outbox_drained(app)
            text, samples = await scrape(app)

    def commands(name: str, outcome: str) -> float | None:
        return sample(samples, "convene_commands_total", command=name, outcome=outcome)

    assert commands("whoami", "ok") == 2
    assert commands("link", "refused") == 1
    assert commands("event create", "forbidden") == 1
    assert commands("demo crash", "error") == 1
    assert commands("mentor request", "ok") == 1
    assert commands("whoami", "error") is None
    assert sample(samples, "convene_command_duration_seconds_count", command="whoami") == 2
    assert sample(samples, "convene_deliveries_total", platform="discord", status="sent") == 1
    assert sample(samples, "convene_delivery_lag_seconds_count", platform="discord") == 1
    assert sample(samples, "convene_deliveries_pending", platform="discord") == 0
    assert sample(samples, "convene_mentor_requests_open") == 1
    assert sample(samples, "convene_platform_connected", platform="discord") == 1
    assert sample(samples, "convene_platform_connected", platform="console") == 1
    for personal in ("casey", "dev setup", "example.org", "NOPE", "Sprint"):
        assert personal not in text


def test_each_app_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.command("whoami", "ok", 0.01)
    assert first.registry.get_sample_value(
        "convene_commands_total", {"command": "whoami", "outcome": "ok"}
    )
    assert (
        second.registry.get_sample_value(
            "convene_commands_total", {"command": "whoami", "outcome": "ok"}
        )
        is None
    )


async def test_deliveries_by_platform_and_status_with_their_lag(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A send due 90 s ago goes out on Matrix and is rate limited on Discord, then refused."""
    clock = Clock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    platforms = matrix_and_discord()
    platforms["discord"].script = [
        SendResult(retry_after=5.0, limited=True),
        SendResult(error="403 Missing Access"),
    ]
    metrics = Metrics()
    dispatcher = build_dispatcher(sessions, platforms, clock, metrics)
    room = Room("community", {"discord": "1", "matrix": "!c:x"})
    async with sessions() as session:
        due = clock.now - timedelta(seconds=90)
        message = Outgoing(Key("test", "lag"), [room], lambda _: Reply("hello"), due)
        await plan(session, Env(), [message])
        await session.commit()
    await dispatcher.run_due()
    clock.now += timedelta(seconds=10)
    await dispatcher.run_due()

    def value(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    assert value("convene_deliveries_total", platform="matrix", status="sent") == 1
    assert value("convene_deliveries_total", platform="discord", status="retry") == 1
    assert value("convene_deliveries_total", platform="discord", status="failed") == 1
    assert value("convene_delivery_lag_seconds_count", platform="matrix") == 1
    assert value("convene_delivery_lag_seconds_sum", platform="matrix") == 90
    assert value("convene_delivery_lag_seconds_count", platform="discord") is None


@command("demo refuse", help="A command that refuses or answers an error", role=Role.MENTOR)
async def demo_refuse(ctx: Ctx, how: str = "raise") -> Reply:
    if how == "raise":
        raise UserError("No.")
    if how == "reply":
        return Reply("Not now.", error=True)
    return Reply("fine")


async def test_the_router_reports_each_command_once_by_its_name(
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Through `invoke` (Discord's way) as through typed text; an unknown command is not
    counted, since its name is whatever someone typed."""
    metrics = Metrics()
    router = build_router(sqlite_sessions, metrics)
    router.add(demo_refuse)
    router.add(demo_crash)
    spec = router.get("demo refuse")
    assert spec is not None
    mentor = Caller("discord", "1", "Ana", Role.MENTOR, "9", style="slash")
    contributor = Caller("discord", "2", "Bo", Role.CONTRIBUTOR, "9", style="slash")
    await router.invoke(mentor, spec, {"how": "raise"})
    await router.invoke(mentor, spec, {"how": "reply"})
    await router.invoke(mentor, spec, {"how": "ok"})
    await router.invoke(contributor, spec, {})
    await router.handle_text(mentor, "demo crash")
    await router.handle_text(mentor, "ana@example.org please")

    counted = {
        (s.labels["command"], s.labels["outcome"]): s.value
        for family in metrics.registry.collect()
        if family.name == "convene_commands"
        for s in family.samples
        if s.name.endswith("_total")
    }
    assert counted == {
        ("demo refuse", "refused"): 2,
        ("demo refuse", "ok"): 1,
        ("demo refuse", "forbidden"): 1,
        ("demo crash", "error"): 1,
    }


def test_store_gauges_have_plain_names() -> None:
    async def read(session: AsyncSession) -> float:
        return 0.0

    with pytest.raises(ValueError, match="lower case letters"):
        StoreGauge("Mentor-Requests", "no", read)
