"""What every store benchmark needs: a throwaway store, percentiles and peak memory."""

from __future__ import annotations

import contextlib
import os
import resource
import statistics
import tempfile
import uuid
from collections.abc import AsyncIterator

import asyncpg

PG_ADMIN = os.environ.get("CONVENE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@contextlib.asynccontextmanager
async def throwaway_store(store: str) -> AsyncIterator[str]:
    """The URL of an empty store of kind *store*, removed afterwards: a SQLite file in a
    temporary folder, or a new database on the PostgreSQL server the tests use."""
    if store == "sqlite":
        with tempfile.TemporaryDirectory() as workdir:
            yield f"sqlite+aiosqlite:///{workdir}/bench.db"
        return
    admin = await asyncpg.connect(PG_ADMIN)
    name = f"convene_bench_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 and p95 of durations in seconds, as milliseconds."""
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
    }


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
