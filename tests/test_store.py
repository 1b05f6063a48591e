"""The schema, on SQLite and PostgreSQL: migrations match the models, time stays aware UTC."""

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cogs import load_models
from bot.core.context import Caller, Role
from bot.identity import Person, accounts_of, resolve_person
from bot.schema import upgrade
from bot.state import get_state, set_state


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    load_models()

    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, SQLModel.metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_upgrade_twice_is_harmless(engine: AsyncEngine) -> None:
    await upgrade(engine)


async def test_datetimes_come_back_aware_utc(sessions: async_sessionmaker[AsyncSession]) -> None:
    paris = timezone(timedelta(hours=1))
    async with sessions() as session:
        person = Person(display_name="Nina", created_at=datetime(2026, 3, 29, 3, 0, tzinfo=paris))
        session.add(person)
        await session.commit()
        person_id = person.id
    async with sessions() as session:
        loaded = await session.get(Person, person_id)
        assert loaded is not None
        assert loaded.created_at == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)
        assert loaded.created_at.tzinfo is UTC


async def test_naive_datetimes_are_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        session.add(Person(display_name="x", created_at=datetime(2026, 1, 1)))
        with pytest.raises(Exception, match="naive datetime"):
            await session.commit()


async def test_one_person_per_account_even_when_racing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    caller = Caller("matrix", "@nina:x", "Nina", Role.CONTRIBUTOR, "!r:x")
    now = datetime.now(UTC)

    async def first_contact() -> int:
        async with sessions() as session:
            person_id = await resolve_person(session, caller, now)
            await session.commit()
            return person_id

    ids = await asyncio.gather(*(first_contact() for _ in range(8)))
    assert len(set(ids)) == 1
    async with sessions() as session:
        assert len(await accounts_of(session, ids[0])) == 1


async def test_state_round_trip(sessions: async_sessionmaker[AsyncSession]) -> None:
    now = datetime.now(UTC)
    async with sessions() as session:
        assert await get_state(session, "k") is None
        await set_state(session, "k", "a", now)
        await session.commit()
        await set_state(session, "k", "b", now)
        await session.commit()
        assert await get_state(session, "k") == "b"
