"""The App: builds every part from settings and runs them side by side in one process."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
from typing import Any, TextIO

from aiohttp import web

from bot import __version__
from bot.assembly import assemble
from bot.config import Settings
from bot.core.bus import DELIVERIES
from bot.core.context import Clock, utcnow
from bot.core.ports import Sender
from bot.db import make_engine, make_sessions
from bot.delivery import Dispatcher, Handover
from bot.platforms.base import Platform, Refused
from bot.schema import upgrade
from bot.state import StoreState
from bot.store_errors import STORE_ERRORS, describe
from bot.web import make_web_app

log = logging.getLogger(__name__)


class StartupError(Exception):
    """Something outside the bot stops it from starting; said plainly, without a traceback."""


class App:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = utcnow,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        self.settings = settings
        self.stdout = stdout or sys.stdout
        self.engine = make_engine(settings.store.url)
        self.sessions = make_sessions(self.engine)
        self.house = assemble(self.sessions, settings, clock=clock)
        self.runtime = self.house.runtime
        self.router = self.house.router
        self.platforms: list[Platform] = self._platforms(stdin, stdout)
        senders = {p.name: p for p in self.platforms if isinstance(p, Sender)}
        self.dispatcher = Dispatcher(self.sessions, senders, clock)
        self.runtime.bus.subscribe(DELIVERIES, self.dispatcher.loop.wake)
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self.freeze_heap = True

    def _platforms(self, stdin: TextIO | None, stdout: TextIO | None) -> list[Platform]:
        settings, rooms = self.settings, self.runtime.env.rooms
        platforms: list[Platform] = []
        if settings.console.enabled:
            from bot.platforms.console import ConsolePlatform

            platforms.append(
                ConsolePlatform(self.router, settings.console, stdin=stdin, stdout=stdout)
            )
        if settings.matrix.enabled:
            from bot.platforms.matrix import MatrixPlatform

            handover = Handover(self.runtime, {"matrix": settings.matrix.max_send_retries})
            platforms.append(
                MatrixPlatform(
                    self.router, settings.matrix, rooms, StoreState(self.runtime), handover
                )
            )
        if settings.discord.enabled:
            from bot.platforms.discord import DiscordPlatform

            platforms.append(DiscordPlatform(self.router, settings.discord, rooms))
        return platforms

    @property
    def web_url(self) -> str | None:
        return self.runtime.env.web.listening

    def health(self) -> dict[str, bool]:
        return {platform.name: platform.connected for platform in self.platforms}

    def banner(self) -> str:
        console = self.settings.console
        who = f'console as "{console.user}" ({console.role.label}). ' if console.enabled else ""
        others = [p.name.capitalize() for p in self.platforms if p.name != "console"]
        also = f"{', '.join(others)} connecting. " if others else ""
        web_part = f"Web: {self.web_url}  " if self.web_url else ""
        return (
            f"{self.settings.bot.name} {__version__} — {who}{also}{web_part}"
            f"Type {self.settings.bot.command_prefix}help."
        )

    async def start_web(self) -> None:
        if not self.settings.web.enabled:
            return
        app = make_web_app(self.runtime, self.router, self.house.contributions.pages, self.health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        host, port = self.settings.web.host, self.settings.web.port
        try:
            await web.TCPSite(self._runner, host, port).start()
        except OSError as exc:
            raise StartupError(
                f"the web server cannot listen on {host}:{port} ({exc.strerror}); "
                "set [web] port to a free port, or [web] enabled = false"
            ) from None
        host, port = self._runner.addresses[0][:2]
        self.runtime.env.web.listening = f"http://{host}:{port}"

    async def prepare_store(self) -> None:
        try:
            await upgrade(self.engine)
        except STORE_ERRORS as exc:
            raise StartupError(describe(exc, self.settings.store.url)) from None

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> int:
        """Serve until a signal, or until every platform has finished (console end of input)."""
        try:
            await self.prepare_store()
            await self.start_web()
        except BaseException:
            await self.close()
            raise
        if self.freeze_heap:
            # What start-up loaded (modules, settings, the assembly) lives as long as the
            # process: moved out of the collector's sight, full collections stop rescanning it.
            gc.collect()
            gc.freeze()
        print(self.banner(), file=self.stdout, flush=True)
        tasks = {asyncio.create_task(p.run(), name=p.name): p for p in self.platforms}
        loops = [self.dispatcher.loop, *self.house.contributions.timers]
        background = [asyncio.create_task(loop.run(), name=loop.name) for loop in loops]
        stopper = asyncio.create_task(self._stopping.wait())
        failed = False
        pending: set[asyncio.Task[Any]] = set(tasks)
        try:
            while pending and not self._stopping.is_set():
                done, pending = await asyncio.wait(
                    pending | {stopper}, return_when=asyncio.FIRST_COMPLETED
                )
                pending.discard(stopper)
                for task in done - {stopper}:
                    if not task.cancelled() and (exc := task.exception()) is not None:
                        trace = None if isinstance(exc, Refused) else exc
                        log.error("%s stopped: %s", task.get_name(), exc, exc_info=trace)
                        failed = True
                        self.stop()
        finally:
            stopper.cancel()
            for task in [*pending, *background]:
                task.cancel()
            await asyncio.gather(*pending, *background, return_exceptions=True)
            await self.close()
        return 1 if failed else 0

    async def close(self) -> None:
        for platform in self.platforms:
            with contextlib.suppress(Exception):
                await platform.close()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.engine.dispose()
