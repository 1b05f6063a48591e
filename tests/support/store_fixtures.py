"""The store under test, on SQLite and on PostgreSQL.

PostgreSQL is at 127.0.0.1:5432 on CI (trust auth, database `test`); each test gets a fresh
database of its own. Without PostgreSQL the PostgreSQL variants skip locally, and fail when
`CI=true`, so CI can never pass with them unrun.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import dispose, make_engine, make_sessions
from bot.schema import upgrade

PG_ADMIN_URL = os.environ.get("CONVENE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


async def _pg_admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/convene.db"
        return
    admin = await _pg_admin()
    name = f"convene_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/convene.db"


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(db_url)
    await upgrade(engine)
    yield engine
    await dispose(engine)


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessions(engine)


@pytest.fixture
async def sqlite_sessions(sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """For tests of logic above the store, where one database is enough."""
    engine = make_engine(sqlite_url)
    await upgrade(engine)
    yield make_sessions(engine)
    await dispose(engine)


@asynccontextmanager
async def store_locked(url: str) -> AsyncIterator[None]:
    """Hold the store's write lock as another process's long transaction would, so that the
    bot's writes wait: SQLite's one write lock, or on PostgreSQL every table of the database
    locked against writes (reads go on, as on SQLite in WAL mode)."""
    if url.startswith("sqlite"):
        async with aiosqlite.connect(url.split(":///", 1)[1], isolation_level=None) as db:
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield
            finally:
                await db.rollback()
        return
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            names = await connection.fetch(
                "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public'"
            )
            tables = ", ".join(row["name"] for row in names)
            await connection.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
            yield
    finally:
        await connection.close()
