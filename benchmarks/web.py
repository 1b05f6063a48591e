"""The web pages on a large store: `python -m benchmarks.web`.

Options: `[--store sqlite|postgresql] [--requests N] [--events N] [--runs N]`.

Fills a store with bulk inserts (100,000 mentor requests from `benchmarks.mentoring`, 10,000
events from `benchmarks.responsiveness`, welcomes, FAQ questions and sprint issues for the
funnel), starts the real App (console and web server, as `convene run` does) and a second web
server on the same loop and store whose login lets an organizer in (the login is not built
here; `tests/support/let_in.py` stands for it). Then, while a chat user keeps typing
`event list`, asks each page N times in a row and prints its first (cold) answer and its p50
and p95; `/calendar.ics` cold, warm and 304; the commands' latency before and during; and how
long the funnel's timer takes to compute the figures its page reads, and the longest it holds
the loop meanwhile (what every command waits at worst while it runs). Last, one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import insert
from sqlmodel import SQLModel

from benchmarks import mentoring, responsiveness
from benchmarks.support import peak_rss_mb, percentiles, throwaway_store
from bot.core.context import Role
from bot.core.pages import Viewer
from bot.db import make_engine
from bot.schema import upgrade
from bot.web import make_web_app
from cogs.funnel.summary import Summary
from tests.support.fake_platform import FakePlatform
from tests.support.let_in import LetIn

MENTORS = 50
WELCOMED = 20_000
QUESTIONS = 20_000
ISSUES = 500
PUBLIC = (
    "/events",
    "/events/week",
    "/events/month",
    "/events?tier=newcomers",
    "/sprints",
    "/faq",
    "/faq?q=how+do+I+run+the+tests",
)
ORGANIZER = ("/events/manage", "/events/manage/1", "/funnel")


async def populate(url: str, requests: int, events: int, now: datetime) -> None:
    engine = make_engine(url)
    await upgrade(engine)
    await mentoring.populate(engine, requests, MENTORS, now)
    rng = random.Random(11)
    # The requesters `benchmarks.mentoring` made are the people there are.
    people = range(MENTORS + 1, MENTORS + 1 + min(WELCOMED, int(requests / 2.5)))
    year = timedelta(days=365).total_seconds()
    welcomes = [
        {
            "person_id": person,
            "platform": "matrix",
            "room": "hall",
            "key": f"welcome-{person}",
            "welcomed_at": now - timedelta(seconds=rng.random() * year),
        }
        for person in people
    ]
    questions = [
        {
            "text": "how do I run the tests?",
            "person_id": rng.choice(people),
            "platform": "matrix",
            "verdict": rng.choice(("answer", "answer", "suggest", "none")),
            "entry_id": None,
            "score": 0.3,
            "created_at": now - timedelta(seconds=rng.random() * year),
        }
        for _ in range(QUESTIONS)
    ]
    issues = []
    for n in range(1, ISSUES + 1):
        added = now - timedelta(seconds=rng.random() * year)
        claimed = n % 3 != 0
        completed = claimed and n % 6 == 1
        issues.append(
            {
                "url": f"https://github.com/bench/repo/issues/{n}",
                "listed_url": f"https://github.com/bench/repo/issues/{n}",
                "project": "bench/repo",
                "number": n,
                "tier": ("everyone", "newcomers")[n % 2],
                "event_id": None,
                "added_by": 1,
                "added_at": added,
                "claimed_by": rng.choice(people) if claimed else None,
                "claimed_at": added + timedelta(hours=rng.random() * 72) if claimed else None,
                "completed_at": min(now, added + timedelta(days=5)) if completed else None,
            }
        )
        issues[-1]["completed_by"] = issues[-1]["claimed_by"] if completed else None
    async with engine.begin() as connection:
        for name, rows in (
            ("welcome", welcomes),
            ("faq_question", questions),
            ("sprint_issue", issues),
        ):
            table = SQLModel.metadata.tables[name]
            for start in range(0, len(rows), mentoring.BATCH):
                await connection.execute(insert(table), rows[start : start + mentoring.BATCH])
    await engine.dispose()
    await responsiveness.populate(url, events, 200, now)


async def timed_get(http: aiohttp.ClientSession, path: str) -> float:
    started = time.perf_counter()
    async with http.get(path) as response:
        await response.read()
        assert response.status == 200, (path, response.status)
    return time.perf_counter() - started


async def pages(http: aiohttp.ClientSession, paths: tuple[str, ...], runs: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for path in paths:
        cold = await timed_get(http, path)
        warm = [await timed_get(http, path) for _ in range(runs)]
        figures[path] = {"cold_ms": round(cold * 1000, 1), **percentiles(warm)}
    return figures


async def feed(http: aiohttp.ClientSession, runs: int) -> dict[str, Any]:
    cold, _, etag = await responsiveness.feed(http)
    warm = [(await responsiveness.feed(http))[0] for _ in range(runs)]
    held = [await responsiveness.feed(http, etag) for _ in range(runs)]
    assert all(status == 304 for _, status, _ in held)
    return {
        "cold_ms": round(cold * 1000, 1),
        "warm": percentiles(warm),
        "not_modified": percentiles([t for t, _, _ in held]),
    }


async def longest_hold(work: Awaitable[object]) -> float:
    """The longest the loop went without turning while *work* ran, in seconds: a task asking to
    wake every millisecond records how late it woke, as a command arriving then would wait."""
    late = 0.0

    async def probe() -> None:
        nonlocal late
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(0.001)
            late = max(late, time.perf_counter() - asked - 0.001)

    probing = asyncio.create_task(probe())
    await asyncio.sleep(0.01)
    try:
        await work
    finally:
        probing.cancel()
        await asyncio.gather(probing, return_exceptions=True)
    return late


async def measure(url: str, runs: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    async with responsiveness.running_app(url, True) as app:
        assert app.web_url is not None
        contributed = app.house.contributions
        gate = LetIn(Viewer(1, "Organizer", Role.ORGANIZER))
        organizer_app = make_web_app(
            app.runtime,
            app.router,
            contributed.pages,
            app.health,
            templates=contributed.templates,
            gate=gate,
        )
        runner = web.AppRunner(organizer_app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        user = FakePlatform(app.router).person("@nina:bench", Role.CONTRIBUTOR, "Nina")
        answered: list[float] = []

        async def chat(count: int | None) -> None:
            n = 0
            while count is None or n < count:
                started = time.perf_counter()
                said = await user.say("!event list")
                assert not said.reply.error, said.text
                answered.append(time.perf_counter() - started)
                n += 1
                await asyncio.sleep(0.01)

        await chat(30)
        figures["event_list_alone"] = percentiles(answered)
        answered.clear()
        talking = asyncio.create_task(chat(None))
        try:
            async with aiohttp.ClientSession(app.web_url) as http:
                figures["public"] = await pages(http, PUBLIC, runs)
                figures["calendar_ics"] = await feed(http, runs)
            async with aiohttp.ClientSession(f"http://{host}:{port}") as http:
                figures["organizer"] = await pages(http, ORGANIZER, runs)
        finally:
            talking.cancel()
            await asyncio.gather(talking, return_exceptions=True)
            await runner.cleanup()
        figures["event_list_during"] = {"n": len(answered), **percentiles(answered)}
        # What the funnel's timer does off the page's path, every ten minutes while it is viewed.
        summary = Summary(app.runtime)
        taken = []
        for _ in range(3):
            started = time.perf_counter()
            await summary.refresh()
            taken.append(time.perf_counter() - started)
        figures["funnel_summary"] = percentiles(taken)
        held = [await longest_hold(summary.refresh()) for _ in range(3)]
        figures["funnel_longest_hold_ms"] = round(max(held) * 1000, 1)
    return figures


async def main(store: str, requests: int, events: int, runs: int) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    async with throwaway_store(store) as url:
        await populate(url, requests, events, now)
        figures = await measure(url, runs)
    figures.update(store=store, requests=requests, events=events, peak_rss_mb=peak_rss_mb())
    return figures


def report(figures: dict[str, Any]) -> None:
    print(
        f"{figures['requests']:,} mentor requests, {figures['events']:,} events, "
        f"{min(WELCOMED, int(figures['requests'] / 2.5)):,} welcomed, {QUESTIONS:,} FAQ questions, "
        f"{figures['store']}"
    )
    for group in ("public", "organizer"):
        for path, shown in figures[group].items():
            print(
                f"{path}: cold {shown['cold_ms']} ms, p50 {shown['p50_ms']} ms, "
                f"p95 {shown['p95_ms']} ms"
            )
    ics = figures["calendar_ics"]
    print(
        f"/calendar.ics: cold {ics['cold_ms']} ms, warm p95 {ics['warm']['p95_ms']} ms, "
        f"304 p95 {ics['not_modified']['p95_ms']} ms"
    )
    print(
        f"the funnel's figures, computed by its timer off the page's path: "
        f"p50 {figures['funnel_summary']['p50_ms']} ms"
    )
    print(
        f"the longest the loop was held while they were computed: "
        f"{figures['funnel_longest_hold_ms']} ms"
    )
    alone, during = figures["event_list_alone"], figures["event_list_during"]
    print(
        f"event list in chat: alone p95 {alone['p95_ms']} ms; while pages were asked "
        f"p95 {during['p95_ms']} ms ({during['n']} commands)"
    )
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    report(asyncio.run(main(args.store, args.requests, args.events, args.runs)))
