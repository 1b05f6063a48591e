"""What a per-person limit costs: `python -m benchmarks.limits [--store …] [--runs N]`.

Two trivial commands, one declared with a limit, through the real router of the assembled bot:
the difference of their p50/p95 is what counting a run in the store adds to a command. Then two
routers on one store (two instances) with 200 runs of one person at once against a limit of 100:
how many went through (100 is right) and how long all took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.support import peak_rss_mb, percentiles, throwaway_store
from bot.assembly import assemble
from bot.core import Ctx, Reply, Role, command
from bot.core.context import Caller
from bot.core.limits import Limit
from bot.core.router import Router
from bot.db import make_engine, make_sessions
from bot.schema import upgrade

RACE = 200
RACE_LIMIT = Limit(RACE // 2, timedelta(hours=1))


@command("bench free", help="Answers at once")
async def bench_free(ctx: Ctx) -> Reply:
    return Reply("ok")


@command(
    "bench limited", help="Answers at once, so many times", limit=Limit(10**6, timedelta(hours=1))
)
async def bench_limited(ctx: Ctx) -> Reply:
    return Reply("ok")


@command("bench race", help="Answers at once, at most 100 times", limit=RACE_LIMIT)
async def bench_race(ctx: Ctx) -> Reply:
    return Reply("ok")


def caller(number: int) -> Caller:
    return Caller("matrix", f"@p{number}:bench", f"p{number}", Role.CONTRIBUTOR, "!r:bench")


def router(url: str) -> tuple[Router, AsyncEngine]:
    engine = make_engine(url)
    built = assemble(make_sessions(engine)).router
    for handler in (bench_free, bench_limited, bench_race):
        built.add(handler)
    return built, engine


async def timed(bot: Router, line: str, runs: int) -> dict[str, float]:
    samples = []
    for run in range(runs):
        start = time.perf_counter()
        reply = await bot.handle_text(caller(run % 50), line)
        samples.append(time.perf_counter() - start)
        assert reply.text == "ok", reply.text
    return percentiles(samples)


async def measure(url: str, runs: int) -> dict[str, object]:
    first, engine_one = router(url)
    await upgrade(engine_one)
    second, engine_two = router(url)
    await timed(first, "bench free", 50)
    await timed(first, "bench limited", 50)
    figures: dict[str, object] = {
        "free": await timed(first, "bench free", runs),
        "limited": await timed(first, "bench limited", runs),
    }
    start = time.perf_counter()
    replies = await asyncio.gather(
        *[(first, second)[n % 2].handle_text(caller(999), "bench race") for n in range(RACE)]
    )
    race: dict[str, float] = {
        "runs": RACE,
        "limit": RACE_LIMIT.times,
        "went_through": sum(reply.text == "ok" for reply in replies),
        "refused": sum(reply.text.startswith("You have used") for reply in replies),
        "seconds": round(time.perf_counter() - start, 2),
    }
    figures["race"] = race
    figures["race_line"] = (
        f"two routers, {RACE} runs of one person at once against a limit of {RACE_LIMIT.times}: "
        f"{race['went_through']} went through, {race['refused']} refused, in {race['seconds']} s"
    )
    for engine in (engine_one, engine_two):
        await engine.dispose()
    return figures


async def main(store: str, runs: int) -> dict[str, object]:
    async with throwaway_store(store) as url:
        figures = await measure(url, runs)
    figures.update(store=store, runs=runs, peak_rss_mb=peak_rss_mb())
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=500, help="timed runs of each command")
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    result = asyncio.run(main(args.store, args.runs))
    print(f"{args.store}: a command without a limit {result['free']}, with one {result['limited']}")
    print(result.pop("race_line"))
    print(json.dumps(result))
