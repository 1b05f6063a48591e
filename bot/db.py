"""The async store: one engine and session factory, SQLite by default and PostgreSQL by URL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import URL, Connection, DateTime, Float, event, make_url
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import inline_sqlite

T = TypeVar("T")


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


_IGNORING: dict[tuple[str, type[Any]], Any] = {}


def insert_ignoring_conflicts(session: AsyncSession, table: type[Any]) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING` on *table* in the session's dialect: the way to write
    a row at most once that two instances may both try to write. Built once per dialect and
    table; give it the rows to execute, or `.values(…)`."""
    dialect = session.get_bind().dialect.name
    found = _IGNORING.get((dialect, table))
    if found is None:
        found = _IGNORING[(dialect, table)] = dialect_insert(dialect)(
            table
        ).on_conflict_do_nothing()
    return found


def dialect_insert(dialect: str) -> Any:
    """The `insert` of *dialect*, the one that can say what to do on a conflict."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


def loaded(model: type[T], values: Mapping[str, Any]) -> T:
    """An entity holding a row's *values*, made as the ORM makes the ones it loads: no
    validation and no attribute events, which cost ten times more than the copy. Like an
    entity built with `model(**values)`, it belongs to no session."""
    entity: T = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    entity.__dict__.update(values)
    object.__setattr__(entity, "__pydantic_fields_set__", set(values))
    return entity


DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
EXPECTED_URL = (
    "expected a sqlite:/// or postgresql:// URL, such as sqlite:///convene.db "
    "or postgresql://USER:PASSWORD@HOST:5432/DATABASE"
)


def store_url(text: str) -> URL:
    """The URL to connect with, from the one in the settings.

    Plain `sqlite://` and `postgresql://` URLs, as people copy them from docs, get the async
    drivers Convene ships (aiosqlite, asyncpg); any other driver, or a URL the drivers would only
    refuse at the first connection, is refused here with what is expected, so that
    `check-config` catches it. Messages never repeat the URL, which may hold a password."""
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        bracket = "[" in text and "]" not in text
        hint = " (is the ] after an IPv6 address missing?)" if bracket else ""
        raise ValueError(f"{EXPECTED_URL}; this one cannot be read as a URL{hint}") from None
    driver = DRIVERS.get(url.drivername)
    if driver is None:
        dialect, _, named = url.drivername.partition("+")
        if named and dialect in DRIVERS:
            raise ValueError(
                f"the driver {named!r} is not shipped with Convene; write {dialect}:// and "
                f"Convene uses {DRIVERS[dialect].partition('+')[2]}"
            )
        raise ValueError(f"{EXPECTED_URL}; Convene cannot keep its store in {url.drivername!r}")
    url = url.set(drivername=driver)
    if url.get_backend_name() == "sqlite":
        _check_sqlite(url)
    else:
        _check_postgresql(url)
    return url


def _check_sqlite(url: URL) -> None:
    if url.username or url.password or url.host or url.port or not url.database:
        raise ValueError(
            "a SQLite URL needs a file path: sqlite:///convene.db (three slashes) for a path "
            "relative to the working directory, sqlite:////var/lib/convene/convene.db (four) "
            "for an absolute one"
        )
    if url.database == ":memory:":
        raise ValueError(
            "a SQLite store must be a file, e.g. sqlite:///convene.db; a database in memory "
            "would lose everything when the bot stops"
        )
    if url.query:
        raise ValueError("a SQLite URL takes no options after '?'; write sqlite:///PATH")


def _check_postgresql(url: URL) -> None:
    if url.port is not None and not 0 < url.port < 65536:
        raise ValueError(f"port {url.port} is out of range; PostgreSQL listens on 5432 by default")
    for option, value in url.query.items():
        if option == "sslmode":
            raise ValueError(
                "write ssl=… instead of sslmode=… (the option's name in asyncpg, the driver "
                "Convene uses), e.g. ?ssl=require"
            )
        if option != "ssl":
            raise ValueError(
                f"unknown option {option!r} after '?'; a PostgreSQL URL may end in ?ssl=require"
            )
        if value not in SSL_MODES:
            raise ValueError(f"ssl must be one of {', '.join(SSL_MODES)}")


def shown_url(text: str) -> str:
    """The store's URL as it may be printed or logged: with the driver, without the password."""
    try:
        url = store_url(text)
    except ValueError:
        return "(the configured [store] url)"
    return url.render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL with synchronous=NORMAL, as SQLite advises for WAL: a commit survives the process
    crashing and costs a fifth of FULL's fsync; only a power cut may take back the last few.
    Deployments that need more run PostgreSQL."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()


