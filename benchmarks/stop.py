"""How soon `convene run` stops: `python -m benchmarks.stop [--events N] [--rounds N]`.

Runs the real `python -m bot run` (console on, SQLite), started as the tests start it
(`tests.support.bot_process`), and sends SIGTERM the moment its banner appears, when its timers
start their first pass: idle (an empty store), then planning (N events due at once, each with a
reminder in two rooms, as a large import leaves them; the first pass takes seconds). Measures from the signal to the process's exit, over --rounds runs of each,
every run on a fresh store, and prints the median and the worst, then one JSON line. A service
manager waits 5 s (systemd's default is longer, Docker's 10 s) before it kills.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.support.bot_process import Bot, write_config
from tests.support.due_events import seed_events


async def stop_once(events: int) -> float:
    """Seconds from SIGTERM, sent as the banner appears, to the exit of a bot on a store with
    *events* due."""
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{workdir}/convene.db"
        rooms = [{"name": f"room{n}", "matrix_room_id": f"!r{n}:bench"} for n in range(2)]
        if events:
            await seed_events(url, events, [room["name"] for room in rooms], datetime.now(UTC))
        running = await Bot.start(write_config(Path(workdir), url, rooms=rooms))
        try:
            await running.started()
            began = time.monotonic()
            await running.stop("SIGTERM")
            return time.monotonic() - began
        finally:
            await running.kill()


async def main(events: int, rounds: int) -> dict[str, object]:
    figures: dict[str, object] = {"events": events, "rounds": rounds}
    for state, due in (("idle", 0), ("planning", events)):
        samples = [await stop_once(due) for _ in range(rounds)]
        figures[state] = {
            "median_s": round(statistics.median(samples), 2),
            "max_s": round(max(samples), 2),
        }
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    result = asyncio.run(main(args.events, args.rounds))
    print(
        f"SIGTERM to exit, over {args.rounds} runs: idle {result['idle']}; planning "
        f"{args.events} due events {result['planning']}"
    )
    print(json.dumps(result))
