"""What the bot itself must remember across restarts, such as a platform's sync cursor, and
the store behind the platforms' `PlatformState` port."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import ColumnElement, Text, bindparam, func, update
from sqlmodel import Field, SQLModel, col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.context import Caller
from bot.core.personal import Records
from bot.core.reply import Reply, decode, encode
from bot.core.retry import retried
from bot.core.router import Earlier
from bot.core.runtime import Runtime
from bot.db import UTCDateTime, connection_of, dialect_insert, insert_ignoring_conflicts, wrote
from bot.identity import Account, account_of, caller_lookup, resolve_person, resolve_with
from bot.reads import Read
from bot.store_errors import transient

P = ParamSpec("P")
T = TypeVar("T")


class BotState(SQLModel, table=True):
    __tablename__ = "bot_state"

    key: str = Field(primary_key=True, max_length=200)
    value: str
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


_STATE = Read(select(BotState.value).where(col(BotState.key) == bindparam("key")))


async def get_state(session: AsyncSession, key: str) -> str | None:
    """Read from the store, never from the session's own copy: another instance may have
    changed it since."""
    found = await _STATE.first(session, {"key": key})
    return None if found is None else found[0]


async def set_state(session: AsyncSession, key: str, value: str, now: datetime) -> None:
    """One upsert, so that two instances writing a key for the first time cannot collide."""
    insert = dialect_insert(session.get_bind().dialect.name)
    await session.exec(
        insert(BotState)
        .values(key=key, value=value, updated_at=now)
        .on_conflict_do_update(
            index_elements=[col(BotState.key)], set_={"value": value, "updated_at": now}
        )
    )


HANDLED_KEPT = timedelta(days=2)
# An answer is wanted again only by a replay, which Matrix sends for commands up to 10 minutes
# old, or by a retry seconds later; answers can hold what the person asked not to be kept
# (`me forget`), so they go long before the ids.
REPLY_KEPT = timedelta(minutes=15)
FORGET_EVERY = 300.0


class HandledEvent(SQLModel, table=True):
    """A chat event (Matrix event id, Discord interaction id) a command was run for: a second
    delivery of it, to another instance or after a resumed sync, is not run again. `reply` is
    its answer, encoded: sent again on a replay where the platform sends once per event
    (`Caller.resends`), and given to the retry of a command whose commit a store failure hid."""

    __tablename__ = "handled_event"

    platform: str = Field(primary_key=True, max_length=16)
    event_id: str = Field(primary_key=True, max_length=255)
    handled_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    reply: str | None = Field(default=None, sa_type=Text)


_HANDLED = HandledEvent.__table__  # type: ignore[attr-defined]
# Plain Core, with no entity to load, so the lookup skips the ORM's execution path.
_SEEN = Read(
    select(_HANDLED.c.reply).where(
        _HANDLED.c.platform == bindparam("platform"), _HANDLED.c.event_id == bindparam("event_id")
    )
)
# The caller lookup every command starts with, asking too after its event: NULL when it was
# not handled, else its kept answer, '' when none was kept (no encoded answer is empty).
_RESOLVE_SEEN = caller_lookup(
    select(func.coalesce(_HANDLED.c.reply, ""))
    .where(
        _HANDLED.c.platform == bindparam("platform"),
        _HANDLED.c.event_id == bindparam("event_id"),
    )
    .scalar_subquery()
)
_SEEN_AT_START = "convene.seen"


async def resolve_caller(session: AsyncSession, caller: Caller, now: datetime) -> int:
    """`resolve_person`, which for a caller with an event id also looks the id up in the same
    statement, for `record_event` to answer a read-only command without a query of its own."""
    if caller.event_id is None:
        return await resolve_person(session, caller, now)
    person_id, also = await resolve_with(
        session, caller, now, _RESOLVE_SEEN, {"event_id": caller.event_id}
    )
    if also is not None:
        session.info[_SEEN_AT_START] = (caller.platform, caller.event_id, also[0])
    return person_id


async def record_event(
    session: AsyncSession,
    caller: Caller,
    now: datetime,
    reply: Reply | None = None,
    *,
    keep: bool = False,
) -> Earlier | None:
    """At the end of the transaction that handled *caller*'s event: `Earlier` when the event
    was handled before, here or by another instance, so that the transaction is undone and
    the earlier answer, if kept, given instead.

    A transaction that wrote (or a refusal, *keep*) records the id with *reply*, one `INSERT
    … ON CONFLICT DO NOTHING`, which waits for a concurrent insert of the same id to commit or
    roll back, so of two instances exactly one keeps its work. A read-only command writes
    nothing and only looks the id up: its replay gets the answer kept by a run that wrote, and
    is answered again, changing nothing, after one that did not. That lookup is the one
    `resolve_caller` made at the start, when the transaction began with it: an instance that
    commits the same event in between is as concurrent as one that commits just after it."""
    key = {"platform": caller.platform, "event_id": caller.event_id}
    if keep or await wrote(session):
        connection = await connection_of(session)
        insert = insert_ignoring_conflicts(session, HandledEvent)
        body = None if reply is None else encode(reply)
        result = await connection.execute(insert, {**key, "handled_at": now, "reply": body})
        if result.rowcount:
            return None
    elif (at := session.info.get(_SEEN_AT_START)) and at[:2] == (caller.platform, caller.event_id):
        kept: str | None = at[2]
        return None if kept is None else Earlier(decode(kept) if kept else None)
    found = await _SEEN.first(session, key)
    if found is None:
        return None
    return Earlier(None if found[0] is None else decode(found[0]))


async def forget_handled(runtime: Runtime) -> float:
    """An event comes again only while a sync is resumed or a platform taken over, minutes at
    most: its answer is kept `REPLY_KEPT` and its id `HANDLED_KEPT`, and what is older is
    dropped every `FORGET_EVERY` seconds. Returns the seconds until the next turn."""
    async with runtime.transaction() as session:
        now = runtime.now()
        handled_at = col(HandledEvent.handled_at)
        await session.exec(delete(HandledEvent).where(handled_at < now - HANDLED_KEPT))
        await _drop_answers(session, handled_at < now - REPLY_KEPT)
    return FORGET_EVERY


async def _drop_answers(session: AsyncSession, *which: ColumnElement[bool]) -> None:
    kept = col(HandledEvent.reply).is_not(None)
    await session.exec(update(HandledEvent).where(kept, *which).values(reply=None))


async def no_records(session: AsyncSession, person_id: int) -> Records:
    return {}


async def forget_answers(session: AsyncSession, person_id: int, now: datetime) -> None:
    """Answers are kept by event, not by person: forgetting someone drops every kept answer,
    which costs at most the resending of an answer a crash left unsent in those minutes."""
    await _drop_answers(session)


def _retrying(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    @functools.wraps(method)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return await retried(lambda: method(*args, **kwargs), transient, method.__name__)

    return run


class StoreState:
    """A platform's memory, each call its own short transaction, run again when the store
    failed for a moment, so that an adapter keeps no store retry of its own."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @_retrying
    async def get(self, key: str) -> str | None:
        async with self.runtime.sessions() as session:
            return await get_state(session, key)

    @_retrying
    async def put(self, key: str, value: str) -> None:
        async with self.runtime.transaction() as session:
            await set_state(session, key, value, self.runtime.now())

    @_retrying
    async def dm_room(self, platform: str, user_id: str) -> str | None:
        async with self.runtime.sessions() as session:
            account = await account_of(session, platform, user_id)
            return None if account is None else account.dm_room_id

    @_retrying
    async def remember_dm_room(self, platform: str, user_id: str, room_id: str) -> bool:
        async with self.runtime.transaction() as session:
            account = await account_of(session, platform, user_id)
            if account is None:
                return False
            account.dm_room_id = room_id
            session.add(account)
            return True

    @_retrying
    async def knows(self, platform: str, user_id: str) -> bool:
        async with self.runtime.sessions() as session:
            return await account_of(session, platform, user_id) is not None

    @_retrying
    async def is_dm_of(self, platform: str, room_id: str, user_id: str) -> bool:
        async with self.runtime.sessions() as session:
            query = select(Account.id).where(
                Account.platform == platform,
                Account.platform_user_id == user_id,
                Account.dm_room_id == room_id,
            )
            return (await session.exec(query)).first() is not None

    @_retrying
    async def is_dm_room(self, platform: str, room_id: str) -> bool:
        async with self.runtime.sessions() as session:
            query = select(Account.id).where(
                Account.platform == platform, Account.dm_room_id == room_id
            )
            return (await session.exec(query)).first() is not None
