"""SQLite on the event loop's own thread, in the shape SQLAlchemy's aiosqlite dialect expects.

aiosqlite runs each connection in a thread of its own, and SQLAlchemy's adapter crosses to it
four times per statement; under load every crossing waits for the OS to schedule that thread,
so a command whose SQL takes 0.1 ms took several. SQLite answers a short query faster than a
thread wakes, so here every call runs in place. Two things keep the loop free: sessions take
turns (`bot.db.StoreSession`), so within the process SQLite never waits for itself; and when
another process holds the write lock, SQLite is told not to wait (busy_timeout=0) and the
statement is retried after an asyncio sleep, so the loop goes on serving meanwhile.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

BUSY_TIMEOUT = 30.0


async def patiently(call: Callable[[], T]) -> T:
    """Run *call*; while SQLite says another connection holds the lock, try again soon."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    delay = 0.001
    while True:
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)


class Cursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Cursor:
        await patiently(lambda: self._cursor.execute(sql, parameters or ()))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Cursor:
        rows = list(parameters)
        await patiently(lambda: self._cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _Now:
    """Stands for aiosqlite's request queue, which SQLAlchemy feeds directly to change the
    isolation level: the request is done at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class Connection:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _Now()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> Cursor:
        return Cursor(self._conn.cursor())

    async def read(self, sql: str, parameters: Sequence[Any]) -> list[Any]:
        """The rows of a SELECT, with no cursor object of SQLAlchemy's around it
        (`bot.reads`)."""
        return await patiently(lambda: self._conn.execute(sql, parameters).fetchall())

    async def write_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """A statement that writes, run for each row (`bot.reads.Write`)."""
        await patiently(lambda: self._conn.executemany(sql, rows))

    async def commit(self) -> None:
        await patiently(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self._connection = None
        self._conn.close()

    def stop(self) -> None:
        self._connection = None
        self._conn.close()


class Reader:
    """A connection of its own for the reads of sessions that have not begun a transaction.

    SQLite's driver begins a transaction only before a statement that writes, so until a
    session writes, its reads see what is committed, whichever connection runs them: here they
    need no connection taken from the pool, nor a transaction begun and committed for them
    (`bot.reads`). Each read is one statement run to its end, so nothing is ever left open on
    this connection, and it is told to refuse writes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._connection: Connection | None = None

    async def read(self, sql: str, parameters: Sequence[Any]) -> list[Any]:
        if self._connection is None:
            connection = sqlite3.connect(self.path, timeout=0, check_same_thread=False)
            connection.execute("PRAGMA query_only=ON")
            self._connection = Connection(connection)
        return await self._connection.read(sql, parameters)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.stop()
            self._connection = None


def connector(path: str) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine`: SQLite at *path*, on the loop's thread."""

    async def connect() -> Connection:
        connection = sqlite3.connect(path, timeout=0, check_same_thread=False)
        return Connection(connection)

    return connect
