"""What every piece of work needs to run: the store, the clock, the configuration and the bus."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.bus import Bus, forget_noted, noted
from bot.core.context import Clock, utcnow
from bot.core.diagnose import Doctors
from bot.core.env import Env
from bot.core.roles import KnownRoles
from bot.core.rooms import ROOMS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    sessions: async_sessionmaker[AsyncSession]
    env: Env = field(default_factory=Env)
    clock: Clock = utcnow
    bus: Bus = field(default_factory=Bus)
    roles: KnownRoles = field(default_factory=KnownRoles)
    # The parts that answer `doctor`: the platforms add themselves, the app its web server.
    doctors: Doctors = field(default_factory=Doctors)
    # Runs right after a commit that changed the rooms, so this process has them at once;
    # other instances catch up on their rooms timer, not in every unit of work, which would
    # pay a read per command for what changes a few times a year.
    refresh: Callable[[AsyncSession], Awaitable[None]] | None = None

    def now(self) -> datetime:
        return self.clock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed at the end of the block, then the changes it noted are
        published; rolled back, waking nobody, on any error."""
        async with self.sessions() as session:
            self.bus.bind(session)
            try:
                yield session
                # Nothing to commit when no transaction was begun: reads that need none, on
                # SQLite. (Adding or changing an object begins one.)
                if session.in_transaction():
                    await session.commit()
            except BaseException as exc:
                forget_noted(session)
                try:
                    await session.rollback()
                except Exception:
                    # Cancelled mid-statement, the connection may refuse a rollback; it is
                    # discarded either way, and the cancel, not this, is what happened.
                    if isinstance(exc, Exception):
                        raise
                raise
            if self.refresh is not None and noted(session, ROOMS):
                # The change is committed whatever happens here; the rooms timer reads it
                # again if this read fails.
                try:
                    await self.refresh(session)
                except Exception:
                    log.exception("re-reading the rooms after a change failed")
        self.bus.publish_noted(session)
