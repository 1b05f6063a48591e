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
from bot.core.env import Env
from bot.core.rooms import ROOMS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    sessions: async_sessionmaker[AsyncSession]
    env: Env = field(default_factory=Env)
    clock: Clock = utcnow
    bus: Bus = field(default_factory=Bus)
    # Runs first in every transaction: brings what the process keeps from the store (the rooms
    # bound from chat) up to date, so no unit of work acts on what another instance changed;
    # and again right after a commit that changed the rooms, so this process has them at once.
    prepare: Callable[[AsyncSession], Awaitable[None]] | None = None

    def now(self) -> datetime:
        return self.clock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed at the end of the block, then the changes it noted are
        published; rolled back, waking nobody, on any error."""
        async with self.sessions() as session:
            try:
                if self.prepare is not None:
                    await self.prepare(session)
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                forget_noted(session)
                raise
            if self.prepare is not None and noted(session, ROOMS):
                # The change is committed whatever happens here; the next unit of work or the
                # rooms timer reads it again if this read fails.
                try:
                    await self.prepare(session)
                except Exception:
                    log.exception("re-reading the rooms after a change failed")
        self.bus.publish_noted(session)
