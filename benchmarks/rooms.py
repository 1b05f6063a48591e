"""What keeping rooms current costs: `python -m benchmarks.rooms [--store …] [--commands N]`.

Every unit of work first reads the rooms' version (one primary-key read) so that a room bound
on another instance is seen at once. This times `whoami` through the real router with that
read and without it, in alternating rounds on the same store so that machine noise falls on
both alike, and the re-read of the bindings after a change, with `--bindings` rooms bound.
Prints the figures and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime

from benchmarks.support import throwaway_store
from bot.assembly import assemble
from bot.core.context import Caller, Role
from bot.core.router import Router
from bot.db import make_engine, make_sessions
from bot.identity import resolve_person
from bot.rooms_store import bind, raise_version
from bot.schema import upgrade
from cogs.people.commands import whoami

CALLER = Caller("matrix", "@bench:x", "bench", Role.CONTRIBUTOR, "!r:x")


async def per_command(router: Router, commands: int) -> float:
    start = time.perf_counter()
    for _ in range(commands):
        await router.handle_text(CALLER, "whoami")
    return (time.perf_counter() - start) / commands * 1e6


async def main(store: str, commands: int, rounds: int, bindings: int) -> dict[str, object]:
    async with throwaway_store(store) as url:
        engine = make_engine(url)
        await upgrade(engine)
        house = assemble(make_sessions(engine))
        checked = house.router
        unchecked = Router(replace(house.runtime, prepare=None), resolve_person)
        unchecked.add(whoami)
        await per_command(checked, 200)
        await per_command(unchecked, 200)
        timings: dict[str, list[float]] = {"with_check_us": [], "without_check_us": []}
        for _ in range(rounds):
            timings["with_check_us"].append(await per_command(checked, commands))
            timings["without_check_us"].append(await per_command(unchecked, commands))
        now = datetime.now(UTC)
        async with house.runtime.sessions() as session:
            for n in range(bindings):
                await bind(session, [], f"room{n}", "discord", str(n), ["help"], now)
            await session.commit()
        reloads = []
        for _ in range(rounds):
            async with house.runtime.sessions() as session:
                await raise_version(session)
                await session.commit()
            start = time.perf_counter()
            async with house.runtime.sessions() as session:
                await house.rooms.refresh(session)
            reloads.append((time.perf_counter() - start) * 1e6)
        await engine.dispose()
    figures: dict[str, object] = {k: round(statistics.median(v)) for k, v in timings.items()}
    figures["reload_us"] = round(statistics.median(reloads))
    figures.update(store=store, commands=commands, rounds=rounds, bindings=bindings)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--commands", type=int, default=500, help="whoamis per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bindings", type=int, default=50, help="rooms bound for the reload")
    args = parser.parse_args()
    result = asyncio.run(main(args.store, args.commands, args.rounds, args.bindings))
    print(
        f"{args.store}: whoami {result['with_check_us']} µs with the rooms check, "
        f"{result['without_check_us']} µs without (median of {args.rounds} rounds of "
        f"{args.commands}); re-reading {args.bindings} rooms after a change "
        f"{result['reload_us']} µs"
    )
    print(json.dumps(result))
