"""Events at scale: `python -m benchmarks.events [--events N] [--rooms N] [--store sqlite|postgresql]`.

Creates N recurring events (a mix of the named repeats, zones and reminders) over R rooms through
the real service, then measures: the first announcement-planning pass over them (every event
unplanned, as after an upgrade or a large import), an idle pass after it (the median of five:
nothing changed or fell due, which is also what a restart costs, since each event keeps its
planning bookmark), `event list` through the real registry (p50/p95), rendering the calendar feed
for 1,000 events, and peak RSS. Prints the figures and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from benchmarks.support import peak_rss_mb, percentiles, throwaway_store
from bot.config import parse_settings
from bot.core.context import Caller, Role
from bot.core.router import Router
from bot.db import make_engine, make_sessions
from bot.identity import resolve_person
from bot.schema import upgrade
from cogs.events import service
from cogs.events.feed import render_feed
from cogs.events.models import Event
from cogs.events.recurrence import build_rrule
from tests.support.house import build_announcer, build_bot

ZONES = ["Europe/Paris", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
REPEATS = ["daily", "weekly", "weekly", "biweekly", "monthly", "monthly-nth", "quarterly"]


async def populate(registry: Router, events: int, rooms: int, now: datetime) -> None:
    rng = random.Random(7)
    async with registry.runtime.sessions() as session:
        organizer = await resolve_person(
            session, Caller("console", "bench", "bench", Role.ORGANIZER, "console"), now
        )
        for n in range(events):
            zone = ZoneInfo(rng.choice(ZONES))
            start = (now - timedelta(days=rng.randrange(0, 900))).astimezone(zone)
            start_local = start.replace(
                hour=rng.randrange(7, 21),
                minute=rng.choice((0, 15, 30, 45)),
                second=0,
                microsecond=0,
                tzinfo=None,
            )
            repeat = rng.choice(REPEATS)
            new = service.NewEvent(
                title=f"Event {n}",
                start_local=start_local,
                zone=zone,
                rrule=build_rrule(repeat, start_local, zone),
                duration_min=60,
                kind=rng.choice(("meeting", "sprint", "docathon", "office-hours")),
                tier=rng.choice(("everyone", "newcomers", "contributors", "core")),
                link=None,
                description=None,
                reminders=(timedelta(hours=24), timedelta(minutes=15)),
                rooms=(f"room{rng.randrange(rooms)}",),
            )
            await service.create_event(session, new, person_id=organizer, now=now)
            if n % 1000 == 999:
                await session.commit()
        await session.commit()


async def measure(url: str, events: int, rooms: int) -> dict[str, object]:
    now = datetime.now(UTC)
    settings = parse_settings(
        {
            "store": {"url": url},
            "rooms": [
                {
                    "name": f"room{n}",
                    "matrix_room_id": f"!r{n}:bench",
                    "purposes": ["announcements"],
                }
                for n in range(rooms)
            ],
        }
    )
    engine = make_engine(url)
    await upgrade(engine)
    registry = build_bot(make_sessions(engine), settings, clock=lambda: now)
    started = time.perf_counter()
    await populate(registry, events, rooms, now)
    populate_s = time.perf_counter() - started

    announcer = build_announcer(registry)
    started = time.perf_counter()
    await announcer.plan()
    plan_s = time.perf_counter() - started
    idle = []
    for _ in range(5):
        started = time.perf_counter()
        await announcer.plan()
        idle.append(time.perf_counter() - started)

    caller = Caller("matrix", "@nina:bench", "Nina", Role.CONTRIBUTOR, "!r0:bench")
    samples = []
    for _ in range(100):
        started = time.perf_counter()
        reply = await registry.handle_text(caller, "event list")
        samples.append(time.perf_counter() - started)
    assert reply is not None and not reply.error

    async with registry.runtime.sessions() as session:
        thousand = list((await session.exec(select(Event).limit(1000))).all())
        changes = await service.changes_for(session, [e.id or 0 for e in thousand])
    started = time.perf_counter()
    render_feed([(e, changes.get(e.id or 0, service.NO_CHANGES)) for e in thousand], "bench", now)
    feed_s = time.perf_counter() - started
    await engine.dispose()
    return {
        "populate_s": round(populate_s, 2),
        "plan_pass_s": round(plan_s, 3),
        "idle_pass_s": round(statistics.median(idle), 4),
        "event_list": percentiles(samples),
        "feed_1000_s": round(feed_s, 3),
    }


async def main(store: str, events: int, rooms: int) -> dict[str, object]:
    async with throwaway_store(store) as url:
        figures = await measure(url, events, rooms)
    figures["peak_rss_mb"] = peak_rss_mb()
    figures.update(store=store, events=events, rooms=rooms)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rooms", type=int, default=500)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    result = asyncio.run(main(args.store, args.events, args.rooms))
    print(
        f"{args.store}: {args.events} events over {args.rooms} rooms; "
        f"planning pass {result['plan_pass_s']} s, idle pass {result['idle_pass_s']} s; "
        f"event list {result['event_list']}; "
        f"feed for 1,000 events {result['feed_1000_s']} s; peak RSS {result['peak_rss_mb']} MB"
    )
    print(json.dumps(result))
