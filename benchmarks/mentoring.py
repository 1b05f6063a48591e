"""Mentoring at scale: `python -m benchmarks.mentoring [--requests N] [--mentors N] [--store …]`.

Bulk-loads N past requests made over two years by ~N/2.5 people (mostly done, some cancelled, a
few hundred claimed and a few hundred open), each posted to the mentor room on both platforms
(so a claim edits its posts, as it does in a bot that announced them), and M mentors, then
measures through the real router, as mentors type them: `mentor list` open, all and mine, and
`mentor stats` (p50/p95); then waves of 20 mentors claiming different open requests at once,
each command in its own session (claims per second, and each claim's p50/p95 from its wave's
start, after warm-up waves, the first timed apart); what one claim costs, counted (function
calls and round trips, which a machine's varying speed leaves alone); and peak RSS. Prints
the figures and, last, one JSON line."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from benchmarks.support import peak_rss_mb, percentiles, throwaway_store
from bot.config import parse_settings
from bot.core.context import Caller, Role
from bot.core.reply import Reply, encode
from bot.core.router import Router
from bot.db import dispose, make_engine, make_sessions
from bot.delivery import Key
from bot.schema import upgrade
from tests.support.house import build_bot

CLAIMERS = 20
CLAIMS_EACH = 10
WARM_WAVES = 6
OPEN = 300
CLAIMED = 300
BATCH = 5000
MENTOR_ROOM = {"matrix": "!mentors:bench", "discord": "777"}


def mentor_caller(n: int) -> Caller:
    return Caller("matrix", f"@mentor{n}:bench", f"Mentor {n}", Role.MENTOR, "!mentors:bench")


def _request(
    rng: random.Random,
    rid: int,
    person: int,
    status: str,
    mentor: int,
    at: tuple[datetime, datetime],
) -> dict[str, Any]:
    """One past request made at *at*[0]; waits are log-normal (median ~6 h to claim, ~2 d to
    done), and nothing happens after *at*[1], now."""
    created, now = at
    claimed = min(now, created + timedelta(hours=rng.lognormvariate(1.8, 1.2)))
    finished = min(now, claimed + timedelta(hours=rng.lognormvariate(3.9, 1.0)))
    row: dict[str, Any] = {
        "id": rid,
        "person_id": person,
        "topic": f"topic {rid % 97}",
        "details": "the build fails on Windows" if rid % 3 else None,
        "status": status,
        "origin_platform": "matrix" if rid % 2 else "discord",
        "origin_room": "!lobby:bench" if rid % 2 else "555",
        "round": 1 if rid % 31 == 0 else 0,
        "created_at": created,
        "opened_at": created,
        "first_claimed_at": None,
        "claimed_at": None,
        "claimed_by": None,
        "done_at": None,
        "done_note": None,
        "last_activity_at": created,
    }
    if status in ("claimed", "done") or (status == "cancelled" and rid % 4 == 0):
        row.update(first_claimed_at=claimed, claimed_at=claimed, claimed_by=mentor)
        row["last_activity_at"] = claimed
    if status == "done":
        row.update(done_at=finished, done_note="sorted" if rid % 5 else None)
        row["last_activity_at"] = finished
    return row


def dataset(
    requests: int, mentors: int, now: datetime
) -> tuple[list[dict[str, Any]], int, list[int]]:
    """Rows for mentor_request, the number of requesters, and the open requests' ids.

    Open requests are the newest, claimed ones the next newest, held two each by the mentors
    beyond the first CLAIMERS (who start with empty hands, to claim in the benchmark).
    """
    rng = random.Random(7)
    people = max(1, int(requests / 2.5))
    span = timedelta(days=730).total_seconds()
    created = sorted(now - timedelta(seconds=rng.random() * span) for _ in range(requests))
    busy: set[int] = set()
    holders = [m for m in range(CLAIMERS + 1, mentors + 1) for _ in range(2)]
    rows: list[dict[str, Any]] = []
    open_ids: list[int] = []
    for index, at in enumerate(created):
        rid = index + 1
        left = requests - index
        if left <= OPEN:
            status = "open"
        elif left <= OPEN + CLAIMED and holders:
            status = "claimed"
        else:
            status = "done" if rng.random() < 0.75 else "cancelled"
        person = mentors + 1 + int(people * rng.random() ** 2)
        if status in ("open", "claimed"):
            while person in busy:
                person = mentors + 1 + rng.randrange(people)
            busy.add(person)
        mentor = holders.pop() if status == "claimed" else rng.randrange(1, mentors + 1)
        row = _request(rng, rid, person, status, mentor, (at, now))
        if status == "open":
            open_ids.append(rid)
        rows.append(row)
    return rows, people, open_ids


def posts(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each request's post in the mentor room, sent, under the key of its current round."""
    body = encode(Reply("From someone (Matrix)", title="a mentor request"))
    found = []
    for row in requests:
        key = Key("mentor", row["id"], "posted")
        key = key.child(row["round"]) if row["round"] else key
        for platform, target in MENTOR_ROOM.items():
            found.append(
                {
                    "key": str(key),
                    "room": "mentors",
                    "platform": platform,
                    "target": target,
                    "body": body,
                    "due_at": row["created_at"],
                    "status": "sent",
                    "attempts": 1,
                    "sent_at": row["created_at"],
                    "message_id": f"{platform}-{row['id']}",
                }
            )
    return found


