"""What `/metrics` and the weekly digest cost on a big store:
`python -m benchmarks.metrics [--requests N] [--deliveries N] [--store …]`.

Loads the mentoring benchmark's N past requests (a few hundred open) and their people, and N
outbox rows (a thousand of them waiting), then times a scrape as `/metrics` serves it (the
outbox backlog and the cogs' store gauges read in one session, then the text), and the digest's
gathering and writing (events, the mentor queue, a week of FAQ gaps, new people); p50/p95 of
each, and the cost of observing one command. Prints the figures and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import SQLModel

from benchmarks.mentoring import _insert
from benchmarks.mentoring import populate as populate_requests
from benchmarks.support import percentiles, throwaway_store
from bot.assembly import assemble
from bot.config import parse_settings
from bot.core.audience import Audience
from bot.db import make_engine, make_sessions
from bot.metrics import Metrics
from bot.schema import upgrade
from cogs.digest import compose

WAITING = 1000
MENTORS = 200


def deliveries(count: int, now: datetime) -> list[dict[str, Any]]:
    rows = []
    for n in range(1, count + 1):
        waiting = n <= WAITING
        rows.append(
            {
                "id": n,
                "key": f"bench:{n}",
                "room": "community",
                "platform": "matrix" if n % 2 else "discord",
                "target": "!c:bench",
                "body": '{"text": "hello"}',
                "due_at": now + timedelta(minutes=n) if waiting else now - timedelta(minutes=n),
                "status": "pending" if waiting else "sent",
                "attempts": 0 if waiting else 1,
                "sent_at": None if waiting else now - timedelta(minutes=n),
            }
        )
    return rows


async def measure(url: str, requests: int, outbox: int, runs: int) -> dict[str, object]:
    now = datetime.now(UTC).replace(microsecond=0)
    settings = parse_settings({"store": {"url": url}})
    engine = make_engine(url)
    await upgrade(engine)
    sessions = make_sessions(engine)
    metrics = Metrics()
    house = assemble(sessions, settings, clock=lambda: now, observer=metrics)
    metrics.watch(house.contributions.gauges)
    started = time.perf_counter()
    await populate_requests(engine, requests, MENTORS, now)
    await _insert(engine, SQLModel.metadata.tables["delivery"], deliveries(outbox, now))
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))  # as autovacuum would, minutes later
    figures: dict[str, object] = {"populate_s": round(time.perf_counter() - started, 2)}

    health = {"matrix": True, "discord": True}
    scrapes, gathers, body = [], [], b""
    for _ in range(runs):
        started = time.perf_counter()
        async with sessions() as session:
            body = await metrics.scrape(session, health)
        scrapes.append(time.perf_counter() - started)
    figures["scrape"] = {**percentiles(scrapes), "bytes": len(body)}
    for _ in range(runs):
        started = time.perf_counter()
        async with sessions() as session:
            parts = await compose.gather(session, now)
        compose.render(parts, now, UTC)(Audience.of("matrix"))
        gathers.append(time.perf_counter() - started)
    figures["digest"] = percentiles(gathers)

    calls = 100_000
    started = time.perf_counter()
    for n in range(calls):
        metrics.command("mentor list", "ok", 0.001 * (n % 50))
    figures["observe_us"] = round((time.perf_counter() - started) / calls * 1e6, 2)
    await engine.dispose()
    return figures


async def main(store: str, requests: int, outbox: int, runs: int) -> dict[str, object]:
    async with throwaway_store(store) as url:
        figures = await measure(url, requests, outbox, runs)
    figures.update(store=store, requests=requests, deliveries=outbox)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50, help="timed runs of each")
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    result = asyncio.run(main(args.store, args.requests, args.deliveries, args.runs))
    print(
        f"{args.store}: {args.requests} mentor requests, {args.deliveries} deliveries, "
        f"loaded in {result['populate_s']} s"
    )
    print(f"/metrics scrape: {result['scrape']}")
    print(f"digest gather and write: {result['digest']}")
    print(f"observing one command: {result['observe_us']} µs")
    print(json.dumps(result))
