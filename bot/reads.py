"""The few reads every command makes, run below SQLAlchemy's execution path.

Each command starts with the same short SELECTs: the caller's account, their accounts, a
feature's line or two. Through SQLAlchemy's async path each costs about 0.1 ms of Python (a
greenlet switch, a cache lookup, an execution context, a result object) around some 15 µs in
SQLite itself, which runs on the loop's own thread (`bot.inline_sqlite`), or a round trip to
PostgreSQL: on a bot that answers in a millisecond, most of the work, and on PostgreSQL what
limits how many claims a second one process serves. A `Read` is compiled once per dialect
and runs on the driver's own connection of the session's transaction (sqlite3, asyncpg), with
the parameter and result processing SQLAlchemy applies.

On PostgreSQL, SQLAlchemy's driver sends BEGIN before its first statement, so a quick read
that comes first runs just before the transaction rather than in it: the same, for a read, at
READ COMMITTED, where every statement sees what was committed when it starts.

On SQLite, a session that has not begun a transaction has no connection yet: its reads go to the
process's `inline_sqlite.Reader`, which on SQLite sees exactly what the session's own
connection would (SQLite's driver begins a transaction only to write). So a read-only command
takes no connection from the pool, and has no transaction to commit.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Insert, Select, Update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import READER, connection_of, written
from bot.inline_sqlite import Connection as InlineConnection
from bot.inline_sqlite import Reader

log = logging.getLogger(__name__)

Process = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    binds: dict[str, Callable[[Any], Any]]
    results: tuple[Process, ...]
    keys: tuple[str, ...]

    def values(self, params: Mapping[str, Any]) -> list[Any]:
        """The driver's positional parameters, processed as SQLAlchemy processes them."""
        given = {**self.defaults, **params}
        binds = self.binds
        return [binds[name](given[name]) if name in binds else given[name] for name in self.names]

    def processed(self, rows: Sequence[Sequence[Any]]) -> Sequence[Sequence[Any]]:
        results = self.results
        if not any(results):
            return rows
        return [
            tuple(value if p is None else p(value) for p, value in zip(results, row, strict=True))
            for row in rows
        ]


class Read:
    """A SELECT with named parameters, none expanding, cheap to run many times."""

    def __init__(self, statement: Select[Any] | Insert | Update) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            if compiled.positiontup is None:
                raise TypeError(f"{dialect.name} does not take positional parameters")
            columns = compiled._result_columns
            found = self._compiled[dialect.name] = _Compiled(
                compiled.string,
                tuple(compiled.positiontup),
                {k: v for k, v in compiled.params.items() if v is not None},
                dict(compiled._bind_processors),  # type: ignore[arg-type]
                tuple(c.type._cached_result_processor(dialect, None) for c in columns),
                tuple(c.keyname for c in columns),
            )
        return found

    async def rows(
        self, session: AsyncSession, params: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        reader: Reader | None = session.info.get(READER)
        if reader is not None and not session.in_transaction():
            compiled = self._compiled.get("sqlite") or self._for(session.get_bind().dialect)
            return compiled.processed(await reader.read(compiled.sql, compiled.values(params)))
        connection = await connection_of(session)
        driver = _driver(connection)
        compiled = self._for(connection.dialect)
        if isinstance(driver, InlineConnection):
            return compiled.processed(await driver.read(compiled.sql, compiled.values(params)))
        if isinstance(driver, asyncpg.Connection):
            try:
                found = await driver.fetch(compiled.sql, *compiled.values(params))
            except Exception as exc:
                # SQLAlchemy raises as it does for any statement, and invalidates a connection
                # that has gone; the quick path knows neither.
                log.debug("a quick read failed (%s); running it through SQLAlchemy", exc)
            else:
                return compiled.processed(found)
        through: Sequence[Sequence[Any]] = (await connection.execute(self.statement, params)).all()
        return through

    async def mappings(
        self, session: AsyncSession, params: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        keys = self._for(session.get_bind().dialect).keys
        return [dict(zip(keys, row, strict=True)) for row in await self.rows(session, params)]

    async def first(self, session: AsyncSession, params: Mapping[str, Any]) -> Any:
        found = await self.rows(session, params)
        return found[0] if found else None


class Write(Read):
    """An INSERT or UPDATE (with or without RETURNING) run the same way, in the session's
    transaction. SQLite's driver begins that transaction itself before a statement that
    writes; on PostgreSQL, SQLAlchemy's asyncpg adapter begins it lazily before its first
    statement, so it is begun here first (`_begin`)."""

    async def rows(
        self, session: AsyncSession, params: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        connection, driver = await self._on(session)
        compiled = self._for(connection.dialect)
        if isinstance(driver, InlineConnection):
            return compiled.processed(await driver.read(compiled.sql, compiled.values(params)))
        if isinstance(driver, asyncpg.Connection):
            async with _gone_through_sqlalchemy(driver):
                await _begin(connection)
                return compiled.processed(
                    await driver.fetch(compiled.sql, *compiled.values(params))
                )
        return (await connection.execute(self.statement, params)).all()

    async def many(self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once for each of *rows*."""
        connection, driver = await self._on(session)
        compiled = self._for(connection.dialect)
        if isinstance(driver, InlineConnection):
            await driver.write_many(compiled.sql, [compiled.values(row) for row in rows])
            return
        if isinstance(driver, asyncpg.Connection):
            async with _gone_through_sqlalchemy(driver):
                await _begin(connection)
                await driver.executemany(compiled.sql, [compiled.values(row) for row in rows])
                return
        await connection.execute(self.statement, rows)

    @staticmethod
    async def _on(session: AsyncSession) -> tuple[AsyncConnection, Any]:
        """The session's connection and its driver's, with the write counted."""
        connection = await connection_of(session)
        written(connection)
        return connection, _driver(connection)


@asynccontextmanager
async def _gone_through_sqlalchemy(driver: asyncpg.Connection) -> AsyncIterator[None]:
    """Let a failure pass as it came, unless the connection has gone: then the caller runs
    the statement through SQLAlchemy, which fails the same way but invalidates the pool's
    connections of that generation and says `connection_invalidated`, so that the store
    retry runs the work again on a new connection."""
    try:
        yield
    except Exception as exc:
        if not driver.is_closed():
            raise
        log.debug("a quick write's connection has gone (%s)", exc)


async def _begin(connection: AsyncConnection) -> None:
    adapter: Any = connection.sync_connection.connection.dbapi_connection  # type: ignore[union-attr]
    async with adapter._execute_mutex:
        if adapter._transaction is None:
            await adapter._start_transaction()


def _driver(connection: AsyncConnection) -> Any:
    """The driver's own connection under SQLAlchemy's: sqlite3's (inline) or asyncpg's."""
    return connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]
