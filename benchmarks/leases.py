"""How soon a lease is free after its holder is SIGKILLed: `python -m benchmarks.leases
[--url URL] [--rounds N]`.

A child process takes the `bench` lease (`bot.leases.Leases`, the App's own code) on the given
PostgreSQL and says so; it is then SIGKILLed, and this process, standing by as an instance
does, measures from the kill to the moment PostgreSQL has let the lock go (watched in
`pg_locks`), and to the moment the standby holds the lease: the first plus up to one `RETRY`
(1 s) of standing by. The rest of a takeover is the platform's own start (a Matrix sync, a
Discord gateway session). Prints the median and the worst of each over --rounds, then one JSON
line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import time

import asyncpg

from bot.db import make_engine
from bot.leases import NAMESPACE, Leases, lock_key

DEFAULT_URL = os.environ.get("CONVENE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
HOLD = """
import asyncio, sys
from bot.db import make_engine
from bot.leases import Leases

async def main() -> None:
    leases = Leases(make_engine(sys.argv[1]))
    async def work() -> None:
        print("held", flush=True)
        await asyncio.Event().wait()
    await leases.run("bench", work)

asyncio.run(main())
"""


HOLDERS = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 "
    "AND objid = $2 AND objsubid = 2 AND granted"
)


async def holders(watcher: asyncpg.Connection) -> int:
    """How many sessions hold the `bench` lease's advisory lock."""
    count: int = await watcher.fetchval(HOLDERS, NAMESPACE, lock_key("bench") & 0xFFFFFFFF)
    return count


async def released(watcher: asyncpg.Connection) -> None:
    while True:
        if not await holders(watcher):
            return
        await asyncio.sleep(0.002)


async def takeover_once(url: str) -> tuple[float, float]:
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD, url, stdout=asyncio.subprocess.PIPE
    )
    assert holder.stdout is not None
    assert await holder.stdout.readline() == b"held\n"
    engine = make_engine(url)
    standby = Leases(engine)
    held = asyncio.Event()

    async def work() -> None:
        held.set()
        await asyncio.Event().wait()

    waiting = asyncio.create_task(standby.run("bench", work))
    await asyncio.sleep(1.5)  # well into standing by, between two tries
    assert not held.is_set()
    watcher = await asyncpg.connect(url)
    assert await holders(watcher) == 1, "the child holds the lock"
    holder.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    await released(watcher)
    freed = time.monotonic() - killed
    await watcher.close()
    await holder.wait()
    await asyncio.wait_for(held.wait(), 30)
    took = time.monotonic() - killed
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    await engine.dispose()
    return freed, took


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rounds = [await takeover_once(args.url) for _ in range(args.rounds)]
    figures: dict[str, object] = {"rounds": args.rounds}
    for index, what in enumerate(("released", "held_by_standby")):
        samples = [r[index] for r in rounds]
        median, worst = statistics.median(samples), max(samples)
        figures[f"{what}_median_s"], figures[f"{what}_worst_s"] = median, worst
        label = what.replace("_", " ")
        print(f"after SIGKILL, lock {label}: median {median:.3f} s, worst {worst:.3f} s")
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
