"""What every piece of work needs to run: the store, the clock, the configuration and the bus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.bus import Bus, forget_noted
from bot.core.context import Clock, utcnow
from bot.core.env import Env


@dataclass(frozen=True)
class Runtime:
    sessions: async_sessionmaker[AsyncSession]
    env: Env = field(default_factory=Env)
    clock: Clock = utcnow
    bus: Bus = field(default_factory=Bus)

    def now(self) -> datetime:
        return self.clock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed at the end of the block, then the changes it noted are
        published; rolled back, waking nobody, on any error."""
        async with self.sessions() as session:
            try:
                yield session
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
        self.bus.publish_noted(session)
