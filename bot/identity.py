"""People and their platform accounts.

One Person per human, with one Account per platform identity. Every feature refers to people by
`Person.id`, so linking a Discord and a Matrix account makes a mentor on one and a newcomer on the
other the same people everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    PrimaryKeyConstraint,
    Table,
    UniqueConstraint,
    bindparam,
    delete,
    update,
)
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.context import Caller
from bot.core.errors import UserError
from bot.core.markup import escape, quoted
from bot.db import UTCDateTime, connection_of, loaded
from bot.reads import Read

PLATFORM_LABELS = {"discord": "Discord", "matrix": "Matrix", "console": "Console"}


def platform_label(platform: str) -> str:
    """How people name a platform ("Discord"); one without a label as it is stored."""
    return PLATFORM_LABELS.get(platform, platform)


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    display_name: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Account(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    platform: str = Field(max_length=16)
    platform_user_id: str = Field(max_length=255)
    display_name: str = Field(max_length=200)
    dm_room_id: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # The role the platform gave this account on its latest command: what the web pages trust,
    # since a browser brings no platform with it.
    role: int = Field(default=0, sa_column_kwargs={"server_default": "0"})

    @property
    def handle(self) -> str:
        """How people on that platform find this account."""
        if self.platform == "discord":
            return f"@{self.display_name}"
        return self.platform_user_id if self.platform == "matrix" else self.display_name


# The tables themselves, for statements that load no entity and so skip the ORM's path.
_PERSON = Person.__table__  # type: ignore[attr-defined]
_ACCOUNT = Account.__table__  # type: ignore[attr-defined]


async def account_of(session: AsyncSession, platform: str, user_id: str) -> Account | None:
    query = select(Account).where(Account.platform == platform, Account.platform_user_id == user_id)
    return (await session.exec(query)).first()


_ACCOUNTS_OF = (
    select(Account)
    .where(Account.person_id == bindparam("person"))
    .order_by(col(Account.platform))
    .execution_options(populate_existing=True)
)


async def accounts_of(session: AsyncSession, person_id: int) -> list[Account]:
    return list((await session.exec(_ACCOUNTS_OF, params={"person": person_id})).all())


@dataclass(frozen=True)
class Someone:
    name: str
    accounts: list[Account]


_ACCOUNTS_NAMED = (
    core_select(*_ACCOUNT.c, _PERSON.c.display_name.label("name"))
    .join_from(_ACCOUNT, _PERSON)
    .order_by(_ACCOUNT.c.platform)
)
# One person and two (a requester and a mentor), the common cases, without an expanding IN,
# whose SQL is written out anew for every execution.
_PERSON_NAMED = Read(_ACCOUNTS_NAMED.where(_ACCOUNT.c.person_id == bindparam("id")))
_TWO_NAMED = Read(
    _ACCOUNTS_NAMED.where(_ACCOUNT.c.person_id.in_([bindparam("id"), bindparam("other")]))
)
_PEOPLE = _ACCOUNTS_NAMED.where(_ACCOUNT.c.person_id.in_(bindparam("ids", expanding=True)))


# Every account with its person's name, for a statement that reads people beside something
# else (`people_of` makes them what `people` returns).
NAMED_ACCOUNTS = (
    core_select(*_ACCOUNT.c, _PERSON.c.display_name.label("name"))
    .join_from(_ACCOUNT, _PERSON)
    .subquery("named_account")
)


def people_of(rows: Iterable[Mapping[Any, Any]]) -> dict[int, Someone]:
    """`people`'s answer from rows of `NAMED_ACCOUNTS`' columns, ordered by platform."""
    found: dict[int, Someone] = {}
    for row in rows:
        name = row["name"]
        account = loaded(Account, {key: value for key, value in row.items() if key != "name"})
        found.setdefault(account.person_id, Someone(name, [])).accounts.append(account)
    return found


async def people(session: AsyncSession, ids: Iterable[int]) -> dict[int, Someone]:
    """Several people's names and accounts in one query, for what shows both. The accounts
    are copies of the rows, not objects of the session: what shows people changes nothing."""
    wanted = sorted(set(ids))
    if len(wanted) == 1:
        return people_of(await _PERSON_NAMED.mappings(session, {"id": wanted[0]}))
    if len(wanted) == 2:
        return people_of(await _TWO_NAMED.mappings(session, {"id": wanted[0], "other": wanted[1]}))
    connection = await connection_of(session)
    return people_of((await connection.execute(_PEOPLE, {"ids": wanted})).mappings())


async def display_name(session: AsyncSession, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    person = await session.get(Person, person_id)
    return person.display_name if person else None


async def display_names(session: AsyncSession, people: Iterable[int | None]) -> dict[int, str]:
    """Names of several people in one query, for lists."""
    wanted = {p for p in people if p is not None}
    if not wanted:
        return {}
    query = select(Person.id, Person.display_name).where(col(Person.id).in_(wanted))
    return {pid: name for pid, name in (await session.exec(query)).all() if pid is not None}


async def newcomers(
    session: AsyncSession, since: datetime, until: datetime, limit: int
) -> tuple[int, list[str]]:
    """People the bot met for the first time in [*since*, *until*): how many, and the names
    of the first *limit* of them."""
    window = (col(Person.created_at) >= since, col(Person.created_at) < until)
    count = (await session.exec(select(func.count()).where(*window))).one()
    query = select(Person.display_name).where(*window).order_by(col(Person.created_at))
    return count, list((await session.exec(query.limit(limit))).all())


# Plain Core, with no entity to load, so the lookup every command starts with skips the ORM's
# execution path.
_RESOLVE = core_select(
    _ACCOUNT.c.id, _ACCOUNT.c.person_id, _ACCOUNT.c.display_name, _ACCOUNT.c.role
).where(
    _ACCOUNT.c.platform == bindparam("platform"), _ACCOUNT.c.platform_user_id == bindparam("user")
)


def caller_lookup(*also: ColumnElement[Any]) -> Read:
    """The caller lookup with *also*, scalar subqueries about the same command, after the
    account's columns: what another store must ask at every command rides along in the one
    statement (`resolve_with`). Its parameters are `platform` and `user`, and theirs."""
    return Read(_RESOLVE.add_columns(*also))


_RESOLVE_ONLY = caller_lookup()


async def resolve_person(session: AsyncSession, caller: Caller, now: datetime) -> int:
    """The Person behind *caller*, created on first contact; keeps display names and the
    account's role current.

    Every command starts here, so the common case, a known account whose name and role are
    unchanged, is one light query that loads no object and writes nothing."""
    person_id, _also = await resolve_with(session, caller, now, _RESOLVE_ONLY, {})
    return person_id


async def resolve_with(
    session: AsyncSession,
    caller: Caller,
    now: datetime,
    lookup: Read,
    params: Mapping[str, Any],
) -> tuple[int, Sequence[Any] | None]:
    """`resolve_person` by *lookup* (a `caller_lookup`) with the extra *params*: the Person
    and the values of the lookup's extra columns, None for an account made just now."""
    name = caller.display_name[:200]
    known = await lookup.first(
        session, {"platform": caller.platform, "user": caller.user_id, **params}
    )
    if known is not None:
        account_id, person_id, shown, role, *also = known
        if shown != name or role != caller.role:
            await session.exec(
                update(Account)
                .where(col(Account.id) == account_id)
                .values(display_name=name, role=int(caller.role))
            )
        return int(person_id), also
    try:
        async with session.begin_nested():
            person = Person(display_name=name, created_at=now)
            session.add(person)
            await session.flush()
            assert person.id is not None
            account = Account(
                person_id=person.id,
                platform=caller.platform,
                platform_user_id=caller.user_id,
                display_name=name,
                created_at=now,
                role=int(caller.role),
            )
            session.add(account)
    except IntegrityError:
        found = await account_of(session, caller.platform, caller.user_id)
        assert found is not None, "account vanished after a concurrent insert"
        return found.person_id, None
    return account.person_id, None


