"""Rooms bound from chat (`room add`), kept in the store beside the rooms of the file.

Every instance sharing the store must see a binding soon after it commits, so the bindings carry
one version number, raised in the same transaction as every change. The process that made the
change re-reads at once (`Runtime.refresh`, after the commit); every process's rooms timer reads
the version every few seconds and re-reads the bindings only when it moved. Reading it in every
unit of work instead would cost each command a round trip for what changes a few times a year.
The version row also serialises changes: a change raises it first, so two instances binding at
once take turns on its row lock, and each reads the bindings under that lock.

The file wins: a store binding whose name is a file room's, or whose channel a file room has, is
left out and reported once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import UniqueConstraint, delete, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.rooms import Origin, Room, Rooms
from bot.core.runtime import Runtime
from bot.db import UTCDateTime

log = logging.getLogger(__name__)

# How often a process looks for rooms another instance bound, when no work did it already.
POLL_SECONDS = 5.0


class RoomBinding(SQLModel, table=True):
    """One side of a room bound from chat: its name, where it is, and what it is for. The sides
    of one room (a Discord channel and a Matrix room) share the name and the purposes."""

    __tablename__ = "room_binding"
    __table_args__ = (UniqueConstraint("platform", "target"), UniqueConstraint("name", "platform"))

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, index=True)
    platform: str = Field(max_length=16)
    target: str = Field(max_length=255)
    # Space-separated, in the order given.
    purposes: str = Field(max_length=500)
    added_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class RoomVersion(SQLModel, table=True):
    """The one row (id 1, made by the migration) whose number every change to the bindings
    raises."""

    __tablename__ = "room_version"

    id: int = Field(primary_key=True)
    version: int = 0


_VERSION = select(RoomVersion.version).where(col(RoomVersion.id) == 1)


async def version(session: AsyncSession) -> int:
    """Read on the session's connection without the ORM, since every unit of work pays it."""
    connection = await session.connection()
    number: int = (await connection.execute(_VERSION)).scalar_one()
    return number


async def bindings(session: AsyncSession) -> list[RoomBinding]:
    query = select(RoomBinding).order_by(RoomBinding.name, RoomBinding.platform)
    return list((await session.exec(query)).all())


def rooms_of(rows: Iterable[RoomBinding]) -> list[Room]:
    places: dict[str, dict[str, str]] = {}
    purposes: dict[str, frozenset[str]] = {}
    for row in rows:
        places.setdefault(row.name, {})[row.platform] = row.target
        purposes[row.name] = frozenset(row.purposes.split())
    return [Room(name, places[name], purposes[name], "chat") for name in places]


@dataclass(frozen=True)
class Conflict:
    """A store binding the file overrides."""

    binding: RoomBinding
    reason: str

    def line(self) -> str:
        b = self.binding
        return (
            f"room {b.name!r} bound from chat on {b.platform} ({b.target}) is ignored: "
            f"{self.reason}; the config file wins (remove it with `room remove {b.name}`)"
        )


def merge(file: Sequence[Room], rows: Iterable[RoomBinding]) -> tuple[list[Room], list[Conflict]]:
    """The file's rooms, then the store's that do not clash with them."""
    names = {room.name for room in file}
    places = {(p, t): room.name for room in file for p, t in room.places.items()}
    kept: list[RoomBinding] = []
    conflicts: list[Conflict] = []
    for row in rows:
        if row.name in names:
            conflicts.append(Conflict(row, "the config file has a room of that name"))
        elif (row.platform, row.target) in places:
            taken = places[(row.platform, row.target)]
            conflicts.append(Conflict(row, f"the config file binds that channel as {taken!r}"))
        else:
            kept.append(row)
    return [*file, *rooms_of(kept)], conflicts


class RoomBook:
    """Keeps a process's one `Rooms` equal to the file's rooms plus the store's bindings."""

    def __init__(self, live: Rooms) -> None:
        self.live = live
        self.file = [room for room in live if room.origin == "file"]
        self.seen = -1
        self._reported: set[tuple[str, str, str]] = set()

    async def refresh(self, session: AsyncSession) -> None:
        """Re-read the bindings if the version moved since this process last read them. The
        version is read first, so a change committed in between is only read again later."""
        current = await version(session)
        if current <= self.seen:
            return
        rooms, conflicts = merge(self.file, await bindings(session))
        if current <= self.seen:  # a refresh that began later has finished first
            return
        self.live.replace(rooms)
        self.seen = current
        for conflict in conflicts:
            b = conflict.binding
            if (b.name, b.platform, b.target) not in self._reported:
                self._reported.add((b.name, b.platform, b.target))
                log.warning("%s", conflict.line())

    async def poll(self, runtime: Runtime) -> float:
        """One turn of the timer that keeps the rooms current between units of work."""
        async with runtime.sessions() as session:
            await self.refresh(session)
        return POLL_SECONDS


async def raise_version(session: AsyncSession) -> None:
    """Mark a change, first thing: on PostgreSQL this takes the version row's lock, so changes
    from two instances are made one after the other."""
    statement = update(RoomVersion).where(col(RoomVersion.id) == 1)
    await session.exec(statement.values(version=col(RoomVersion.version) + 1))


@dataclass(frozen=True)
class Taken:
    """Why a binding was refused: the name or the channel belongs to room *by* already."""

    what: Literal["name", "channel", "side"]
    by: str
    origin: Origin
    target: str = ""


async def bind(
    session: AsyncSession,
    file: Sequence[Room],
    name: str,
    platform: str,
    target: str,
    purposes: Sequence[str],
    now: datetime,
) -> list[RoomBinding] | Taken:
    """Bind *target* on *platform* as room *name*: a new room, the side on a new platform of
    one bound before (linking the two), or new purposes for the room; every side takes
    *purposes*. Refused, writing nothing, when the file has the name or the channel, or the
    store has the channel under another name or the room in another channel of *platform*.
    Returns the room's sides."""
    for room in file:
        if room.name == name:
            return Taken("name", name, "file")
        if room.target(platform) == target:
            return Taken("channel", room.name, "file")
    await raise_version(session)
    rows = await bindings(session)
    for row in rows:
        if row.platform == platform and row.target == target and row.name != name:
            return Taken("channel", row.name, "chat")
        if row.platform == platform and row.name == name and row.target != target:
            return Taken("side", name, "chat", row.target)
    rows = [row for row in rows if row.name == name]
    text = " ".join(purposes)
    if not any(row.platform == platform for row in rows):
        rows.append(
            RoomBinding(
                name=name,
                platform=platform,
                target=target,
                purposes=text,
                added_at=now,
            )
        )
    for row in rows:
        row.purposes = text
        session.add(row)
    await session.flush()
    return rows


async def unbind(session: AsyncSession, name: str) -> list[RoomBinding]:
    """Remove every side of room *name*; returns what was removed."""
    await raise_version(session)
    rows = [row for row in await bindings(session) if row.name == name]
    if rows:
        await session.exec(delete(RoomBinding).where(col(RoomBinding.name) == name))
    return rows
