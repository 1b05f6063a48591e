"""The async store: one engine and session factory, SQLite by default and PostgreSQL by URL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Float, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator
from sqlmodel.ext.asyncio.session import AsyncSession


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in and out, whatever the database keeps.

    SQLite has no time zones and would hand back naive datetimes, which raise when compared with
    aware ones; so every instant is normalised to UTC on the way in and marked UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class seconds_between(FunctionElement[float]):
    """Seconds from one instant column to another, computed by the database.

    So the database itself can order durations (for a median, say) on SQLite, which stores
    instants as text, as on PostgreSQL.
    """

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({end}) - ({start})) AS DOUBLE PRECISION)"


def insert_ignoring_conflicts(session: AsyncSession, table: type[Any]) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING` on *table* in the session's dialect: the way to write
    a row at most once that two instances may both try to write."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert(table).on_conflict_do_nothing()


def normalise_url(url: str) -> str:
    """Accept the plain URLs people copy from docs and pick the async drivers for them."""
    for plain, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url.removeprefix(plain)
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL with synchronous=NORMAL, as SQLite advises for WAL: a commit survives the process
    crashing and costs a fifth of FULL's fsync; only a power cut may take back the last few.
    Deployments that need more run PostgreSQL."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> AsyncEngine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


_WRITER = "convene.writer"


class StoreSession(AsyncSession):
    """A session that, on SQLite, writes one transaction at a time within the process.

    SQLite has one writer; a second connection that wants to write sleeps in SQLite's busy
    handler, in steps up to 100 ms, so twenty concurrent commands once took a second each.
    Here a transaction waits its turn, in order, on an asyncio lock taken at its first write
    and given back when it ends. Reads take no turn: WAL lets them run beside the writer."""

    _holding: bool = False

    async def _turn(self) -> None:
        writer: asyncio.Lock | None = self.info.get(_WRITER)
        if writer is not None and not self._holding:
            await writer.acquire()
            self._holding = True

    def _done(self) -> None:
        if self._holding:
            self._holding = False
            self.info[_WRITER].release()

    def _dirty(self) -> bool:
        return bool(self.new or self.dirty or self.deleted)

    async def exec(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(statement, "is_dml", False):
            await self._turn()
        return await super().exec(statement, *args, **kwargs)

    async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(statement, "is_dml", False):
            await self._turn()
        return await super().execute(statement, *args, **kwargs)

    async def flush(self, objects: Any = None) -> None:
        if self._dirty():
            await self._turn()
        await super().flush(objects)

    async def commit(self) -> None:
        if self._dirty():
            await self._turn()
        try:
            await super().commit()
        finally:
            self._done()

    async def rollback(self) -> None:
        try:
            await super().rollback()
        finally:
            self._done()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._done()


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    info = {_WRITER: asyncio.Lock()} if engine.dialect.name == "sqlite" else {}
    return async_sessionmaker(engine, class_=StoreSession, expire_on_commit=False, info=info)
