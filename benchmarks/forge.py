"""Forges at scale: `python -m benchmarks.forge [--pulls N] [--reviewers N] [--store …]`.

A fake GitHub on loopback (tests/support/fake_github.py) serves 10 repositories: one with N open
pull requests (2,000 by default) whose reviews are requested from M reviewers (50), nine with 20
each. The store is loaded by the real poller (the listing of every page, then each pull request's
reviews and CI status), then measured:

- `review queue` and `review queue <repo>` through the real router, typed by the reviewers, each
  linked to their GitHub login (p50/p95, target p95 < 50 ms);
- a second poll of the 10 repositories with nothing new: every request and its status, which
  must all be 304 (each repository's open listing, every page, and its recently closed one;
  CI read again for the few pull requests pushed to within two hours, `Poller._recheck`);
- the same poll by a new poller, as after a restart: its ETags come from the store
  (`forge_etag`), so it must be all 304 too.

Prints the figures and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, func, select

from benchmarks.support import peak_rss_mb, percentiles, throwaway_store
from bot.config import parse_settings
from bot.core.context import Caller, Role
from bot.db import make_engine, make_sessions
from bot.identity import resolve_person
from bot.schema import upgrade
from cogs.forge.models import ForgeAccount, ForgeEtag
from tests.support.fake_github import FakeGitHub, pull_request, serving
from tests.support.house import build_bot, build_forge_poller

REPOSITORIES = 10
SMALL = 20
RUNS = 200
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def reviewer(n: int) -> Caller:
    return Caller("matrix", f"@reviewer{n}:bench", f"Reviewer {n}", Role.CONTRIBUTOR, "!r:bench")


async def run(store: str, pulls: int, reviewers: int) -> dict[str, Any]:
    rng = random.Random(12)
    names = [f"bench/repo{n}" for n in range(REPOSITORIES)]
    logins = [f"reviewer{n}" for n in range(reviewers)]
    associations = ["CONTRIBUTOR", "MEMBER", "FIRST_TIME_CONTRIBUTOR", "NONE"]
    # Above GitHub's 5,000 an hour: the first poll of 2,000 pull requests asks for more (each
    # one's reviews, status and check runs), which a real poll spreads over two hours.
    fake = FakeGitHub(limit=10_000, remaining=10_000)
    async with serving(fake) as github, throwaway_store(store) as url:
        for index, name in enumerate(names):
            for number in range(1, (pulls if index == 0 else SMALL) + 1):
                created = NOW - timedelta(minutes=rng.randrange(60 * 24 * 120))
                github.add(
                    name,
                    pull_request(
                        name,
                        number,
                        title=f"Change number {number}",
                        author=f"author{rng.randrange(500)}",
                        association=rng.choice(associations),
                        created=created,
                        draft=rng.random() < 0.1,
                        requested=tuple(rng.sample(logins, rng.randrange(3))),
                    ),
                )
        settings = parse_settings(
            {
                "store": {"url": url},
                "forge": {
                    "forges": [
                        {
                            "kind": "github",
                            "base_url": github.url,
                            "web_url": "https://github.com",
                            "repositories": names,
                            # As a real deployment of this size: anonymously, GitHub allows 60
                            # requests an hour, and the poller asks no CI again.
                            "token_env": "CONVENE_BENCH_GITHUB_TOKEN",
                        }
                    ]
                },
            }
        )
        engine = make_engine(url)
        await upgrade(engine)
        sessions = make_sessions(engine)
        bot = build_bot(sessions, settings, clock=lambda: NOW)
        poller = build_forge_poller(bot)
        forge = settings.forge.forges[0]  # type: ignore[attr-defined]

        started = time.perf_counter()
        first = await poller.poll(forge)
        load_s = time.perf_counter() - started

        for n in range(reviewers):
            async with sessions() as session:
                person = await resolve_person(session, reviewer(n), NOW)
                session.add(
                    ForgeAccount(
                        person_id=person,
                        forge="https://github.com",
                        login=logins[n],
                        asked_at=NOW,
                        proven_at=NOW,
                    )
                )
                await session.commit()

        samples: list[float] = []
        for run_number in range(RUNS):
            line = "review queue" if run_number % 2 else f"review queue {names[0]}"
            started = time.perf_counter()
            reply = await bot.handle_text(reviewer(run_number % reviewers), line)
            samples.append(time.perf_counter() - started)
            assert reply is not None and not reply.error, reply

        github.requests.clear()
        second = await poller.poll(forge)
        statuses = Counter(status for _, status in github.requests)
        kinds = Counter(
            "closed" if "state=closed" in path else "open" if "state=open" in path else "other"
            for path, _ in github.requests
        )

        github.requests.clear()
        started = time.perf_counter()
        restarted = await build_forge_poller(bot).poll(forge)
        restart_s = time.perf_counter() - started
        after_restart = Counter(status for _, status in github.requests)
        async with sessions() as session:
            kept = (
                await session.exec(select(func.count(), func.sum(func.length(col(ForgeEtag.body)))))
            ).one()
        await engine.dispose()
    return {
        "store": store,
        "pulls": pulls,
        "reviewers": reviewers,
        "first_poll_requests": first.requests,
        "first_poll_s": round(load_s, 2),
        "queue": percentiles(samples),
        "second_poll_requests": second.requests,
        "second_poll_statuses": dict(statuses),
        "second_poll_all_304": set(statuses) == {304},
        "second_poll_kinds": dict(kinds),
        "restarted_poll_requests": restarted.requests,
        "restarted_poll_statuses": dict(after_restart),
        "restarted_poll_all_304": set(after_restart) == {304},
        "restarted_poll_s": round(restart_s, 2),
        "etag_rows": kept[0],
        "etag_body_kb": round((kept[1] or 0) / 1024),
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    os.environ.setdefault("CONVENE_BENCH_GITHUB_TOKEN", "ghp_benchmark")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pulls", type=int, default=2000)
    parser.add_argument("--reviewers", type=int, default=50)
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    result = asyncio.run(run(args.store, args.pulls, args.reviewers))
    print(
        f"store: {result['store']}, {result['pulls']} open pull requests in one of {REPOSITORIES} repositories, {result['reviewers']} reviewers"
    )
    print(
        f"first poll (every page, then reviews and CI of each): {result['first_poll_requests']} requests, {result['first_poll_s']} s"
    )
    print(
        f"review queue: p50 {result['queue']['p50_ms']} ms, p95 {result['queue']['p95_ms']} ms (target p95 < 50 ms)"
    )
    print(
        f"poll with nothing new: {result['second_poll_requests']} requests, statuses {result['second_poll_statuses']}"
        f" ({'all 304' if result['second_poll_all_304'] else 'NOT all 304'})"
    )
    print(
        f"  of which open listings {result['second_poll_kinds'].get('open', 0)}, closed listings "
        f"{result['second_poll_kinds'].get('closed', 0)}, CI rechecks {result['second_poll_kinds'].get('other', 0)}"
    )
    print(
        f"after a restart (ETags from the store): {result['restarted_poll_requests']} requests, statuses "
        f"{result['restarted_poll_statuses']} ({'all 304' if result['restarted_poll_all_304'] else 'NOT all 304'}), "
        f"{result['restarted_poll_s']} s; forge_etag holds {result['etag_rows']} rows, {result['etag_body_kb']} kB of bodies"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