async def _insert(engine: AsyncEngine, table: Table, rows: list[dict[str, Any]]) -> None:
    async with engine.begin() as connection:
        for start in range(0, len(rows), BATCH):
            await connection.execute(insert(table), rows[start : start + BATCH])


async def populate(engine: AsyncEngine, requests: int, mentors: int, now: datetime) -> list[int]:
    """Core inserts with explicit ids; PostgreSQL's sequences are then moved past them."""
    rows, people, open_ids = dataset(requests, mentors, now)
    joined = now - timedelta(days=800)
    persons: list[dict[str, Any]] = []
    accounts: list[dict[str, Any]] = []
    for pid in range(1, mentors + people + 1):
        mentor = pid <= mentors
        name = f"Mentor {pid}" if mentor else f"User {pid}"
        handle = f"@mentor{pid}:bench" if mentor else f"@user{pid}:bench"
        persons.append({"id": pid, "display_name": name, "created_at": joined})
        accounts.append(
            {
                "id": pid,
                "person_id": pid,
                "platform": "matrix",
                "platform_user_id": handle,
                "display_name": name,
                "dm_room_id": None,
                "created_at": joined,
            }
        )
    away = [{"person_id": m, "available": False} for m in range(CLAIMERS + 1, mentors + 1, 17)]
    for name, table_rows in (
        ("person", persons),
        ("account", accounts),
        ("mentor_availability", away),
        ("mentor_request", rows),
        ("delivery", posts(rows)),
    ):
        await _insert(engine, SQLModel.metadata.tables[name], table_rows)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            for table in ("person", "account", "mentor_request", "delivery"):
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                await connection.execute(text(f"SELECT setval({sequence}, max(id)) FROM {table}"))
            # What autovacuum does minutes after such a load; SQLite has no such thing to await.
            await connection.execute(text("ANALYZE"))
    return open_ids


async def said(registry: Router, n: int, line: str) -> None:
    """Mentor *n* types *line*, which must be answered, and not with an error."""
    reply = await registry.handle_text(mentor_caller(n), line)
    assert reply is not None and not reply.error, (line, reply)


