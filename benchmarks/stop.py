"""How soon `convene run` stops: `python -m benchmarks.stop [--events N] [--rounds N]`.

Runs the real `python -m bot run` (console on, SQLite) and sends SIGTERM the moment its banner
appears, when its timers start their first pass: idle (an empty store), then planning (N events
due at once, each with a reminder in two rooms, as a large import leaves them; the first pass
takes seconds). Measures from the signal to the process's exit, over --rounds runs of each,
every run on a fresh store, and prints the median and the worst, then one JSON line. A service
manager waits 5 s (systemd's default is longer, Docker's 10 s) before it kills.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import tomli_w

from tests.support.due_events import seed_events

ROOT = Path(__file__).resolve().parent.parent
BANNER = b"Type !help."


async def stop_once(events: int) -> float:
    """Seconds from SIGTERM, sent as the banner appears, to the exit of a bot on a store with
    *events* due."""
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{workdir}/convene.db"
        rooms = [{"name": f"room{n}", "matrix_room_id": f"!r{n}:bench"} for n in range(2)]
        if events:
            await seed_events(url, events, [room["name"] for room in rooms], datetime.now(UTC))
        config = Path(workdir) / "convene.toml"
        config.write_text(
            tomli_w.dumps({"store": {"url": url}, "web": {"enabled": False}, "rooms": rooms})
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "-c",
            str(config),
            cwd=workdir,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert process.stdout is not None
        while BANNER not in await process.stdout.readline():
            pass
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = await process.wait()
        took = time.monotonic() - began
        if code != 0:
            raise SystemExit(f"the bot exited with status {code}")
        return took


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