async def merge_people(session: AsyncSession, keep: int, drop: int) -> None:
    """Fold Person *drop* into *keep*, repointing every column that refers to a person.

    Found from the schema rather than listed by hand, so a cog's new table that refers to people
    is merged without anyone remembering to add it here. Where a row of *drop*'s would collide
    with one of *keep*'s on a primary key or unique key (an RSVP to the same occurrence, a vote on
    the same answer), *keep*'s row wins and *drop*'s is deleted before the rest move.
    """
    person_table = SQLModel.metadata.tables["person"]
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if not any(fk.column.table is person_table for fk in column.foreign_keys):
                continue
            for key in _unique_keys(table, column.name):
                kept = table.alias()
                same_thing = [kept.c[name] == table.c[name] for name in key if name != column.name]
                clash = select(kept.c[column.name]).where(kept.c[column.name] == keep, *same_thing)
                await session.exec(delete(table).where(column == drop, clash.exists()))
            await session.exec(update(table).where(column == drop).values({column.name: keep}))
    await session.exec(delete(person_table).where(person_table.c.id == drop))


def _unique_keys(table: Table, column: str) -> list[list[str]]:
    """The column sets of *table*'s primary key, unique constraints and unique indexes that
    include *column*."""
    keys = [
        [c.name for c in constraint.columns]
        for constraint in table.constraints
        if isinstance(constraint, PrimaryKeyConstraint | UniqueConstraint)
    ]
    keys += [[c.name for c in index.columns] for index in table.indexes if index.unique]
    return [key for key in keys if column in key]


