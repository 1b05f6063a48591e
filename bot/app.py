"""The App: builds every part from settings and runs them side by side in one process."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Awaitable, Sequence
from typing import Any, TextIO

from aiohttp import web

from bot import __version__
from bot.assembly import assemble
from bot.config import Settings
from bot.core.bus import DELIVERIES
from bot.core.context import Clock, utcnow
from bot.core.pages import PageSpec
from bot.core.ports import Sender
from bot.core.wakeup import WakeLoop
from bot.db import dispose, make_engine, make_sessions, store_url
from bot.delivery import Dispatcher, Handover
from bot.leases import PRESENCE, LeaseLost, Leases, alive
from bot.metrics import Metrics
from bot.platforms.base import Platform, Refused
from bot.schema import upgrade
from bot.state import StoreState, forget_handled
from bot.store_errors import STORE_ERRORS, describe
from bot.store_lock import StoreInUse, StoreLock
from bot.web import LeaseReport, WebCheck, make_web_app
from bot.web_login import WebLogin

log = logging.getLogger(__name__)

# A stop must end well within the 5 s or so a service manager waits before it kills. Sends
# in flight get SEND_GRACE to finish; a planner's step, only ever done again and never lost,
# PLAN_GRACE; whatever is still running is then cancelled, and each remaining step (release
# the deliveries, close the connections) gets STOP_STEP.
SEND_GRACE = 2.0
PLAN_GRACE = 0.5
STOP_STEP = 1.0


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
        self.metrics = Metrics()
        self.house = assemble(self.sessions, settings, clock=clock, observer=self.metrics)
        self.metrics.watch(self.house.contributions.gauges)
        self.runtime = self.house.runtime
        self.router = self.house.router
        self.platforms: list[Platform] = self._platforms(stdin, stdout)
        url = store_url(settings.store.url)
        # On PostgreSQL other instances may run: each chat connection is held under a lease.
        # The console is this process's own and takes none.
        self.leases = Leases(self.engine) if url.get_backend_name() == "postgresql" else None
        senders = {p.name: p for p in self.platforms if isinstance(p, Sender)}
        self.dispatcher = Dispatcher(
            self.sessions,
            senders,
            clock,
            self.metrics,
            alive=alive if self.leases is not None else None,
        )
        self.runtime.bus.subscribe(DELIVERIES, self.dispatcher.loop.wake)
        self._runner: web.AppRunner | None = None
        self.runtime.doctors.add(WebCheck(settings.web, self._serving))
        self._stopping = asyncio.Event()
        self._lock = (
            StoreLock(url.database) if url.get_backend_name() == "sqlite" and url.database else None
        )
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

    def _serving(self) -> str | None:
        return self.web_url if self._runner is not None else None

    def health(self) -> dict[str, bool]:
        return {platform.name: platform.connected for platform in self.platforms}

    def lease_report(self) -> LeaseReport | None:
        """The leases this instance holds, and the platforms it stands by for (another
        instance serves them); None on SQLite, which has no leases."""
        if self.leases is None:
            return None
        leased = {p.name for p in self.platforms if p.name != "console"}
        return LeaseReport(sorted(self.leases.held), sorted(leased - self.leases.held))

    async def _serve_platform(self, platform: Platform) -> None:
        if self.leases is None or platform.name == "console":
            await platform.run()
        else:
            await self.leases.run(platform.name, platform.run)

    async def first_steps(self) -> list[str]:
        """What the banner suggests trying while the store is new; the cogs say what."""
        async with self.sessions() as session:
            found = [
                await step(session, self.runtime.env, self.runtime.now())
                for step in self.house.contributions.first_steps
            ]
        return [line for line in found if line]

    def banner(self, first_steps: Sequence[str] = ()) -> str:
        console = self.settings.console
        who = f'console as "{console.user}" ({console.role.label}). ' if console.enabled else ""
        others = [p.name.capitalize() for p in self.platforms if p.name != "console"]
        also = f"{', '.join(others)} connecting. " if others else ""
        web_part = f"Web: {self.web_url}  " if self.web_url else ""
        lines = [
            f"{self.settings.bot.name} {__version__} — {who}{also}{web_part}"
            f"Type {self.runtime.env.audience('console').command('help')}."
        ]
        if first_steps:
            lines += ["Getting started:", *(f"- {s}" for s in first_steps)]
        return "\n".join(lines)

    def _https(self) -> bool:
        public = self.settings.web.public_url
        return public is not None and public.startswith("https://")

    async def start_web(self) -> None:
        if not self.settings.web.enabled:
            return
        contributed = self.house.contributions
        metrics = PageSpec("/metrics", self.metrics.page(self.sessions, self.health))
        pages = {**contributed.pages, metrics.path: metrics}
        app = make_web_app(
            self.runtime,
            self.router,
            pages,
            self.health,
            self.lease_report,
            templates=contributed.templates,
            gate=WebLogin(self.sessions, self.runtime.now, secure=self._https()),
            webhooks=contributed.webhooks,
        )
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=STOP_STEP)
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
            async with self.sessions() as session:
                await self.house.rooms.refresh(session)
        except STORE_ERRORS as exc:
            raise StartupError(describe(exc, self.settings.store.url)) from None

    def hold_store(self) -> None:
        """A SQLite store serves one bot at a time; see `bot.store_lock`."""
        if self._lock is None:
            return
        try:
            self._lock.acquire()
        except StoreInUse as exc:
            raise StartupError(str(exc)) from None

    def stop(self) -> None:
        """Ask the app to stop; safe from a signal handler, and to call more than once."""
        if not self._stopping.is_set():
            log.info("stopping")
        self._stopping.set()

    async def run(self) -> int:
        """Serve until a signal, or until every platform has finished (console end of input);
        then stop every task this started, in time and without a traceback."""
        try:
            self.hold_store()
            await self.prepare_store()
            if self.leases is not None:
                await self.leases.hold(PRESENCE + self.dispatcher.instance)
            await self.start_web()
            first_steps = await self.first_steps()
        except BaseException:
            await self.close()
            raise
        if self.freeze_heap:
            # What start-up loaded (modules, settings, the assembly) lives as long as the
            # process: moved out of the collector's sight, full collections stop rescanning it.
            gc.collect()
            gc.freeze()
        print(self.banner(first_steps), file=self.stdout, flush=True)
        tasks = {
            asyncio.create_task(self._serve_platform(p), name=p.name): p for p in self.platforms
        }
        forget = WakeLoop("handled events", lambda: forget_handled(self.runtime))
        loops = [
            self.dispatcher.loop,
            self.house.rooms_loop,
            forget,
            *self.house.contributions.timers,
        ]
        background = {asyncio.create_task(loop.run(), name=loop.name): loop for loop in loops}
        try:
            failed = await self._serve(set(tasks))
        finally:
            await self._shutdown(set(tasks), background)
        return 1 if failed else 0

    async def _serve(self, pending: set[asyncio.Task[Any]]) -> bool:
        """Wait for a stop; True when a platform failed."""
        stopper = asyncio.create_task(self._stopping.wait())
        failed = False
        try:
            while pending and not self._stopping.is_set():
                done, pending = await asyncio.wait(
                    pending | {stopper}, return_when=asyncio.FIRST_COMPLETED
                )
                pending.discard(stopper)
                for task in done - {stopper}:
                    if not task.cancelled() and (exc := task.exception()) is not None:
                        trace = None if isinstance(exc, Refused | LeaseLost) else exc
                        log.error("%s stopped: %s", task.get_name(), exc, exc_info=trace)
                        failed = True
                        self.stop()
        finally:
            stopper.cancel()
        return failed

    async def _shutdown(
        self, platforms: set[asyncio.Task[Any]], background: dict[asyncio.Task[None], WakeLoop]
    ) -> None:
        """Stop taking commands at once; let the timers end the step under way (a planning
        pass for PLAN_GRACE, a batch of sends for SEND_GRACE), then cancel what is left; give
        back the deliveries claimed and not sent; close the connections."""
        for task in platforms:
            task.cancel()
        for loop in background.values():
            loop.stop()
        sending = {task for task, loop in background.items() if loop is self.dispatcher.loop}
        planners = set(background) - sending
        await _ended(set(background), PLAN_GRACE)
        await _ended(planners, STOP_STEP, cancel=True)
        await _ended(sending, SEND_GRACE - PLAN_GRACE)
        await _ended(platforms | sending, STOP_STEP, cancel=True)
        await self._release()
        await self.close()

    async def _release(self) -> None:
        why: str | None = None
        try:
            async with asyncio.timeout(STOP_STEP):
                await self.dispatcher.release()
        except TimeoutError:
            why = "the store did not answer in time"
        except STORE_ERRORS as exc:
            why = describe(exc, self.settings.store.url, opened=True)
        if why is not None:
            log.warning(
                "deliveries claimed but not sent stay claimed (%s); they are sent again once "
                "their lease runs out",
                why,
            )

    async def close(self) -> None:
        """Close every connection, each in bounded time; the store's lock goes last, always."""
        try:
            closing = [_closed(platform.close(), platform.name) for platform in self.platforms]
            if self._runner is not None:
                closing.append(_closed(self._runner.cleanup(), "the web server"))
            if self.leases is not None:
                closing.append(_closed(self.leases.close(), "the leases"))
            await asyncio.gather(*closing)
            await _closed(dispose(self.engine), "the store")
        finally:
            if self._lock is not None:
                self._lock.release()


async def _ended(tasks: set[asyncio.Task[Any]], seconds: float, *, cancel: bool = False) -> None:
    """Wait up to *seconds* for *tasks*, cancelling them first if asked; a task that will not
    end is named in the log and left behind, so one stuck library cannot hold up the stop."""
    unfinished = {task for task in tasks if not task.done()}
    if not unfinished:
        return
    if cancel:
        for task in unfinished:
            task.cancel()
    _, late = await asyncio.wait(unfinished, timeout=seconds)
    if cancel and late:
        log.warning("still running after the stop: %s", ", ".join(t.get_name() for t in late))
    for task in unfinished - late:
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("%s failed while stopping: %s", task.get_name(), exc)
            log.debug("%s failed while stopping", task.get_name(), exc_info=exc)


async def _closed(closing: Awaitable[None], what: str) -> None:
    """One connection closed; a failure or a hang is one line in the log, and the stop goes on."""
    try:
        async with asyncio.timeout(STOP_STEP):
            await closing
    except TimeoutError:
        log.warning("%s did not close within %.0f s", what, STOP_STEP)
    except Exception as exc:
        log.warning("%s did not close cleanly: %s", what, exc)