def make_engine(text: str) -> AsyncEngine:
    url = store_url(text)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None, "store_url refuses SQLite URLs without a file"
        engine = create_async_engine(
            url, async_creator=inline_sqlite.connector(url.database), pool_reset_on_return=None
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        engine = create_async_engine(url, pool_pre_ping=False, pool_size=20, max_overflow=10)
    event.listen(engine.sync_engine, "begin", _begun)
    event.listen(engine.sync_engine, "before_cursor_execute", _executing)
    return engine


_WROTE = "convene.wrote"
# What a transaction may send without changing anything stored. Anything else, whatever
# issued it (the ORM's flush, a Core statement, text), counts as a write.
_READS = ("SELECT", "BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK")


def _begun(connection: Connection) -> None:
    connection.info[_WROTE] = False


def _executing(
    connection: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> None:
    if not statement.lstrip()[:9].upper().startswith(_READS):
        connection.info[_WROTE] = True


def written(connection: AsyncConnection) -> None:
    """Count a statement run on *connection*'s driver, below SQLAlchemy's events, as a write."""
    if connection.sync_connection is not None:
        connection.sync_connection.info[_WROTE] = True


async def wrote(session: AsyncSession) -> bool:
    """Whether the session's transaction sent, or has pending, anything that may change the store.

    Read from the statements themselves, on the connection, so that no way of writing escapes
    it; a session on an engine not made by `make_engine` is taken to have written."""
    if session.new or session.deleted or session.dirty:
        return True
    if not session.in_transaction():
        return False
    connection = (await connection_of(session)).sync_connection
    return connection is None or bool(connection.info.get(_WROTE, True))


_CONNECTION = "convene.connection"


async def connection_of(session: AsyncSession) -> AsyncConnection:
    """The connection of the session's transaction, for plain Core statements; asked of the
    session once per transaction, since each ask is a trip through its greenlet."""
    transaction = session.sync_session.get_transaction()
    known: tuple[object, AsyncConnection] | None = session.info.get(_CONNECTION)
    if transaction is not None and known is not None and known[0] is transaction:
        return known[1]
    connection = await session.connection()
    session.info[_CONNECTION] = (session.sync_session.get_transaction(), connection)
    return connection


_TURN = "convene.turn"


class StoreSession(AsyncSession):
    """A session that, on SQLite, has the store to itself within the process while it is open.

    SQLite has one writer, and aiosqlite gives every connection a thread of its own: twenty
    commands at once meant twenty threads fighting over the GIL and a writer's lock that the
    losers wait for in SQLite's busy handler, sleeping up to 100 ms a time, so each took a
    second. Here sessions queue on an asyncio lock instead, in order, and each runs at full
    speed. Sessions are short, and none opens another while it is open."""

    _holding: bool = False

    async def __aenter__(self) -> StoreSession:
        if _TURN in self.info:
            await self._take_turn()
        return self

    async def _take_turn(self) -> None:
        turn: asyncio.Lock = self.info[_TURN]
        await turn.acquire()
        self._holding = True

    def _give_turn(self) -> None:
        if self._holding:
            self._holding = False
            self.info[_TURN].release()

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        """SQLAlchemy closes a session in a task of its own, shielded, so that a cancel cannot
        cut the closing short: three turns of the loop for every session. A session holding
        the turn is on SQLite, whose close runs in place (`bot.inline_sqlite`) and so cannot
        be interrupted: it closes directly, or not at all when it has nothing to close."""
        if self._holding:
            if self.sync_session.get_transaction() is None and not self.identity_map:
                # Never begun and holding nothing (reads only, `bot.reads`): nothing to close.
                self._give_turn()
                return
            await self.close()
        else:
            await super().__aexit__(type_, value, traceback)

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._give_turn()


async def aside(session: AsyncSession, work: Awaitable[T]) -> T:
    """Wait for *work* (a build in a thread, say) without keeping the store from others.

    On SQLite an open session holds the process's turn, so every other command would wait for
    *work* too: what *session* did so far is committed, its turn passed on until *work* is
    done, and taken again before the session goes on. Call it only where committing early is
    harmless. On PostgreSQL sessions do not take turns, and nothing is committed."""
    if not isinstance(session, StoreSession) or not session._holding:
        return await work
    await session.commit()
    session._give_turn()
    try:
        return await work
    finally:
        await session._take_turn()


READER = "convene.reader"
_READERS: WeakKeyDictionary[AsyncEngine, inline_sqlite.Reader] = WeakKeyDictionary()


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    info: dict[str, Any] = {}
    if engine.dialect.name == "sqlite":
        assert engine.url.database is not None, "store_url refuses SQLite URLs without a file"
        reader = _READERS.get(engine)
        if reader is None:
            reader = _READERS[engine] = inline_sqlite.Reader(engine.url.database)
        info = {_TURN: asyncio.Lock(), READER: reader}
    return async_sessionmaker(engine, class_=StoreSession, expire_on_commit=False, info=info)


async def dispose(engine: AsyncEngine) -> None:
    """Close the engine's connections, its sessions' reader's too."""
    if (reader := _READERS.pop(engine, None)) is not None:
        reader.close()
    await engine.dispose()