# What a forgotten person is called where a record of theirs is still counted.
FORGOTTEN = "someone who left"
_FORGOTTEN_ID = "forgotten:"


def remembered() -> ColumnElement[bool]:
    """Accounts of people not forgotten, for queries that name people."""
    return col(Account.platform_user_id).not_like(_FORGOTTEN_ID + "%")


async def forget_identity(session: AsyncSession, person_id: int) -> None:
    """Cut the Person loose from every platform account and name: what stays keyed to its id
    (counts, times) then leads to nobody. The person who writes again starts afresh.

    The account rows stay, emptied, rather than go: messages are keyed by account id, and
    SQLite would give a deleted last id to the next newcomer, whose welcome would then count
    as sent."""
    for account in await accounts_of(session, person_id):
        account.platform_user_id = f"{_FORGOTTEN_ID}{account.id}"
        account.display_name = FORGOTTEN
        account.dm_room_id = None
        account.role = 0
        session.add(account)
    await session.flush()
    await session.exec(
        update(Person).where(col(Person.id) == person_id).values(display_name=FORGOTTEN)
    )


_DISCORD_MENTION = re.compile(r"^<@!?(\d+)>$")


async def find_person(session: AsyncSession, who: str) -> int:
    """The Person someone names as people are shown here: a Matrix id (`@nina:example.org`),
    a Discord mention, id or `@name`, a console name, or the name they go by."""
    text = who.strip()
    if found := _DISCORD_MENTION.match(text):
        text = found.group(1)
    exact = select(Account.person_id).where(col(Account.platform_user_id) == text)
    ids = set((await session.exec(exact)).all())
    if not ids:
        name = text.removeprefix("@").lower()
        named = select(Account.person_id).where(
            func.lower(Account.display_name) == name,
            remembered(),
        )
        ids = set((await session.exec(named)).all())
    if not ids:
        raise UserError(
            f"Nobody here goes by {quoted(who)}. Name them as whoami shows them, e.g. "
            "@nina:example.org on Matrix, or @nina on Discord."
        )
    if len(ids) > 1:
        found_people = await people(session, ids)
        shown = "; ".join(
            ", ".join(a.platform + " " + a.platform_user_id for a in someone.accounts)
            for someone in found_people.values()
        )
        raise UserError(f"{quoted(who)} names more than one person ({shown}); use an id.")
    return ids.pop()


def account_line(account: Account) -> str:
    """ "Discord: @maria", as chat shows one of a person's accounts."""
    return f"{platform_label(account.platform)}: {escape(account.handle)}"