async def timed(registry: Router, caller: Caller, line: str, runs: int) -> dict[str, float]:
    """Latency of *line*; a command that answers with an error is reported, not timed."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        reply = await registry.handle_text(caller, line)
        assert reply is not None
        if reply.error:
            print(f"{line!r} failed: {reply.text}")
            return {"failed": 1}
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


async def claims(registry: Router, open_ids: list[int]) -> dict[str, object]:
    """Waves of CLAIMERS mentors claiming at once, each its own open request; a claim's time
    runs from the wave's start, so it counts the wait behind the claims ahead of it (a
    command that never gives the loop back makes the others wait as surely as a lock does).

    The mentors first each ask for their list, then claim one request each at once and give
    it back, WARM_WAVES times, so the store's connections are as warm as a running bot's: a
    fresh connection prepares each statement the first time it runs it, and PostgreSQL plans
    a prepared statement afresh on each of its first five runs before it settles on a plan it
    keeps (the first of those waves is timed apart, `first_wave`)."""
    await asyncio.gather(
        *(
            registry.handle_text(mentor_caller(n), "mentor list mine")
            for n in range(1, CLAIMERS + 1)
        )
    )

    async def claim(n: int, rid: int, since: float, into: list[float]) -> None:
        await said(registry, n, f"mentor claim {rid}")
        into.append(time.perf_counter() - since)

    async def wave(rids: list[int], into: list[float]) -> None:
        since = time.perf_counter()
        await asyncio.gather(*(claim(n, rid, since, into) for n, rid in enumerate(rids, 1)))

    first: list[float] = []
    samples: list[float] = []
    warm, measured = open_ids[:CLAIMERS], open_ids[CLAIMERS:]
    for round_ in range(WARM_WAVES):
        await wave(warm, first if round_ == 0 else [])
        # Each gives the request back, since a mentor may hold only so many.
        for n, rid in enumerate(warm, 1):
            await said(registry, n, f"mentor release {rid}")
    work = await counted_claims(registry, warm)
    started = time.perf_counter()
    for round_ in range(CLAIMS_EACH):
        await wave(measured[round_ * CLAIMERS : (round_ + 1) * CLAIMERS], samples)
    elapsed = time.perf_counter() - started
    return {
        "claimers": CLAIMERS,
        "claims": len(samples),
        "per_s": round(len(samples) / elapsed, 1),
        **percentiles(samples),
        "first_wave": percentiles(first),
        "work": work,
    }


SEND = "<method 'send' of '_socket.socket' objects>"


async def counted_claims(registry: Router, rids: list[int]) -> dict[str, float]:
    """What one claim costs this process, counted rather than timed, so that runs on a machine
    whose speed varies by a third from one minute to the next still compare: Python function
    calls (cProfile) and writes to a socket, each a round trip to PostgreSQL (SQLite, in the
    process, has none). The mentors claim one after another, then give the requests back."""
    profile = cProfile.Profile()
    for n, rid in enumerate(rids, 1):
        profile.enable()
        await said(registry, n, f"mentor claim {rid}")
        profile.disable()
        await said(registry, n, f"mentor release {rid}")
    stats = pstats.Stats(profile)
    calls = stats.total_calls  # type: ignore[attr-defined]
    sends = sum(row[1] for key, row in stats.stats.items() if key[2] == SEND)  # type: ignore[attr-defined]
    return {"calls": round(calls / len(rids)), "store_writes": round(sends / len(rids), 2)}


async def measure(url: str, requests: int, mentors: int, runs: int) -> dict[str, object]:
    now = datetime.now(UTC).replace(microsecond=0)
    settings = parse_settings(
        {
            "store": {"url": url},
            "mentoring": {"capacity": CLAIMS_EACH},
            "rooms": [
                {
                    "name": "mentors",
                    "matrix_room_id": MENTOR_ROOM["matrix"],
                    "discord_channel_id": int(MENTOR_ROOM["discord"]),
                    "purposes": ["mentors"],
                },
                {"name": "lobby", "matrix_room_id": "!lobby:bench", "discord_channel_id": 555},
            ],
        }
    )
    engine = make_engine(url)
    await upgrade(engine)
    registry = build_bot(make_sessions(engine), settings, clock=lambda: now)
    started = time.perf_counter()
    open_ids = await populate(engine, requests, mentors, now)
    # As the App does once started (bot/app.py): what start-up loaded is never collected again.
    gc.collect()
    gc.freeze()
    populate_s = time.perf_counter() - started

    holder = mentor_caller(CLAIMERS + 1)
    figures: dict[str, object] = {"populate_s": round(populate_s, 2)}
    for which in ("open", "all", "mine"):
        figures[f"list_{which}"] = await timed(registry, holder, f"mentor list {which}", runs)
    figures["stats"] = await timed(registry, holder, "mentor stats", runs)
    figures["claim"] = await claims(registry, open_ids)
    await dispose(engine)
    return figures


async def main(store: str, requests: int, mentors: int, runs: int) -> dict[str, object]:
    async with throwaway_store(store) as url:
        figures = await measure(url, requests, mentors, runs)
    figures["peak_rss_mb"] = peak_rss_mb()
    figures.update(store=store, requests=requests, mentors=mentors)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--mentors", type=int, default=200)
    parser.add_argument("--runs", type=int, default=50, help="timed runs of each command")
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    result = asyncio.run(main(args.store, args.requests, args.mentors, args.runs))
    print(
        f"{args.store}: {args.requests} requests, {args.mentors} mentors, "
        f"loaded in {result['populate_s']} s"
    )
    for name in ("list_open", "list_all", "list_mine", "stats"):
        print(f"mentor {name.replace('_', ' ')}: {result[name]}")
    claim: dict[str, Any] = result["claim"]  # type: ignore[assignment]
    print(
        f"mentor claim, {claim['claimers']} claimers at once ({claim['claims']} claims): "
        f"per claim p50 {claim['p50_ms']} ms, p95 {claim['p95_ms']} ms; {claim['per_s']} claims/s"
    )
    first = claim["first_wave"]
    print(
        f"the first claim of each at once, on fresh statements: p50 {first['p50_ms']} ms, "
        f"p95 {first['p95_ms']} ms"
    )
    work = claim["work"]
    print(
        f"work per claim, counted over {CLAIMERS} claims one after another: "
        f"{work['calls']} Python function calls, {work['store_writes']} writes to the store"
    )
    print(f"peak RSS {result['peak_rss_mb']} MB")
    print(json.dumps(result))
