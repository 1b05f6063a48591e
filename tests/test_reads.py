"""Quick reads (`bot.reads`) give what the ORM gives, see the session's own writes, and spare
a read-only command on SQLite its connection and commit; a quick write (`Write`) belongs to
the session's transaction; on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest
from sqlalchemy import bindparam, event, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import Role
from bot.core.runtime import Runtime
from bot.db import wrote
from bot.identity import Account, Person, accounts_of, people
from bot.reads import Write
from bot.state import HandledEvent
from bot.store_errors import transient
from tests.support.eventually import eventually
from tests.support.fake_platform import FakePlatform
from tests.support.house import build_bot

CREATED = datetime(2026, 3, 29, 3, 0, tzinfo=timezone(timedelta(hours=1)))


async def _someone(session: AsyncSession, name: str, user: str) -> int:
    person = Person(display_name=name, created_at=CREATED)
    session.add(person)
    await session.flush()
    assert person.id is not None
    session.add(
        Account(
            person_id=person.id,
            platform="matrix",
            platform_user_id=user,
            display_name=name,
            created_at=CREATED,
            role=int(Role.MENTOR),
        )
    )
    await session.flush()
    return person.id


async def _nina(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        nina = await _someone(session, "Nina", "@nina:x")
        await session.commit()
    return nina


async def test_a_read_gives_what_the_orm_gives(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    nina = await _nina(sessions)
    async with sessions() as session:
        found = await people(session, [nina])
        loaded = await accounts_of(session, nina)
    assert found[nina].name == "Nina"
    assert [a.model_dump() for a in found[nina].accounts] == [a.model_dump() for a in loaded]
    created = found[nina].accounts[0].created_at
    assert created == datetime(2026, 3, 29, 2, 0, tzinfo=UTC) and created.tzinfo is UTC


async def test_a_read_sees_the_session_s_own_writes_and_no_one_else_s(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    nina = await _nina(sessions)
    async with sessions() as session:
        omar = await _someone(session, "Omar", "@omar:x")
        await session.exec(update(Person).where(col(Person.id) == nina).values(display_name="N."))
        found = await people(session, [nina, omar])
        assert {someone.name for someone in found.values()} == {"N.", "Omar"}
        await session.rollback()
    async with sessions() as session:
        found = await people(session, [nina, omar])
    assert [someone.name for someone in found.values()] == ["Nina"]


async def test_a_change_after_an_earlier_commit_is_committed_too(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    runtime = Runtime(sessions)
    async with runtime.transaction() as session:
        nina = await _someone(session, "Nina", "@nina:x")
        person = await session.get(Person, nina)
        assert person is not None
        await session.commit()
        person.display_name = "Nina B."
    async with sessions() as session:
        names = (await session.exec(select(Person.display_name))).all()
    assert names == ["Nina B."]


async def test_a_read_only_command_on_sqlite_takes_no_connection_and_writes_nothing(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    nina = FakePlatform(build_bot(sessions), name="matrix").person("@nina:x", name="Nina")
    first = await nina.send("!whoami", "$1")
    assert first is not None and first.reply.title == "You are Nina — contributor here"
    taken: list[object] = []
    event.listen(engine.sync_engine, "checkout", lambda *args: taken.append(args))
    again = await nina.send("!whoami", "$2")
    checkouts = len(taken)
    assert again is not None and again.reply.title == first.reply.title
    async with sessions() as session:
        kept = (await session.exec(select(HandledEvent.event_id))).all()
    # The first contact wrote (the account), so its event is kept; the second wrote nothing.
    assert kept == ["$1"]
    assert checkouts == (0 if engine.dialect.name == "sqlite" else 1)


_RENAME = Write(
    update(Person.__table__)  # type: ignore[attr-defined]
    .where(Person.__table__.c.id == bindparam("person"))  # type: ignore[attr-defined]
    .values(display_name=bindparam("name"))
    .returning(Person.__table__.c.display_name, Person.__table__.c.created_at)  # type: ignore[attr-defined]
)


async def test_a_quick_write_is_the_session_s_to_commit_or_roll_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A `Write` belongs to the session's transaction: it counts as a write, returns its rows
    as the ORM would, and is undone by a rollback and kept by a commit."""
    nina = await _nina(sessions)
    async with sessions() as session:
        (renamed,) = await _RENAME.mappings(session, {"person": nina, "name": "Nina R."})
        assert renamed == {"display_name": "Nina R.", "created_at": CREATED.astimezone(UTC)}
        assert await wrote(session)
        await session.rollback()
    async with sessions() as session:
        assert (await session.get(Person, nina)).display_name == "Nina"  # type: ignore[union-attr]
        await _RENAME.rows(session, {"person": nina, "name": "Nina R."})
        await session.commit()
    async with sessions() as session:
        assert (await session.get(Person, nina)).display_name == "Nina R."  # type: ignore[union-attr]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("first", [True, False], ids=["before-begin", "within"])
async def test_a_quick_write_on_a_connection_postgresql_ended_is_retried_on_a_new_one(
    sessions: async_sessionmaker[AsyncSession], db_url: str, first: bool
) -> None:
    """A `Write` runs on asyncpg below SQLAlchemy; when PostgreSQL has ended its connection
    (a restart, `pg_terminate_backend`), as the write's BEGIN or within the transaction, it
    fails as SQLAlchemy fails: the connection invalidated, which the store retry runs the
    work again for, on a new connection."""
    nina = await _nina(sessions)
    async with sessions() as session:
        connection = await session.connection()
        if not first:
            await session.exec(select(Person.id))
        raw = await connection.get_raw_connection()
        pid = raw.driver_connection.get_server_pid()  # type: ignore[union-attr]
        admin = await asyncpg.connect(db_url)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
            await eventually(
                lambda: raw.driver_connection.is_closed(),  # type: ignore[union-attr]
                what="the ended connection to close",
            )
        finally:
            await admin.close()
        with pytest.raises(DBAPIError) as failed:
            await _RENAME.rows(session, {"person": nina, "name": "Nina R."})
        assert failed.value.connection_invalidated and transient(failed.value)
    async with sessions() as session:
        await _RENAME.rows(session, {"person": nina, "name": "Nina R."})
        await session.commit()
    async with sessions() as session:
        assert (await session.get(Person, nina)).display_name == "Nina R."  # type: ignore[union-attr]
