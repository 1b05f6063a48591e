"""`/metrics` in the Prometheus text format: what the core observes, and counts read at scrape.

One `Metrics` per App, each with its own `CollectorRegistry`, so two apps in one process (tests,
a second instance in a benchmark) never share or clash over a metric. Labels are command names,
platform names and statuses only: nothing a person typed or is called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import delivery
from bot.core.observe import Outcome, StoreGauge
from bot.core.pages import Page, PageHandler, PageRequest

# A command answers within a chat's patience; a delivery may wait out an outage.
COMMAND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 6 * 3600.0, 24 * 3600.0)

Health = Callable[[], Mapping[str, bool]]


class Metrics:
    """The App's `Observer`, and the `/metrics` page."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        ProcessCollector(registry=registry)
        self.commands = Counter(
            "convene_commands",
            "Commands run, by command name and outcome (ok, refused, forbidden, error).",
            ["command", "outcome"],
            registry=registry,
        )
        self.command_seconds = Histogram(
            "convene_command_duration_seconds",
            "Time from a command's arrival to its reply, by command name.",
            ["command"],
            buckets=COMMAND_BUCKETS,
            registry=registry,
        )
        self.deliveries = Counter(
            "convene_deliveries",
            "Outbox sends, by platform and status (sent, retry, failed, skipped).",
            ["platform", "status"],
            registry=registry,
        )
        self.lag = Histogram(
            "convene_delivery_lag_seconds",
            "From when a message was due to when it was sent, by platform.",
            ["platform"],
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.pending = Gauge(
            "convene_deliveries_pending",
            "Messages in the outbox waiting to be sent, by platform.",
            ["platform"],
            registry=registry,
        )
        self.connected = Gauge(
            "convene_platform_connected",
            "1 when the platform is connected, else 0.",
            ["platform"],
            registry=registry,
        )
        self._store_gauges: list[tuple[StoreGauge, Gauge]] = []
        self._command_series: dict[tuple[str, str], tuple[Counter, Histogram]] = {}

    def command(self, name: str, outcome: Outcome, seconds: float) -> None:
        # Every command passes here: its two series are looked up once, not at every command.
        series = self._command_series.get((name, outcome))
        if series is None:
            series = (self.commands.labels(name, outcome), self.command_seconds.labels(name))
            self._command_series[(name, outcome)] = series
        count, took = series
        count.inc()
        took.observe(seconds)

    def delivery(self, platform: str, status: str, lag: float | None) -> None:
        self.deliveries.labels(platform, status).inc()
        if lag is not None:
            self.lag.labels(platform).observe(lag)

    def watch(self, gauges: Mapping[str, StoreGauge]) -> None:
        """Serve the cogs' store gauges as `convene_<name>`."""
        for gauge in gauges.values():
            metric = Gauge(f"convene_{gauge.name}", gauge.help, registry=self.registry)
            self._store_gauges.append((gauge, metric))

    async def scrape(self, session: AsyncSession, health: Mapping[str, bool]) -> bytes:
        """The text Prometheus reads, with the store's counts as they are now."""
        waiting = await delivery.backlog(session)
        self.pending.clear()
        for platform in sorted(set(health) | set(waiting)):
            self.pending.labels(platform).set(waiting.get(platform, 0))
        for platform, up in health.items():
            self.connected.labels(platform).set(1 if up else 0)
        for gauge, metric in self._store_gauges:
            metric.set(await gauge.read(session))
        return generate_latest(self.registry)

    def page(self, sessions: async_sessionmaker[AsyncSession], health: Health) -> PageHandler:
        async def serve(_request: PageRequest) -> Page:
            async with sessions() as session:
                return Page(await self.scrape(session, health()), CONTENT_TYPE_LATEST)

        return serve
