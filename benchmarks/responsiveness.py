"""Whether CPU-heavy work keeps the bot responsive: `python -m benchmarks.responsiveness`.

Options: `[--store sqlite|postgresql] [--events N] [--faq N] [--rounds N] [--no-freeze]`.

Populates a store with 20,000 events (weekly, monthly and one-off, in five zones) and 5,000 FAQ
entries (renamed copies of examples/faq.toml), starts the real App (console and web server, as
`convene run` does) and, while a sampler asks `/healthz` every 20 ms, hammers it:

* `/calendar.ics`: cold (first build), warm (same store), 304 (If-None-Match with the ETag it
  sent), and cold again after an `event edit`;
* `faq ask` after `faq edit` and after `faq teach`, each of which changes what the matcher reads.

Prints, per phase, the timings and the p50/p99/max latency of `/healthz` meanwhile; last, one
JSON line. `--no-freeze` skips the `gc.freeze()` the App does once started, to measure it.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import dataclasses
import gc
import io
import json
import multiprocessing
import os
import statistics
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import insert

from benchmarks.faq import load_faq
from benchmarks.support import peak_rss_mb, throwaway_store
from bot.app import App
from bot.config import parse_settings
from bot.core.context import Role
from bot.db import make_engine
from bot.identity import Person
from bot.schema import upgrade
from cogs.events.models import Event
from cogs.faq.models import FaqEntry
from tests.support.eventually import eventually
from tests.support.fake_platform import FakePlatform

EXAMPLE_FAQ = Path(__file__).resolve().parent.parent / "examples" / "faq.toml"
ZONES = ("Europe/Paris", "America/New_York", "Australia/Sydney", "UTC", "Asia/Tokyo")
RULES = ("FREQ=WEEKLY", "FREQ=MONTHLY;BYDAY=1MO", None, "FREQ=WEEKLY;INTERVAL=2", None)
KINDS = ("meeting", "sprint", "docathon", "office-hours", "other")
TIERS = ("everyone", "newcomers", "contributors", "core")
QUESTION = "how do I run the tests?"
HEALTH_EVERY = 0.02


async def populate(url: str, events: int, faq: int, now: datetime) -> str:
    """Fill the store directly (the commands would take minutes); the id of one FAQ entry."""
    engine = make_engine(url)
    await upgrade(engine)
    docs = load_faq(EXAMPLE_FAQ)
    copies = [
        dataclasses.replace(doc, id=f"{doc.id}-{n}", question=f"{doc.question} variant {n}")
        for n in range(faq // len(docs) + 1)
        for doc in docs
    ][:faq]
    async with engine.begin() as connection:
        person = await connection.execute(
            insert(Person).values(display_name="Bench", created_at=now).returning(Person.id)
        )
        person_id = person.scalar_one()
        rows = []
        for n in range(events):
            start = (now + timedelta(days=n % 400, hours=n % 11)).replace(tzinfo=None)
            rows.append(
                {
                    "uid": f"bench-{n}@convene",
                    "title": f"Event {n}",
                    "kind": KINDS[n % len(KINDS)],
                    "tier": TIERS[n % len(TIERS)],
                    "timezone": ZONES[n % len(ZONES)],
                    "start_local": start.replace(hour=9 + n % 10, minute=0, second=0),
                    "rrule": RULES[n % len(RULES)],
                    "duration_min": 60,
                    "link": f"https://meet.example.org/{n}",
                    "description": "A benchmark event.",
                    "reminders": "15",
                    "next_start": now + timedelta(days=n % 400),
                    "created_by": person_id,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        for first in range(0, len(rows), 1000):
            await connection.execute(insert(Event), rows[first : first + 1000])
        await connection.execute(
            insert(FaqEntry),
            [
                {
                    "id": doc.id,
                    "question": doc.question,
                    "answer": doc.answer,
                    "tags": ",".join(doc.tags),
                    "created_at": now,
                    "updated_at": now,
                }
                for doc in copies
            ],
        )
    await engine.dispose()
    return copies[0].id


def sample_health(url: str, every: float, ready: Any, stop: Any, out: Any) -> None:
    """In a process of its own, so that a blocked event loop in the bot cannot hide its own
    wait: `GET /healthz` every *every* seconds until *stop* is set; sends (sent at, seconds)
    pairs, on the shared monotonic clock, through *out*."""
    samples: list[tuple[float, float]] = []
    while not stop.is_set():
        started = time.monotonic()
        with urllib.request.urlopen(f"{url}/healthz", timeout=120) as response:
            response.read()
            assert response.status == 200, response.status
        samples.append((started, time.monotonic() - started))
        ready.set()
        time.sleep(every)
    out.send(samples)


class HealthSampler:
    """`/healthz` latencies from another process, each kept under the phase in which the
    request was sent, and under "all"."""

    def __init__(self, url: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._ready, self._stop = context.Event(), context.Event()
        self._results, sending = context.Pipe(duplex=False)
        self._process = context.Process(
            target=sample_health,
            args=(url, HEALTH_EVERY, self._ready, self._stop, sending),
            daemon=True,
        )
        self._phases: list[tuple[float, str]] = []
        self.samples: dict[str, list[float]] = {}

    async def start(self) -> None:
        self._process.start()
        await asyncio.to_thread(self._ready.wait)
        self.phase("idle")

    def phase(self, name: str) -> None:
        self._phases.append((time.monotonic(), name))

    async def stop(self) -> None:
        self._stop.set()
        samples = await asyncio.to_thread(self._results.recv)
        await asyncio.to_thread(self._process.join)
        starts = [at for at, _ in self._phases]
        for sent, took in samples:
            index = bisect.bisect_right(starts, sent) - 1
            if index >= 0:
                self.samples.setdefault(self._phases[index][1], []).append(took)
            self.samples.setdefault("all", []).append(took)

    def figures(self) -> dict[str, dict[str, float]]:
        return {phase: spread(samples) for phase, samples in self.samples.items()}


class CollectorWatch:
    """How long the garbage collector stopped the bot's process, per generation: a pause of the
    collector is a pause of the event loop, whichever thread set it off."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append(time.perf_counter() - self._started)

    def figures(self) -> dict[str, dict[str, float]]:
        return {
            f"gen{generation}": {
                "n": len(pauses),
                "max_ms": round(max(pauses, default=0.0) * 1000, 1),
                "total_ms": round(sum(pauses) * 1000, 1),
            }
            for generation, pauses in self.pauses.items()
        }


