"""Putting the house together: the cogs set up against one runtime, router and bus.

The app does this once per process; tests do it to drive the real commands without a platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import limits
from bot.config import Settings, parse_settings
from bot.core.bus import Bus
from bot.core.cog import Cog, Contributions, Setup
from bot.core.context import Clock, utcnow
from bot.core.help import help_command
from bot.core.observe import NOBODY, Observer
from bot.core.personal import Keeper
from bot.core.rooms import ROOMS
from bot.core.router import Router
from bot.core.runtime import Runtime
from bot.core.wakeup import WakeLoop
from bot.rooms_store import RoomBook
from bot.state import forget_answers, no_records, record_event, resolve_caller
from bot.store_errors import transient


@dataclass(frozen=True)
class Assembly:
    runtime: Runtime
    router: Router
    cogs: tuple[Cog, ...]
    contributions: Contributions
    rooms: RoomBook
    # Keeps the rooms current with what other instances bound; this process refreshes on commit.
    rooms_loop: WakeLoop


def assemble(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings | None = None,
    *,
    clock: Clock = utcnow,
    cogs: Sequence[Cog] | None = None,
    observer: Observer = NOBODY,
) -> Assembly:
    if cogs is None:
        from bot.cogs import discover

        cogs = discover()
    settings = settings if settings is not None else parse_settings({}, cogs=cogs)
    bus = Bus([ROOMS, *(topic for cog in cogs for topic in cog.topics)])
    env = replace(settings.env(), purposes=frozenset(p for cog in cogs for p in cog.purposes))
    book = RoomBook(env.rooms)
    runtime = Runtime(sessions, env, clock, bus, refresh=book.refresh)
    rooms_loop = WakeLoop("rooms", lambda: book.poll(runtime))
    router = Router(runtime, resolve_caller, observer, limits.take, record_event, transient)
    router.add(help_command(router))
    contributions = Contributions()
    contributions.personal.add(Keeper("answers", no_records, forget_answers))
    for cog in cogs:
        if cog.templates is not None:
            contributions.templates[cog.name] = cog.templates
        cog.setup(Setup(runtime, router, contributions, cog.name, cog.listens))
    router.check_consequences()
    return Assembly(runtime, router, tuple(cogs), contributions, book, rooms_loop)