def spread(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


@asynccontextmanager
async def running_app(url: str, freeze: bool) -> AsyncIterator[App]:
    read_fd, write_fd = os.pipe()
    settings = parse_settings(
        {"store": {"url": url}, "web": {"enabled": True, "port": 0}, "rooms": []}
    )
    with os.fdopen(read_fd) as stdin:
        app = App(settings, stdin=stdin, stdout=io.StringIO())
        if not freeze:
            app.freeze_heap = False
        task = asyncio.create_task(app.run())
        try:
            await eventually(lambda: app.web_url is not None, what="the web server", timeout=120)
            yield app
        finally:
            os.close(write_fd)
            await asyncio.wait_for(task, 30)


async def feed(http: aiohttp.ClientSession, etag: str | None = None) -> tuple[float, int, str]:
    headers = {"If-None-Match": etag} if etag else {}
    started = time.perf_counter()
    async with http.get("/calendar.ics", headers=headers) as response:
        await response.read()
        assert response.status in (200, 304), response.status
        return time.perf_counter() - started, response.status, response.headers.get("ETag", "")


def seconds(samples: list[float]) -> list[float]:
    return [round(s, 3) for s in samples]


async def measure(url: str, rounds: int, entry: str, freeze: bool) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    async with running_app(url, freeze) as app, aiohttp.ClientSession(app.web_url) as http:
        organizer = FakePlatform(app.router).person("@olga:bench", Role.ORGANIZER, "Olga")
        assert app.web_url is not None
        sampler = HealthSampler(app.web_url)
        await sampler.start()
        watch = CollectorWatch()
        gc.callbacks.append(watch)
        await asyncio.sleep(1)

        sampler.phase("feed")
        cold, _, etag = await feed(http)
        warm = [(await feed(http))[0] for _ in range(rounds)]
        if etag:
            revalidated = [await feed(http, etag) for _ in range(rounds)]
            not_modified = [t for t, status, _ in revalidated if status == 304]
        else:
            not_modified = []
        edited = []
        for n in range(rounds):
            said = await organizer.say(f'!event edit 1 title="Event 1, edit {n}"')
            assert not said.reply.error, said.text
            edited.append((await feed(http))[0])
        figures["feed"] = {
            "cold_s": round(cold, 3),
            "warm_s": seconds(warm),
            "etag": bool(etag),
            "not_modified_s": seconds(not_modified),
            "after_edit_s": seconds(edited),
        }

        sampler.phase("faq")
        asked: dict[str, list[float]] = {"first": [], "after_edit": [], "after_teach": []}

        async def ask(what: str) -> None:
            started = time.perf_counter()
            said = await organizer.say(f"!faq ask {QUESTION}")
            asked[what].append(time.perf_counter() - started)
            assert not said.reply.error, said.text

        await ask("first")
        for n in range(rounds):
            said = await organizer.say(f'!faq edit {entry} answer="Run make test ({n})."')
            assert not said.reply.error, said.text
            await ask("after_edit")
            said = await organizer.say(f'!faq teach "how can I start test run {n}" {entry}')
            assert not said.reply.error, said.text
            await ask("after_teach")
        figures["faq_ask_s"] = {what: seconds(samples) for what, samples in asked.items()}
        await sampler.stop()
        gc.callbacks.remove(watch)
        figures["healthz"] = sampler.figures()
        figures["gc_pauses"] = watch.figures()
    return figures


async def main(store: str, events: int, faq: int, rounds: int, freeze: bool) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    async with throwaway_store(store) as url:
        entry = await populate(url, events, faq, now)
        figures = await measure(url, rounds, entry, freeze)
    figures.update(store=store, events=events, faq=faq, freeze=freeze, peak_rss_mb=peak_rss_mb())
    return figures


def report(figures: dict[str, Any]) -> None:
    print(
        f"{figures['events']:,} events, {figures['faq']:,} FAQ entries, {figures['store']}, "
        f"gc.freeze {'on' if figures['freeze'] else 'off'}"
    )
    served = figures["feed"]
    print(
        f"/calendar.ics: cold {served['cold_s']} s, warm {served['warm_s']} s, "
        f"304 {served['not_modified_s'] or 'not offered'}, after an edit {served['after_edit_s']} s"
    )
    for what, samples in figures["faq_ask_s"].items():
        print(f"faq ask ({what.replace('_', ' ')}): {samples} s")
    for phase, health in figures["healthz"].items():
        print(
            f"/healthz during {phase}: p50 {health['p50_ms']} ms, p99 {health['p99_ms']} ms, "
            f"max {health['max_ms']} ms ({health['n']} samples)"
        )
    pauses = ", ".join(
        f"{name} {gen['n']} (max {gen['max_ms']} ms)" for name, gen in figures["gc_pauses"].items()
    )
    print(f"collector pauses in the bot's process: {pauses}")
    print(json.dumps(figures))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--faq", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3, help="repeats of each timed request")
    parser.add_argument(
        "--no-freeze", dest="freeze", action="store_false", help="skip the App's gc.freeze()"
    )
    args = parser.parse_args()
    report(asyncio.run(main(args.store, args.events, args.faq, args.rounds, args.freeze)))
